{{/* Chart name, overridable with nameOverride. */}}
{{- define "dnsfailover.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else the release name,
with the chart name appended unless the release name already contains it.
*/}}
{{- define "dnsfailover.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "dnsfailover.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "dnsfailover.labels" -}}
helm.sh/chart: {{ include "dnsfailover.chart" . }}
{{ include "dnsfailover.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the controller pods (immutable in a Deployment). */}}
{{- define "dnsfailover.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dnsfailover.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the controller runs as. */}}
{{- define "dnsfailover.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dnsfailover.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the leader-election Lease. */}}
{{- define "dnsfailover.leaseName" -}}
{{- default (include "dnsfailover.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
Rules every installation needs on FailoverRecords and Events, in each watched
namespace (ClusterRole) or in each listed namespace (Role). Cluster-target
rules are added only with clusterTargets.enabled, the Gateway rule only with
gatewayAPI.enabled.
*/}}
{{- define "dnsfailover.rules" -}}
# Watch FailoverRecords, and add/remove the dnsfailover.io/cleanup finalizer
# (a patch of metadata.finalizers).
- apiGroups: ["dnsfailover.io"]
  resources: ["failoverrecords"]
  verbs: ["get", "list", "watch", "patch"]
# Write status (server-side apply on the status subresource).
- apiGroups: ["dnsfailover.io"]
  resources: ["failoverrecords/status"]
  verbs: ["patch"]
# Set finalizers where the OwnerReferencesPermissionEnforcement admission
# plugin checks the finalizers subresource.
- apiGroups: ["dnsfailover.io"]
  resources: ["failoverrecords/finalizers"]
  verbs: ["update", "patch"]
# Publish Events on transitions (create) and repeat counts of a series (patch).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.clusterTargets.enabled }}
# serviceRef targets: read the load balancer address of a Service, and follow it.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch"]
# ingressRef targets: read the load balancer address of an Ingress, and follow it.
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- if .Values.gatewayAPI.enabled }}
# gatewayRef targets: read a Gateway's status.addresses, and follow them.
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end }}

{{/*
Checks of value combinations the schema cannot express; included by the
Deployment so that a bad combination fails the render.
*/}}
{{- define "dnsfailover.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: more than one replica needs leader election, or several pods would write to Route 53 at once. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- end }}
