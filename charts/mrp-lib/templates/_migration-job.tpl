{{/*
A data service's migration Job, run by Helm as a hook: after install (the database and its Secret exist by
then) and before every upgrade (the schema is ready before new pods roll). It waits for the database, so its
first run may start before Postgres does. Its pods are "<component>-migrations", so the component's Service
never selects them. The chart defines "<chart>.migrationEnv", its extra environment (may be empty).
*/}}
{{- define "mrp-lib.migrationJob" -}}
{{- if .Values.migrations.enabled -}}
{{- $name := printf "%s-migrations" (include "mrp-lib.name" .) -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "mrp-lib.fullname" . }}-migrate
  namespace: {{ .Release.Namespace }}
  labels:
    helm.sh/chart: {{ include "mrp-lib.chart" . }}
    app.kubernetes.io/name: {{ $name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
    app.kubernetes.io/part-of: mrp-platform
    app.kubernetes.io/component: migrations
  annotations:
    helm.sh/hook: post-install,pre-upgrade
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ .Values.migrations.backoffLimit }}
  activeDeadlineSeconds: {{ .Values.migrations.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ $name }}
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/part-of: mrp-platform
        app.kubernetes.io/component: migrations
    spec:
      restartPolicy: Never
      # A hook may run before this release's own ServiceAccount exists (the first upgrade that adds it).
      serviceAccountName: default
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: migrate
          image: {{ include "mrp-lib.image" . | quote }}
          imagePullPolicy: {{ include "mrp-lib.imagePullPolicy" . }}
          {{- with .Values.migrations.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- else }}
          # The image's compiled migration entry point (its CMD starts the service instead).
          command: ["node", "--conditions=mrp-compiled", "dist/src/migrate.js"]
          {{- end }}
          env:
            - name: APP_ENV
              value: {{ include "mrp-lib.profile" . | quote }}
            - name: LOG_LEVEL
              value: {{ .Values.logLevel | default "info" | quote }}
            - name: MIGRATE_WAIT_SECONDS
              value: {{ .Values.migrations.waitSeconds | quote }}
            {{- include "mrp-lib.env.database" . | nindent 12 }}
            {{- include (printf "%s.migrationEnv" .Chart.Name) . | nindent 12 }}
            {{- with (include "mrp-lib.env.nodeOptions" (list . .Values.migrations.resources "migrations.resources") | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
          resources:
            {{- toYaml .Values.migrations.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- include "mrp-lib.databaseCaMount" . | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 16Mi
        {{- include "mrp-lib.databaseCaVolume" . | nindent 8 }}
      {{- include "mrp-lib.scheduling" . | nindent 6 }}
{{- end }}
{{- end }}

{{/*
The migration Job's NetworkPolicy: its pods reach Postgres, nothing else. A regular resource, not a hook,
so it exists before the Job's first run.
*/}}
{{- define "mrp-lib.migrationNetworkPolicy" -}}
{{- if .Values.migrations.enabled -}}
{{ include "mrp-lib.networkPolicy" (dict "root" . "name" (printf "%s-migrations" (include "mrp-lib.fullname" .))
  "podName" (printf "%s-migrations" (include "mrp-lib.name" .))
  "ingress" (list)
  "egress" (list (dict "to" (list "postgres") "ports" (list 5432)))) }}
{{- end }}
{{- end }}
