{{/* case-service's environment (keys: services/case-service/src/config.ts). */}}
{{- define "case-service.env" -}}
{{ include "mrp-lib.env.common" . }}
{{ include "mrp-lib.env.tokenVerification" . }}
{{ include "mrp-lib.env.database" . }}
{{ include "mrp-lib.env.redis" . }}
- name: AUTH_TOKEN_URL
  value: {{ printf "%s/internal/v1/token" (include "mrp-lib.componentUrl" (list . "auth-service")) | quote }}
- name: SERVICE_CLIENT_ID
  value: case-service
- name: SERVICE_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "mrp-lib.serviceClientsSecretName" . }}
      key: case-service
- name: SCORING_SERVICE_URL
  value: {{ include "mrp-lib.componentUrl" (list . "scoring-service") | quote }}
- name: WORKERS_ENABLED
  value: {{ .Values.workersEnabled | quote }}
{{- end }}

{{- define "case-service.migrationEnv" -}}
{{- end }}
