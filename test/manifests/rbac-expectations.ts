// The API calls each program makes, written down once from its code, for the RBAC tests: the unit test
// checks that the shipped roles grant exactly these (no more), the end-to-end test asks the API server
// (SubjectAccessReview) that each is allowed for the ServiceAccount and that look-alikes are not.

export interface ApiCall {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  /** Namespace of the request; undefined: cluster-wide (or all namespaces). */
  namespace?: string;
  /** Object name the request names (a get, or a list/watch with fieldSelector metadata.name=). */
  name?: string;
  /** Where in the code. */
  why: string;
}

export const EXTENDER_USER = 'system:serviceaccount:kube-system:edge-gang-extender';
export const NRM_USER = 'system:serviceaccount:kube-system:node-resource-manager';
export const SECONDARY_SCHEDULER_USER = 'system:serviceaccount:kube-system:edge-gang-scheduler';
/** The groups the API server gives a ServiceAccount token. */
export const serviceAccountGroups = (namespace: string): string[] => ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];

/** src/extender/kube/cluster.ts (reflectors, binder), events.ts, requeue.ts, podgroups.ts and podgroup-status.ts. */
export const EXTENDER_CALLS: readonly ApiCall[] = [
  { group: '', resource: 'nodes', verb: 'list', why: 'reflector nodes: listNode (paged)' },
  { group: '', resource: 'nodes', verb: 'watch', why: 'reflector nodes: watch /api/v1/nodes' },
  { group: '', resource: 'pods', verb: 'list', why: 'reflector pods: listPodForAllNamespaces' },
  { group: '', resource: 'pods', verb: 'watch', why: 'reflector pods: watch /api/v1/pods' },
  { group: '', resource: 'persistentvolumeclaims', verb: 'list', why: 'reflector pvcs' },
  { group: '', resource: 'persistentvolumeclaims', verb: 'watch', why: 'reflector pvcs' },
  { group: '', resource: 'persistentvolumes', verb: 'list', why: 'reflector pvs' },
  { group: '', resource: 'persistentvolumes', verb: 'watch', why: 'reflector pvs' },
  { group: 'storage.k8s.io', resource: 'storageclasses', verb: 'list', why: 'reflector storageclasses' },
  { group: 'storage.k8s.io', resource: 'storageclasses', verb: 'watch', why: 'reflector storageclasses' },
  { group: '', resource: 'pods', subresource: 'binding', verb: 'create', namespace: 'default', name: 'p', why: 'binder: createNamespacedPodBinding' },
  { group: '', resource: 'pods', verb: 'get', namespace: 'default', name: 'p', why: 'binder: readNamespacedPod after a 409' },
  { group: '', resource: 'pods', verb: 'patch', namespace: 'default', name: 'p', why: 'PodRequeuer: the requeued-at annotation on a refused gang member a later plan includes' },
  { group: '', resource: 'events', verb: 'create', namespace: 'default', why: 'GangEventRecorder: createNamespacedEvent' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', verb: 'list', why: 'reflector podgroups (kube/podgroups.ts): listClusterCustomObject, once discovery serves them' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', verb: 'watch', why: 'reflector podgroups: watch /apis/scheduling.x-k8s.io/v1alpha1/podgroups' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', subresource: 'status', verb: 'patch', namespace: 'default', name: 'pg', why: 'PodGroupStatusWriter: merge patch of status (phase, counts, scheduleStartTime)' },
];

/** Requests the extender never makes; its role must refuse them. */
export const EXTENDER_DENIED: readonly ApiCall[] = [
  { group: '', resource: 'nodes', verb: 'get', name: 'n', why: 'nodes come from the watch' },
  { group: '', resource: 'nodes', verb: 'patch', name: 'n', why: 'the extender never writes nodes' },
  { group: '', resource: 'pods', verb: 'create', namespace: 'default', why: '' },
  { group: '', resource: 'pods', verb: 'update', namespace: 'default', name: 'p', why: '' },
  { group: '', resource: 'pods', verb: 'delete', namespace: 'default', name: 'p', why: 'no preemption' },
  { group: '', resource: 'pods', subresource: 'status', verb: 'patch', namespace: 'default', name: 'p', why: 'the scheduler writes conditions, not the extender' },
  { group: '', resource: 'events', verb: 'patch', namespace: 'default', name: 'e', why: 'Events are deduplicated client-side, never patched' },
  { group: '', resource: 'persistentvolumes', verb: 'create', why: '' },
  { group: '', resource: 'secrets', verb: 'get', namespace: 'kube-system', name: 's', why: '' },
  { group: '', resource: 'configmaps', verb: 'list', namespace: 'kube-system', why: '' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', verb: 'get', namespace: 'default', name: 'pg', why: 'PodGroups come from the watch' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', verb: 'create', namespace: 'default', why: 'the operator creates PodGroups, not the extender' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', verb: 'patch', namespace: 'default', name: 'pg', why: 'only the status subresource is written' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', verb: 'delete', namespace: 'default', name: 'pg', why: '' },
  { group: 'scheduling.x-k8s.io', resource: 'podgroups', subresource: 'status', verb: 'update', namespace: 'default', name: 'pg', why: 'a merge patch, never a full update' },
];

/** src/extender/webhook/tls/kube.ts: the webhook's self-managed certificate (Secret) and caBundle. */
export const WEBHOOK_CERT_CALLS: readonly ApiCall[] = [
  { group: '', resource: 'secrets', verb: 'get', namespace: 'kube-system', name: 'edge-gang-webhook-tls', why: 'readSecret: readNamespacedSecret' },
  { group: '', resource: 'secrets', verb: 'update', namespace: 'kube-system', name: 'edge-gang-webhook-tls', why: 'renewal: replaceNamespacedSecret' },
  { group: '', resource: 'secrets', verb: 'create', namespace: 'kube-system', why: 'first start: createNamespacedSecret' },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'get', name: 'edge-gang-scheduling-mark', why: 'readWebhookConfig' },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'patch', name: 'edge-gang-scheduling-mark', why: 'patchCaBundles: JSON patch of caBundle' },
];

