{{/*
The switch under `global` that says whether an infrastructure component runs in this release; for such a
component switched off, its NetworkPolicy peers are `global.networkPolicy.external.<switch>` instead
(default: any address, in the cluster or outside; narrow it to your server).
*/}}
{{- define "mrp-lib.infraSwitch" -}}
{{- $switches := dict "postgres" "postgres" "redis" "redis" "otel-collector" "otelCollector" "jaeger" "jaeger" "prometheus" "prometheus" "grafana" "grafana" -}}
{{- index $switches . | default "" -}}
{{- end }}

{{/*
NetworkPolicy peers for component names: (dict "root" $ "names" (list "case-service" "postgres")). The name
"services" stands for every service of the platform (the pods whose component is `service`), so that a policy
about all of them needs no list of them (services/registry.json is the one list).
*/}}
{{- define "mrp-lib.networkPolicyPeers" -}}
{{- $root := .root -}}
{{- range .names }}
{{- $switch := include "mrp-lib.infraSwitch" . }}
{{- if eq . "services" }}
- podSelector:
    matchLabels:
      app.kubernetes.io/component: service
      app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- else if and $switch (not (include "mrp-lib.infraEnabled" (list $root $switch))) }}
{{- $default := list (dict "ipBlock" (dict "cidr" "0.0.0.0/0")) (dict "namespaceSelector" (dict)) }}
{{ toYaml (dig "networkPolicy" "external" $switch $default $root.Values.global) }}
{{- else }}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ . }}
      app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end }}
{{- end }}
{{- end }}

{{/* TCP ports of a rule. */}}
{{- define "mrp-lib.networkPolicyPorts" -}}
{{- range . }}
- port: {{ . }}
  protocol: TCP
{{- end }}
{{- end }}

{{/*
The component's NetworkPolicy: nothing in or out but what is listed (plus DNS).
  (dict "root" $
        "name" "<policy name, default: the component's full name>"
        "podName" "<app.kubernetes.io/name of the pods, default: the component>"
        "ingress" (list (dict "from" (list "gateway") "ports" (list 8080)))   "from" empty: any source
        "egress"  (list (dict "to" (list "postgres") "ports" (list 5432))))  "to" empty: any address
The release's default-deny policy (in the umbrella chart) makes these the only paths.
*/}}
{{- define "mrp-lib.networkPolicy" -}}
{{- $root := .root -}}
{{- if dig "networkPolicy" "enabled" true $root.Values.global -}}
{{- $podName := .podName | default (include "mrp-lib.name" $root) -}}
{{- $dnsPeers := list (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" "kube-system")) "podSelector" (dict "matchLabels" (dict "k8s-app" "kube-dns"))) -}}
{{- $dnsPorts := list (dict "port" 53 "protocol" "UDP") (dict "port" 53 "protocol" "TCP") -}}
{{- $ingress := list -}}
{{- range .ingress -}}
{{- $rule := dict "ports" (include "mrp-lib.networkPolicyPorts" .ports | fromYamlArray) -}}
{{- if .from }}{{ $_ := set $rule "from" (include "mrp-lib.networkPolicyPeers" (dict "root" $root "names" .from) | fromYamlArray) }}{{ end -}}
{{- $ingress = append $ingress $rule -}}
{{- end -}}
{{- $egress := list (dict "to" (dig "networkPolicy" "dns" $dnsPeers $root.Values.global) "ports" $dnsPorts) -}}
{{- range .egress -}}
{{- $rule := dict "ports" (include "mrp-lib.networkPolicyPorts" .ports | fromYamlArray) -}}
{{- if .to }}{{ $_ := set $rule "to" (include "mrp-lib.networkPolicyPeers" (dict "root" $root "names" .to) | fromYamlArray) }}{{ end -}}
{{- $egress = append $egress $rule -}}
{{- end -}}
{{- with $root.Values.networkPolicy -}}
{{- $ingress = concat $ingress (.extraIngress | default list) -}}
{{- $egress = concat $egress (.extraEgress | default list) -}}
{{- end -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .name | default (include "mrp-lib.fullname" $root) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "mrp-lib.labels" $root | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ $podName }}
      app.kubernetes.io/instance: {{ $root.Release.Name }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- toYaml $ingress | nindent 4 }}
  egress:
    {{- toYaml $egress | nindent 4 }}
{{- end }}
{{- end }}
