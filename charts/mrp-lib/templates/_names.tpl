{{/* The component's name: the chart's name, frozen (NetworkPolicies and Envoy's upstreams rely on it). */}}
{{- define "mrp-lib.name" -}}
{{- .Chart.Name -}}
{{- end }}

{{/*
The component's resource name, `<release>-<component>`: Envoy's rendered config and the other charts find
each component under this name, so it has no override and it fails rather than be truncated.
*/}}
{{- define "mrp-lib.fullname" -}}
{{- include "mrp-lib.componentName" (list . .Chart.Name) -}}
{{- end }}

{{/* The resource name of another component of the same release: (list $ "case-service"). */}}
{{- define "mrp-lib.componentName" -}}
{{- $root := index . 0 -}}
{{- $name := printf "%s-%s" $root.Release.Name (index . 1) -}}
{{- if gt (len $name) 63 -}}
{{- fail (printf "the release name %q is too long: %q must fit in 63 characters" $root.Release.Name $name) -}}
{{- end -}}
{{- $name -}}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "mrp-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* The labels every object of the chart carries. */}}
{{- define "mrp-lib.labels" -}}
helm.sh/chart: {{ include "mrp-lib.chart" . }}
{{ include "mrp-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | default .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mrp-platform
{{- with .Values.component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* Selector labels: only name and instance, never changed after the first release. */}}
{{- define "mrp-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mrp-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The pod's ServiceAccount: the chart's own when it creates one, else the one named, else default. */}}
{{- define "mrp-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mrp-lib.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{/* The container image: registry/repository, then @digest when given, else :tag (default: appVersion). */}}
{{- define "mrp-lib.image" -}}
{{- $registry := dig "imageRegistry" "" .Values.global -}}
{{- $repository := .Values.image.repository -}}
{{- if $registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository }}{{ end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end }}

{{/* The pull policy: the chart's, else the global one, else IfNotPresent. */}}
{{- define "mrp-lib.imagePullPolicy" -}}
{{- .Values.image.pullPolicy | default (dig "imagePullPolicy" "IfNotPresent" .Values.global) -}}
{{- end }}

{{/* Deployment profile, development or production (APP_ENV of the services). */}}
{{- define "mrp-lib.profile" -}}
{{- dig "profile" "production" .Values.global -}}
{{- end }}

{{/* The tokens' issuer and audience, shared by auth-service, Envoy and every verifier. */}}
{{- define "mrp-lib.jwtIssuer" -}}
{{- dig "jwt" "issuer" "mrp-auth" .Values.global -}}
{{- end }}
{{- define "mrp-lib.jwtAudience" -}}
{{- dig "jwt" "audience" "mrp-platform" .Values.global -}}
{{- end }}

{{/* Base URL of another component's HTTP port: (list $ "auth-service"). */}}
{{- define "mrp-lib.componentUrl" -}}
{{- printf "http://%s:8080" (include "mrp-lib.componentName" .) -}}
{{- end }}

{{/*
Whether an infrastructure component runs in this release: (list $ "postgres"), by its switch under `global`
(postgres, redis, otelCollector, jaeger, prometheus, grafana; all on by default). Prints "true" or "".
*/}}
{{- define "mrp-lib.infraEnabled" -}}
{{- $root := index . 0 -}}
{{- if dig (index . 1) "enabled" true $root.Values.global }}true{{ end -}}
{{- end }}

{{/* GOMEMLIMIT for a Go program: 90% of the container's memory limit (e.g. "345MiB"), else unset. */}}
{{- define "mrp-lib.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" .Values.resources -}}
{{- if hasSuffix "Mi" $limit -}}
{{- printf "%dMiB" (div (mul (trimSuffix "Mi" $limit | int) 9) 10) -}}
{{- else if hasSuffix "Gi" $limit -}}
{{- printf "%dMiB" (div (mul (trimSuffix "Gi" $limit | int) 9216) 10) -}}
{{- end -}}
{{- end }}
