{{/* auth-service's environment (keys: services/auth-service/src/config.ts). */}}
{{- define "auth-service.env" -}}
{{ include "mrp-lib.env.common" . }}
- name: AUTH_ISSUER
  value: {{ include "mrp-lib.jwtIssuer" . | quote }}
- name: AUTH_AUDIENCE
  value: {{ include "mrp-lib.jwtAudience" . | quote }}
- name: AUTH_ACCESS_TOKEN_TTL_SECONDS
  value: {{ .Values.jwt.accessTokenTtlSeconds | quote }}
- name: AUTH_KEYS_DIR
  value: {{ include "auth-service.keysDir" . | quote }}
- name: AUTH_KEYS_RELOAD_MS
  value: {{ mul .Values.jwt.keysReloadSeconds 1000 | quote }}
{{- if .Values.jwt.additionalPublicKeys }}
- name: AUTH_EXTRA_PUBLIC_KEY_FILES
  value: {{ include "auth-service.additionalPublicKeyFiles" . | quote }}
{{- end }}
- name: USER_SERVICE_URL
  value: {{ include "mrp-lib.componentUrl" (list . "user-service") | quote }}
{{- $clients := list }}
{{- range .Values.serviceClients }}
- name: {{ printf "SERVICE_CLIENT_SECRET_%s" (. | upper | replace "-" "_") }}
  valueFrom:
    secretKeyRef:
      name: {{ include "mrp-lib.serviceClientsSecretName" $ }}
      key: {{ . }}
{{- $clients = append $clients (printf "%s:$(SERVICE_CLIENT_SECRET_%s)" . (. | upper | replace "-" "_")) }}
{{- end }}
- name: AUTH_SERVICE_CLIENTS
  value: {{ join "," $clients | quote }}
{{- end }}

{{/* The files of the extra public keys published in the JWKS, comma-separated. */}}
{{- define "auth-service.additionalPublicKeyFiles" -}}
{{- $files := list }}
{{- range $index, $_ := .Values.jwt.additionalPublicKeys }}
{{- $files = append $files (printf "/etc/mrp/jwks/key-%d.pem" $index) }}
{{- end }}
{{- join "," $files }}
{{- end }}

{{/* Where the signing-key Secret is mounted: auth-service's key directory. */}}
{{- define "auth-service.keysDir" -}}
/var/run/secrets/mrp/signing-keys
{{- end }}

{{/* The signing key Secret: jwt.existingSecret, or the one this chart generates. */}}
{{- define "auth-service.signingKeySecretName" -}}
{{- .Values.jwt.existingSecret | default (printf "%s-signing-key" (include "mrp-lib.fullname" .)) -}}
{{- end }}
