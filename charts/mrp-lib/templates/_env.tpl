{{/* Environment every service of ours gets: profile, listener, log level, and the pod's identity. */}}
{{- define "mrp-lib.env.common" -}}
- name: APP_ENV
  value: {{ include "mrp-lib.profile" . | quote }}
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: "8080"
- name: LOG_LEVEL
  value: {{ .Values.logLevel | default "info" | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- include "mrp-lib.env.tracing" . }}
{{- end }}

{{/* OpenTelemetry: spans go to the in-chart collector, or to global.tracing.endpoint, or nowhere. */}}
{{- define "mrp-lib.env.tracing" -}}
{{- if dig "tracing" "enabled" true .Values.global }}
- name: OTEL_SERVICE_NAME
  value: {{ include "mrp-lib.name" . | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ include "mrp-lib.otlpEndpoint" . | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "service.namespace={{ .Release.Namespace }},service.instance.id=$(POD_NAME)"
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- end }}

{{/* The OTLP/HTTP endpoint: global.tracing.endpoint, else the in-chart collector. */}}
{{- define "mrp-lib.otlpEndpoint" -}}
{{- $endpoint := dig "tracing" "endpoint" "" .Values.global -}}
{{- if $endpoint -}}
{{- $endpoint -}}
{{- else if include "mrp-lib.infraEnabled" (list . "otelCollector") -}}
{{- printf "http://%s:4318" (include "mrp-lib.componentName" (list . "otel-collector")) -}}
{{- else -}}
{{- fail "global.tracing.enabled needs the in-chart collector (global.otelCollector.enabled) or global.tracing.endpoint" -}}
{{- end -}}
{{- end }}

{{/* A service that verifies access tokens against auth-service's JWKS. */}}
{{- define "mrp-lib.env.tokenVerification" -}}
- name: AUTH_JWKS_URL
  value: {{ printf "%s/.well-known/jwks.json" (include "mrp-lib.componentUrl" (list . "auth-service")) | quote }}
- name: AUTH_ISSUER
  value: {{ include "mrp-lib.jwtIssuer" . | quote }}
- name: AUTH_AUDIENCE
  value: {{ include "mrp-lib.jwtAudience" . | quote }}
{{- end }}

{{/*
A data service's database: DATABASE_URL from its Secret (the one this chart generates for the in-chart
Postgres, or database.existingSecret), and migrations left to the hook Job.
*/}}
{{- define "mrp-lib.env.database" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mrp-lib.databaseSecretName" . }}
      key: {{ .Values.database.existingSecretKey | default "DATABASE_URL" }}
- name: DATABASE_POOL_MAX
  value: {{ .Values.database.poolMax | default 10 | quote }}
- name: MIGRATE_ON_START
  value: "false"
{{- end }}

{{/* The Secret holding a data service's DATABASE_URL (and, when generated, its role's password). */}}
{{- define "mrp-lib.databaseSecretName" -}}
{{- .Values.database.existingSecret | default (printf "%s-database" (include "mrp-lib.fullname" .)) -}}
{{- end }}

{{/*
Redis: the in-chart one (password from its Secret), or global.redis.url, or a URL kept in
global.redis.existingSecret.
*/}}
{{- define "mrp-lib.env.redis" -}}
{{- $redis := dig "redis" (dict) .Values.global -}}
{{- if $redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $redis.existingSecret }}
      key: {{ $redis.existingSecretKey | default "REDIS_URL" }}
{{- else if $redis.url }}
- name: REDIS_URL
  value: {{ $redis.url | quote }}
{{- else if include "mrp-lib.infraEnabled" (list . "redis") }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "mrp-lib.componentName" (list . "redis") }}
      key: password
- name: REDIS_URL
  value: "redis://:$(REDIS_PASSWORD)@{{ include "mrp-lib.componentName" (list . "redis") }}:6379"
{{- else }}
{{- fail "global.redis.enabled is false: set global.redis.url or global.redis.existingSecret" }}
{{- end }}
{{- end }}

{{/* Extra environment from values: a map of name to value, in a stable order. */}}
{{- define "mrp-lib.env.extra" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The Secret of the service clients' secrets (auth-service generates it unless one is named). */}}
{{- define "mrp-lib.serviceClientsSecretName" -}}
{{- dig "serviceClients" "existingSecret" "" .Values.global | default (printf "%s-clients" (include "mrp-lib.componentName" (list . "auth-service"))) -}}
{{- end }}

{{/*
A data service's generated database Secret (unless database.existingSecret names one): its role's password,
kept across upgrades, and the DATABASE_URL for the in-chart Postgres. Kept on uninstall, like the data.
*/}}
{{- define "mrp-lib.databaseSecret" -}}
{{- if not .Values.database.existingSecret -}}
{{- $name := include "mrp-lib.databaseSecretName" . -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name -}}
{{- $password := randAlphaNum 32 -}}
{{- if and $existing $existing.data $existing.data.password -}}
{{- $password = b64dec $existing.data.password -}}
{{- end -}}
{{- $db := .Values.database.name -}}
{{- $host := include "mrp-lib.componentName" (list . "postgres") -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  labels:
    {{- include "mrp-lib.labels" . | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
type: Opaque
data:
  password: {{ $password | b64enc | quote }}
  DATABASE_URL: {{ printf "postgres://%s:%s@%s:5432/%s" $db $password $host $db | b64enc | quote }}
{{- end }}
{{- end }}

{{/* The port of the OTLP/HTTP endpoint (its URL's, else the scheme's default). */}}
{{- define "mrp-lib.otlpPort" -}}
{{- $url := urlParse (include "mrp-lib.otlpEndpoint" .) -}}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" -}}
{{- $port | default (ternary "443" "80" (eq $url.scheme "https")) -}}
{{- end }}

{{/* The NetworkPolicy egress rule to the collector, as a YAML list: empty when tracing is off. */}}
{{- define "mrp-lib.tracingEgress" -}}
{{- if dig "tracing" "enabled" true .Values.global }}
- to: [otel-collector]
  ports: [{{ include "mrp-lib.otlpPort" . }}]
{{- else }}
[]
{{- end }}
{{- end }}