export const WEBHOOK_CERT_DENIED: readonly ApiCall[] = [
  { group: '', resource: 'secrets', verb: 'get', namespace: 'kube-system', name: 'other', why: 'another Secret' },
  { group: '', resource: 'secrets', verb: 'list', namespace: 'kube-system', why: '' },
  { group: '', resource: 'secrets', verb: 'delete', namespace: 'kube-system', name: 'edge-gang-webhook-tls', why: 'never deleted' },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'patch', name: 'other', why: "another configuration" },
  { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', verb: 'patch', name: 'edge-gang-scheduling-mark', why: '' },
];

/** src/agent/adapters/kube.ts. The node name is an example: the agent may patch and watch any Node. */
export const NRM_CALLS: readonly ApiCall[] = [
  { group: '', resource: 'configmaps', verb: 'list', namespace: 'kube-system', name: 'node-resource-topo', why: 'watchConfigMap: listNamespacedConfigMap fieldSelector metadata.name=node-resource-topo' },
  { group: '', resource: 'configmaps', verb: 'watch', namespace: 'kube-system', name: 'node-resource-topo', why: 'watchConfigMap: watch with the same fieldSelector' },
  { group: '', resource: 'nodes', verb: 'list', why: 'watchNode: listNode fieldSelector metadata.name=<node>' },
  { group: '', resource: 'nodes', verb: 'watch', why: 'watchNode: watch with the same fieldSelector' },
  { group: '', resource: 'nodes', verb: 'patch', name: 'edge-1', why: 'publishCapacity: merge patch of the vg-capacity annotation' },
  { group: '', resource: 'events', verb: 'create', namespace: 'default', why: 'recordEvent: createNamespacedEvent on its Node' },
];

export const NRM_DENIED: readonly ApiCall[] = [
  { group: '', resource: 'configmaps', verb: 'list', namespace: 'kube-system', why: 'a list of every ConfigMap (no name)' },
  { group: '', resource: 'configmaps', verb: 'get', namespace: 'kube-system', name: 'node-resource-topo', why: 'the agent lists+watches, never gets' },
  { group: '', resource: 'configmaps', verb: 'list', namespace: 'kube-system', name: 'kubeadm-config', why: 'another ConfigMap' },
  { group: '', resource: 'configmaps', verb: 'list', namespace: 'default', name: 'node-resource-topo', why: 'the same name in another namespace' },
  { group: '', resource: 'secrets', verb: 'list', namespace: 'kube-system', why: '' },
  { group: '', resource: 'nodes', verb: 'get', name: 'edge-1', why: 'nodes come from the watch' },
  { group: '', resource: 'nodes', verb: 'update', name: 'edge-1', why: '' },
  { group: '', resource: 'nodes', verb: 'delete', name: 'edge-1', why: '' },
  { group: '', resource: 'nodes', subresource: 'status', verb: 'patch', name: 'edge-1', why: 'the report is an annotation, not status' },
  { group: '', resource: 'pods', verb: 'list', why: '' },
  { group: '', resource: 'events', verb: 'patch', namespace: 'default', name: 'e', why: '' },
];

/** The secondary kube-scheduler's own lease (system:kube-scheduler only allows the one named kube-scheduler). */
export const SECONDARY_SCHEDULER_CALLS: readonly ApiCall[] = [
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: 'kube-system', why: 'leader election' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', namespace: 'kube-system', name: 'edge-gang-scheduler', why: 'leader election' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'kube-system', name: 'edge-gang-scheduler', why: 'leader election' },
  { group: '', resource: 'configmaps', verb: 'get', namespace: 'kube-system', name: 'extension-apiserver-authentication', why: 'delegated authentication: client CA' },
  { group: '', resource: 'pods', subresource: 'binding', verb: 'create', namespace: 'default', name: 'p', why: 'kube-scheduler (system:kube-scheduler) and the extender sidecar' },
  { group: '', resource: 'persistentvolumeclaims', verb: 'patch', namespace: 'default', name: 'c', why: 'VolumeBinding: selected-node (system:volume-scheduler / system:kube-scheduler)' },
  { group: '', resource: 'events', verb: 'create', namespace: 'default', why: 'extender sidecar and scheduler Events' },
];

export const SECONDARY_SCHEDULER_DENIED: readonly ApiCall[] = [
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'kube-system', name: 'kube-controller-manager', why: 'another component\'s lease' },
  { group: '', resource: 'secrets', verb: 'get', namespace: 'kube-system', name: 's', why: '' },
];
