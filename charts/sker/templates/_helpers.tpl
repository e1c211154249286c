{{/*
Names, labels and the per-service settings every template shares.
Convention (the chart tests rely on it): a service's merged settings are always held in a
variable assigned from `include "sker.component"`, and values are read as `.Values.<path>`.
*/}}

{{/* <release>-sker, or the release name alone when it already says sker. */}}
{{- define "sker.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A service's resource name: <fullname>-<service>. Args: root, name. */}}
{{- define "sker.componentName" -}}
{{- printf "%s-%s" (include "sker.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A service's settings: `defaults` deep-merged with services.<name> (the service wins). Args: root, name. */}}
{{- define "sker.component" -}}
{{- $svc := index .root.Values.services .name | default dict -}}
{{- mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $svc) | toYaml -}}
{{- end -}}

{{- define "sker.secretName" -}}
{{- .Values.secret.name | default (printf "%s-secrets" (include "sker.fullname" .)) -}}
{{- end -}}

{{- define "sker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: sker
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* What a Service and a Deployment select on. Args: root, name. */}}
{{- define "sker.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "sker.componentLabels" -}}
{{ include "sker.labels" .root }}
{{ include "sker.selectorLabels" . }}
{{- end -}}

{{/* registry/repository:tag. Args: root, c (merged settings). */}}
{{- define "sker.image" -}}
{{- $c := .c -}}
{{- $tag := $c.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" .root.Values.image.registry $c.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $c.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The port a service's callers dial: the one named grpc. Args: root, name. */}}
{{- define "sker.grpcPort" -}}
{{- $c := include "sker.component" . | fromYaml -}}
{{- $found := "" -}}
{{- range $c.ports -}}
{{- if eq .name "grpc" }}{{ $found = .port | int | toString }}{{ end -}}
{{- end -}}
{{- required (printf "services.%s has no port named grpc, yet another service calls it" .name) $found -}}
{{- end -}}

{{/* dns:///<service>.<namespace>.svc.<clusterDomain>:<grpc port>: resolved to every ready pod. Args: root, name. */}}
{{- define "sker.grpcAddress" -}}
{{- printf "dns:///%s.%s.svc.%s:%s" (include "sker.componentName" .) .root.Release.Namespace .root.Values.clusterDomain (include "sker.grpcPort" .) -}}
{{- end -}}

{{- define "sker.podSecurityContext" -}}
{{- toYaml .Values.defaults.podSecurityContext -}}
{{- end -}}

{{- define "sker.containerSecurityContext" -}}
{{- toYaml .Values.defaults.securityContext -}}
{{- end -}}

{{/* Egress rule: DNS on port 53 anywhere (kube-dns, or a node-local cache). */}}
{{- define "sker.dnsEgress" -}}
- ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
{{- end -}}

{{/* Egress rules to networkPolicy.externals by name. Args: root, uses (names). */}}
{{- define "sker.externalEgress" -}}
{{- range $use := .uses }}
{{- $ext := index $.root.Values.networkPolicy.externals $use | default dict }}
{{- if not $ext }}
{{- fail (printf "uses: %s is not a networkPolicy.externals entry" $use) }}
{{- end }}
- ports:
    {{- range $ext.ports }}
    - port: {{ . | int }}
      protocol: TCP
    {{- end }}
  {{- with $ext.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}
