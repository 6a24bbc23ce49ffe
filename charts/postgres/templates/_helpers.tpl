{{/* The databases the init script creates, space-separated. */}}
{{- define "postgres.databaseNames" -}}
{{- $names := list -}}
{{- range .Values.databases }}{{ $names = append $names .name }}{{ end -}}
{{- join " " $names -}}
{{- end }}
