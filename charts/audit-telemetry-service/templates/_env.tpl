{{/* audit-telemetry-service's environment (keys: services/audit-telemetry-service/src/config.ts). */}}
{{- define "audit-telemetry-service.env" -}}
{{ include "mrp-lib.env.common" . }}
{{ include "mrp-lib.env.tokenVerification" . }}
{{ include "mrp-lib.env.database" . }}
{{ include "mrp-lib.env.redis" . }}
# Each replica is its own consumer in the group: the pod's name is unique and stable for its life.
- name: CONSUMER_NAME
  value: "$(POD_NAME)"
{{- end }}

{{- define "audit-telemetry-service.migrationEnv" -}}
{{- end }}
