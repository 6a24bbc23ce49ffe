{{/* scoring-service's environment (keys: services/scoring-service/src/config.ts). */}}
{{- define "scoring-service.env" -}}
{{ include "mrp-lib.env.common" . }}
{{ include "mrp-lib.env.tokenVerification" . }}
{{ include "mrp-lib.env.redis" . }}
{{- end }}
