{{/*
The Deployment of one of the platform's services: (dict "root" $ "volumes" <YAML list> "volumeMounts"
<YAML list> "annotations" <YAML map>), the last three optional. The chart defines "<chart>.env" (the
container's environment); everything else comes from its values, whose defaults keep every pod restricted.
*/}}
{{- define "mrp-lib.deployment" -}}
{{- $args := . -}}
{{- with .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "mrp-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mrp-lib.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "mrp-lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # A new pod is ready before an old one goes, so a one-replica service stays up through a rollout.
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "mrp-lib.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8080"
        prometheus.io/path: /metrics
        {{- with $args.annotations }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "mrp-lib.serviceAccountName" . }}
      # The services never call the Kubernetes API.
      automountServiceAccountToken: false
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      # Shutdown: readiness fails, in-flight requests drain (up to 10 s), then pools close.
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ include "mrp-lib.name" . }}
          image: {{ include "mrp-lib.image" . | quote }}
          imagePullPolicy: {{ include "mrp-lib.imagePullPolicy" . }}
          {{- with .Values.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
            {{- include (printf "%s.env" .Chart.Name) . | trim | nindent 12 }}
            {{- with (include "mrp-lib.env.nodeOptions" (list . .Values.resources "resources") | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with (include "mrp-lib.env.extra" . | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
          {{- include "mrp-lib.probes" . | nindent 10 }}
          lifecycle:
            preStop:
              # Endpoints are removed asynchronously: keep serving until Envoy has stopped sending here.
              sleep:
                seconds: 5
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- include "mrp-lib.databaseCaMount" . | nindent 12 }}
            {{- with $args.volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        # The root filesystem is read-only; /tmp is the only place a library may write.
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- include "mrp-lib.databaseCaVolume" . | nindent 8 }}
        {{- with $args.volumes }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- include "mrp-lib.scheduling" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* Liveness on /healthz (the process alone), readiness on /readyz (its dependencies too). */}}
{{- define "mrp-lib.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  # Up to 2 minutes to start: a 2-vCPU node starting the whole platform at once takes far longer than one
  # service alone (under a second); liveness takes over once this succeeds.
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
{{- end }}

{{/* Node placement from values. */}}
{{- define "mrp-lib.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The component's ClusterIP Service: (dict "root" $ "ports" (list (dict "name" "http" "port" 8080))). */}}
{{- define "mrp-lib.service" -}}
{{- $root := .root -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "mrp-lib.fullname" $root }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "mrp-lib.labels" $root | nindent 4 }}
spec:
  type: {{ .type | default "ClusterIP" }}
  {{- if .headless }}
  clusterIP: None
  {{- end }}
  selector:
    {{- include "mrp-lib.selectorLabels" $root | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .targetPort | default .name }}
      protocol: {{ .protocol | default "TCP" }}
      {{- with .nodePort }}
      nodePort: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}

{{/* The component's ServiceAccount, when the chart creates one. */}}
{{- define "mrp-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "mrp-lib.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mrp-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget, so a node drain never takes every replica at once. */}}
{{- define "mrp-lib.podDisruptionBudget" -}}
{{- if .Values.podDisruptionBudget.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "mrp-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mrp-lib.labels" . | nindent 4 }}
spec:
  {{- if .Values.podDisruptionBudget.minAvailable }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "mrp-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* An optional HorizontalPodAutoscaler on CPU (and memory when a target is set). */}}
{{- define "mrp-lib.horizontalPodAutoscaler" -}}
{{- if .Values.autoscaling.enabled -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "mrp-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mrp-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "mrp-lib.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    {{- with .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end }}
{{- end }}
