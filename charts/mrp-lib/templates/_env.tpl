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

{{/*
Extra environment from values: a map of name to value, in a stable order. NODE_OPTIONS is not here:
"mrp-lib.env.nodeOptions" merges it with the heap cap.
*/}}
{{- define "mrp-lib.env.extra" -}}
{{- range $name, $value := .Values.env }}
{{- if ne $name "NODE_OPTIONS" }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
NODE_OPTIONS of one of our Node containers: (list $ <its resources> <their values key, for errors>).
V8's old space is capped at heapPercentOfLimit percent of the container's memory limit, so V8 collects
harder as its heap nears the cap instead of growing until the kernel kills the container; the rest of the
limit is for what is not old space (young generation, code, buffers, native memory). The user's
env.NODE_OPTIONS comes after, so a --max-old-space-size of theirs wins. Nothing when there is no memory
limit and no NODE_OPTIONS.
*/}}
{{- define "mrp-lib.env.nodeOptions" -}}
{{- $root := index . 0 -}}
{{- $resources := index . 1 | default dict -}}
{{- $key := printf "%s.limits.memory" (index . 2) -}}
{{- $flags := list -}}
{{- with dig "limits" "memory" "" $resources }}
{{- $flags = append $flags (printf "--max-old-space-size=%s" (include "mrp-lib.heapMiB" (list $root . $key))) }}
{{- end }}
{{- with $root.Values.env }}
{{- with .NODE_OPTIONS }}
{{- $flags = append $flags (toString .) }}
{{- end }}
{{- end }}
{{- if $flags }}
- name: NODE_OPTIONS
  value: {{ join " " $flags | quote }}
{{- end }}
{{- end }}

{{/*
The old space size for a memory limit, in MiB (--max-old-space-size's unit): heapPercentOfLimit percent
of it, rounded down. (list $ <limit> <its values key>). A result under 16 fails: no service of ours runs
in less, and 0 would mean no cap at all to V8.
*/}}
{{- define "mrp-lib.heapMiB" -}}
{{- $root := index . 0 -}}
{{- $key := index . 2 -}}
{{- $bytes := include "mrp-lib.memoryBytes" (list (index . 1) $key) | float64 -}}
{{- $percent := required "heapPercentOfLimit is required" $root.Values.heapPercentOfLimit -}}
{{- $mib := divf (mulf $bytes $percent) 104857600 | floor | int -}}
{{- if lt $mib 16 -}}
{{- fail (printf "%s %q leaves a heap of %d MiB at heapPercentOfLimit %v: too small for a Node service" $key (toString (index . 1)) $mib $percent) -}}
{{- end -}}
{{- $mib -}}
{{- end }}

{{/*
A Kubernetes memory quantity in bytes: plain bytes, or a number with a binary (Ki, Mi, Gi, Ti) or decimal
(k, M, G, T) suffix. (list <quantity> <its values key>). Any other form fails the render: a heap size
guessed from it could be far off.
*/}}
{{- define "mrp-lib.memoryBytes" -}}
{{- $quantity := index . 0 | toString -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$" $quantity) -}}
{{- fail (printf "%s %q: the heap cap (heapPercentOfLimit) is computed from it, and only plain bytes or a Ki, Mi, Gi, Ti, k, M, G or T suffix are understood (e.g. 256Mi)" (index . 1) $quantity) -}}
{{- end -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $number := regexReplaceAll "[A-Za-z]+$" $quantity "" | float64 -}}
{{- mulf $number (get $units (regexReplaceAll "^[0-9.]+" $quantity "")) -}}
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
  namespace: {{ .Release.Namespace }}
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

{{/*
The CA that signed the database server's certificate, from the Secret `database.tls.caSecretName` (key
ca.crt), mounted at /etc/mrp/postgres-ca for a DATABASE_URL with sslmode=verify-full and
sslrootcert=/etc/mrp/postgres-ca/ca.crt. Nothing when unset.
*/}}
{{- define "mrp-lib.databaseCaSecret" -}}
{{- ((.Values.database | default dict).tls | default dict).caSecretName | default "" -}}
{{- end }}
{{- define "mrp-lib.databaseCaMount" -}}
{{- if include "mrp-lib.databaseCaSecret" . }}
- name: postgres-ca
  mountPath: /etc/mrp/postgres-ca
  readOnly: true
{{- end }}
{{- end }}
{{- define "mrp-lib.databaseCaVolume" -}}
{{- with include "mrp-lib.databaseCaSecret" . }}
- name: postgres-ca
  secret:
    secretName: {{ . }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}
