{{/* Chart name, truncated to a label value. */}}
{{- define "mcp-connector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "mcp-connector.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mcp-connector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcp-connector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-connector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mcp-connector.labels" -}}
helm.sh/chart: {{ include "mcp-connector.chart" . }}
{{ include "mcp-connector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mcp-connector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcp-connector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Connection resource; the connector's own default is the same. */}}
{{- define "mcp-connector.connectionName" -}}
{{- default .Values.mcp.namespace .Values.connectionName }}
{{- end }}

{{/* The leader-election Lease: the connector names it mcp-connector-<connection name>. */}}
{{- define "mcp-connector.leaseName" -}}
{{- printf "mcp-connector-%s" (include "mcp-connector.connectionName" .) }}
{{- end }}

{{- define "mcp-connector.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* Secret the chart writes for token mode. */}}
{{- define "mcp-connector.tokenSecretName" -}}
{{- printf "%s-control-plane-token" (include "mcp-connector.fullname" .) | trunc 253 }}
{{- end }}

{{/* Where the control-plane credentials are mounted in the container. */}}
{{- define "mcp-connector.credentialsDir" -}}
/etc/mcp-connector/control-plane
{{- end }}

{{/*
The control-plane credentials, checked: exactly one of mcp.token, mcp.secret.name and
controlPlane.kubeconfigSecret.name. Returns "token" or "kubeconfig"; fails otherwise.
*/}}
{{- define "mcp-connector.credentialMode" -}}
{{- $given := list }}
{{- if .Values.mcp.token }}{{ $given = append $given "mcp.token" }}{{ end }}
{{- if .Values.mcp.secret.name }}{{ $given = append $given "mcp.secret.name" }}{{ end }}
{{- if .Values.controlPlane.kubeconfigSecret.name }}{{ $given = append $given "controlPlane.kubeconfigSecret.name" }}{{ end }}
{{- if eq (len $given) 0 }}
{{- fail "mcp-connector: no control-plane credentials: set exactly one of mcp.token (an Upbound API token, with mcp.account and mcp.name), mcp.secret.name (an existing Secret holding the control plane's kubeconfig) or controlPlane.kubeconfigSecret.name (the same for any Crossplane control plane)" }}
{{- end }}
{{- if gt (len $given) 1 }}
{{- fail (printf "mcp-connector: more than one control-plane credential given (%s): set exactly one" (join ", " $given)) }}
{{- end }}
{{- if .Values.mcp.token }}
{{- if or (not .Values.mcp.account) (not .Values.mcp.name) }}
{{- fail "mcp-connector: mcp.token needs mcp.account and mcp.name: the control plane's URL is <mcp.baseURL>/<mcp.account>/<mcp.name>/k8s" }}
{{- end }}
{{- "token" }}
{{- else }}
{{- "kubeconfig" }}
{{- end }}
{{- end }}

{{/* The Secret (name and key) holding the kubeconfig, in kubeconfig mode. */}}
{{- define "mcp-connector.kubeconfigSecret" -}}
{{- if .Values.mcp.secret.name }}
{{- dict "name" .Values.mcp.secret.name "key" .Values.mcp.secret.key | toJson }}
{{- else }}
{{- dict "name" .Values.controlPlane.kubeconfigSecret.name "key" .Values.controlPlane.kubeconfigSecret.key | toJson }}
{{- end }}
{{- end }}

{{/* The control plane's URL in token mode. */}}
{{- define "mcp-connector.controlPlaneServer" -}}
{{- printf "%s/%s/%s/k8s" (trimSuffix "/" .Values.mcp.baseURL) .Values.mcp.account .Values.mcp.name }}
{{- end }}
