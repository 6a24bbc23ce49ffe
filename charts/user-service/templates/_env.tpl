{{/* user-service's environment (keys: services/user-service/src/config.ts). */}}
{{- define "user-service.env" -}}
{{ include "mrp-lib.env.common" . }}
{{ include "mrp-lib.env.tokenVerification" . }}
{{ include "mrp-lib.env.database" . }}
{{ include "mrp-lib.env.redis" . }}
# The migration Job seeds the dev users: at start the table may not exist yet.
- name: SEED_DEV_USERS
  value: "false"
{{- end }}

{{/* The migration Job creates the bootstrap admin, and seeds the dev users in the development profile only. */}}
{{- define "user-service.migrationEnv" -}}
{{- if .Values.bootstrapAdmin.enabled }}
- name: BOOTSTRAP_ADMIN_EMAIL
  valueFrom:
    secretKeyRef:
      name: {{ include "user-service.bootstrapAdminSecretName" . }}
      key: email
- name: BOOTSTRAP_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "user-service.bootstrapAdminSecretName" . }}
      key: password
{{- end }}
{{- if eq (include "mrp-lib.profile" .) "development" }}
- name: SEED_DEV_USERS
  value: {{ .Values.seedDevUsers | quote }}
{{- end }}
{{- end }}

{{/* The bootstrap admin's Secret: bootstrapAdmin.existingSecret, or the one this chart generates. */}}
{{- define "user-service.bootstrapAdminSecretName" -}}
{{- .Values.bootstrapAdmin.existingSecret | default (printf "%s-bootstrap-admin" (include "mrp-lib.fullname" .)) -}}
{{- end }}
