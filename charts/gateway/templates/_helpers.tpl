{{/* The collector Envoy exports its spans to: host and port of the platform's OTLP/HTTP endpoint. */}}
{{- define "gateway.collectorHost" -}}
{{- (urlParse (include "mrp-lib.otlpEndpoint" .)).hostname -}}
{{- end }}
{{- define "gateway.collectorPort" -}}
{{- include "mrp-lib.otlpPort" . -}}
{{- end }}

{{/* Whether Envoy traces: the platform's tracing switch. */}}
{{- define "gateway.traced" -}}
{{- if dig "tracing" "enabled" true .Values.global }}true{{ end -}}
{{- end }}

{{/* The CORS allow-list as Envoy's string matchers, a JSON list: exact origins, none by default. */}}
{{- define "gateway.corsOrigins" -}}
{{- $matchers := list -}}
{{- range .Values.cors.allowedOrigins }}{{ $matchers = append $matchers (dict "exact" .) }}{{ end -}}
{{- toJson $matchers -}}
{{- end }}
