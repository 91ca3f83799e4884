{{/*
Labels of every object: app.kubernetes.io/name (when given) and part-of, exactly as in manifests/, plus
Helm's own (helm.sh/chart, managed-by, instance, version), which test/e2e/helm.test.ts strips before it
compares the chart with kustomize. Selectors use app.kubernetes.io/name only (selectors are immutable).
Call: include "egs.labels" (dict "ctx" $ "name" "node-resource-manager")
*/}}
{{- define "egs.labels" -}}
{{ with .name }}app.kubernetes.io/name: {{ . }}
{{ end -}}
app.kubernetes.io/part-of: edge-gang-scheduler
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{- end }}

{{- define "egs.secondary" -}}
{{- if eq .Values.schedulerSetup "secondary" }}true{{ end }}
{{- end }}

{{/* The scheduler name the extender serves and the webhook marks pods of. */}}
{{- define "egs.schedulerName" -}}
{{- if include "egs.secondary" . }}{{ .Values.scheduler.name }}{{ else }}default-scheduler{{ end }}
{{- end }}

{{/* The extender's ServiceAccount, and the app.kubernetes.io/name of the pods that serve the webhook. */}}
{{- define "egs.extenderIdentity" -}}
{{- if include "egs.secondary" . }}edge-gang-scheduler{{ else }}edge-gang-extender{{ end }}
{{- end }}

{{- define "egs.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "egs.selfManagedTls" -}}
{{- if eq .Values.webhook.tls.mode "self-managed" }}true{{ end }}
{{- end }}

{{/* The CEL condition "a generic ephemeral volume of a local-LVM class". */}}
{{- define "egs.localEphemeralCel" -}}
{{- $names := list }}
{{- range .Values.storageClasses }}{{ $names = append $names (printf "'%s'" .name) }}{{ end }}
{{- $cls := "v.ephemeral.volumeClaimTemplate.spec.storageClassName" }}
{{- $test := "" }}
{{- if eq (len $names) 1 }}{{ $test = printf "%s == %s" $cls (first $names) }}{{ else }}{{ $test = printf "%s in [%s]" $cls (join ", " $names) }}{{ end }}
{{- printf "has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.ephemeral) && has(%s) && %s)" $cls $test }}
{{- end }}

{{/* Checks the values once; every template includes it through the scheduler configuration. */}}
{{- define "egs.validate" -}}
{{- if not (has .Values.schedulerSetup (list "secondary" "default")) }}
{{- fail (printf "schedulerSetup must be secondary or default, got %q" .Values.schedulerSetup) }}
{{- end }}
{{- if not (has .Values.webhook.tls.mode (list "self-managed" "cert-manager")) }}
{{- fail (printf "webhook.tls.mode must be self-managed or cert-manager, got %q" .Values.webhook.tls.mode) }}
{{- end }}
{{- if and (eq .Values.webhook.tls.mode "cert-manager") (ne .Values.schedulerSetup "secondary") }}
{{- fail "webhook.tls.mode cert-manager needs schedulerSetup secondary: the default setup's extender is a static pod, which cannot mount the Certificate's Secret" }}
{{- end }}
{{- if not (has .Values.extender.lvmSteering (list "best-node" "all-fitting")) }}
{{- fail (printf "extender.lvmSteering must be best-node or all-fitting, got %q" .Values.extender.lvmSteering) }}
{{- end }}
{{- if eq (len .Values.storageClasses) 0 }}
{{- fail "storageClasses must name at least one local-LVM StorageClass" }}
{{- end }}
{{- if and (include "egs.secondary" .) (eq .Values.scheduler.name "default-scheduler") }}
{{- fail "scheduler.name must not be default-scheduler in the secondary setup (that is the cluster's own scheduler); use schedulerSetup default" }}
{{- end }}
{{- end }}

{{/*
The KubeSchedulerConfiguration: manifests/scheduler/kube-scheduler-config.yaml (default setup) or
manifests/overlays/secondary-scheduler/kube-scheduler-config.yaml (secondary); the comments there say why
each key has its value.
*/}}
{{- define "egs.schedulerConfig" -}}
{{- include "egs.validate" . -}}
apiVersion: {{ .Values.scheduler.configApiVersion }}
kind: KubeSchedulerConfiguration
{{- if include "egs.secondary" . }}
# No clientConnection.kubeconfig: the pod's ServiceAccount (edge-gang-scheduler) is used.
leaderElection:
  leaderElect: true
  resourceLock: leases
  # Not kube-scheduler's lease: the default scheduler holds that one.
  resourceName: {{ .Values.scheduler.name }}
  resourceNamespace: {{ .Release.Namespace }}
{{- else }}
clientConnection:
  kubeconfig: /etc/kubernetes/scheduler.conf
leaderElection:
  leaderElect: true
{{- end }}
{{- with .Values.scheduler.percentageOfNodesToScore }}
percentageOfNodesToScore: {{ . }}
{{- end }}
profiles:
  - schedulerName: {{ include "egs.schedulerName" . }}
extenders:
  - urlPrefix: http://127.0.0.1:{{ .Values.extender.port }}/
    filterVerb: filter
    {{- if eq .Values.extender.lvmSteering "all-fitting" }}
    prioritizeVerb: prioritize
    weight: {{ .Values.extender.lvmPrioritizeWeight }}
    {{- end }}
    bindVerb: bind
    nodeCacheCapable: true
    httpTimeout: {{ .Values.extender.schedulerHttpTimeoutSeconds }}s
    ignorable: false
    managedResources:
      - name: edge-gang.io/managed
        ignoredByScheduler: true
{{- end }}

{{/* The extender's command (the sidecar; the static pod of the default setup has its own). */}}
{{- define "egs.extenderCommand" -}}
- node
- dist/cmd/extender.js
- --host
- 127.0.0.1
- --port
- {{ .Values.extender.port | quote }}
- --scheduler-names
- {{ include "egs.schedulerName" . }}
- --webhook-port
- {{ .Values.webhook.port | quote }}
- --webhook-namespace
- {{ .Release.Namespace }}
{{- if not (include "egs.selfManagedTls" .) }}
- --webhook-tls
- files
- --webhook-cert-file
- /tls/tls.crt
- --webhook-key-file
- /tls/tls.key
{{- end }}
{{- $names := list }}
{{- range .Values.storageClasses }}{{ $names = append $names .name }}{{ end }}
{{- if ne (join "," $names) "csi-local-lvm" }}
- --local-storage-classes
- {{ join "," $names }}
{{- end }}
{{- if ne .Values.extender.lvmSteering "best-node" }}
- --lvm-steering
- {{ .Values.extender.lvmSteering }}
{{- end }}
{{- if ne (int .Values.extender.schedulerHttpTimeoutSeconds) 300 }}
- --scheduler-http-timeout-ms
- {{ mul (int .Values.extender.schedulerHttpTimeoutSeconds) 1000 | quote }}
{{- end }}
{{- range .Values.extender.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
