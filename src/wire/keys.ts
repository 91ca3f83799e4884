// Every label, annotation and well-known name the product reads or writes is spelled here and
// nowhere else (STYLE.md: wire/ is the only place they are spelled).

/** Pod label naming the pod group (seed 002, 5.3.1; scheduler-plugins v0.18 lightweight form). */
export const LABEL_POD_GROUP_NAME = 'pod-group.scheduling.sigs.k8s.io/name';
/** Pod label with the group's min-available, a decimal integer string (seed 002, 5.3.1). */
export const LABEL_POD_GROUP_MIN_AVAILABLE = 'pod-group.scheduling.sigs.k8s.io/min-available';

/**
 * Pod label of the scheduler-plugins dialect: names a PodGroup (scheduling.x-k8s.io/v1alpha1) in the pod's
 * namespace, which carries minMember, minResources and scheduleTimeoutSeconds. Kubeflow training-operator
 * v1.8/1.9 and Trainer v2 set it with --gang-scheduler-name=scheduler-plugins (apis/scheduling/v1alpha1
 * PodGroupLabel in sigs.k8s.io/scheduler-plugins).
 */
export const LABEL_SCHEDULER_PLUGINS_POD_GROUP = 'scheduling.x-k8s.io/pod-group';
/** The PodGroup custom resource of scheduler-plugins: API group, version, plural, kind, CRD name. */
export const PODGROUP_API = {
  group: 'scheduling.x-k8s.io',
  version: 'v1alpha1',
  plural: 'podgroups',
  kind: 'PodGroup',
  crd: 'podgroups.scheduling.x-k8s.io',
} as const;
/**
 * The PodGroup phases the extender writes (status.phase), as scheduler-plugins v0.35 defines them
 * (apis/scheduling/v1alpha1/types.go). Unknown is never written (see core/gang/podgroup.ts).
 */
export const PODGROUP_PHASES = {
  pending: 'Pending',
  scheduling: 'Scheduling',
  running: 'Running',
  finished: 'Finished',
  failed: 'Failed',
} as const;
export type PodGroupPhase = (typeof PODGROUP_PHASES)[keyof typeof PODGROUP_PHASES];

/** Our own annotations live under this prefix. */
export const ANNOTATION_PREFIX = 'edge-gang.io/';
/** Pod annotation: seconds the bind barrier waits for the rest of the gang (overrides the default). */
export const ANNOTATION_BARRIER_TIMEOUT_SECONDS = `${ANNOTATION_PREFIX}barrier-timeout-seconds`;
/** Pod annotation: a node label key; the whole gang must be placed within one value of it. */
export const ANNOTATION_SAME_NODE_LABEL = `${ANNOTATION_PREFIX}same-node-label`;
/**
 * Pod annotation the extender sets (to the time, RFC 3339) on a gang member it refused when a plan made
 * later includes it: the pod update is the cluster event that makes kube-scheduler retry the member
 * (after its backoff) instead of leaving it in its unschedulable pool until something else changes.
 */
export const ANNOTATION_REQUEUED_AT = `${ANNOTATION_PREFIX}requeued-at`;
/**
 * Scheduling gate the webhook puts on every gang member at creation (opt-in, --gang-quorum-gate); the
 * extender removes it from all of a gang's members together once min-available of them exist. A
 * gated pod is not in kube-scheduler's queue, so the members enter it back to back and are tried one
 * after another, instead of wherever its queue had put them (on a restart: anywhere).
 */
export const SCHEDULING_GATE_GANG = `${ANNOTATION_PREFIX}gang-quorum`;
/** Node annotation written by node-resource-manager: the capacity report (see capacity.ts). */
export const ANNOTATION_VG_CAPACITY = `${ANNOTATION_PREFIX}vg-capacity`;

/** Node label marking a node as a local-storage node (seed 002, 8.3, step 2). */
export const LABEL_LOCAL_STORAGE = 'alibabacloud.com/edge-enable-localstorage';
/** Node label of edge workers (seed 002, 8.3 example Deployment; seeds 000/001). */
export const LABEL_EDGE_WORKER = 'alibabacloud.com/is-edge-worker';
/** OpenYurt node pool label: one edge site (issue 4, edge node pools). */
export const LABEL_OPENYURT_NODEPOOL = 'apps.openyurt.io/nodepool';

/** Node annotation used by Alibaba's csi-local-plugin: JSON list of {type,name,capacity}. */
export const ANNOTATION_ALIBABA_STORAGE_TOPOLOGY = 'csi.alibabacloud.com/storage-topology';

/** PVC annotation set by kube-scheduler's VolumeBinding PreBind for WaitForFirstConsumer claims. */
export const ANNOTATION_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** Older spelling of the same annotation, still read by provisioners. */
export const ANNOTATION_SELECTED_NODE_BETA = 'volume.beta.kubernetes.io/selected-node';

/** StorageClass annotation naming the cluster's default class, and its older spelling. */
export const ANNOTATION_DEFAULT_STORAGE_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANNOTATION_DEFAULT_STORAGE_CLASS_BETA = 'storageclass.beta.kubernetes.io/is-default-class';

/** Defaults from the seed: StorageClass csi-local-lvm, provisioner, vgName parameter. */
export const DEFAULT_LOCAL_STORAGE_CLASS = 'csi-local-lvm';
export const DEFAULT_LOCAL_PROVISIONER = 'localplugin.csi.alibabacloud.com';
export const STORAGE_CLASS_VG_PARAMETER = 'vgName';
export const DEFAULT_VG_NAME = 'volumegroup1';

/** ConfigMap read by node-resource-manager (seed 002, 8.3). */
export const TOPO_CONFIGMAP_NAMESPACE = 'kube-system';
export const TOPO_CONFIGMAP_NAME = 'node-resource-topo';
export const TOPO_CONFIGMAP_KEY = 'volumegroup';

/** The schedulerName a pod has when it names none. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/**
 * Event reasons the extender records on gang members, by the planner's event kind, in the order of a
 * gang's life (the status command orders Events of the same second by it).
 */
export const GANG_EVENTS = {
  waiting: { reason: 'GangWaitingForMembers', type: 'Normal' },
  unschedulable: { reason: 'GangUnschedulable', type: 'Warning' },
  planned: { reason: 'GangPlanned', type: 'Normal' },
  'barrier-timeout': { reason: 'GangBarrierTimeout', type: 'Warning' },
  'plan-released': { reason: 'GangPlanReleased', type: 'Warning' },
  bound: { reason: 'GangScheduled', type: 'Normal' },
} as const;
export type GangEventKind = keyof typeof GANG_EVENTS;

/** Resource names. */
export const RESOURCE_GPU = 'nvidia.com/gpu';

/**
 * The extended resource our mutating webhook adds (requests = limits = 1, first container) to exactly the
 * pods the extender must decide: gang members and pods with local-LVM claims. kube-scheduler sends only
 * pods that request it to the extender (extenders[].managedResources, ignoredByScheduler: true), and
 * kubelet admits it although no node advertises it (issue 12). The extender itself never counts it.
 */
export const RESOURCE_SCHEDULING_MARK = `${ANNOTATION_PREFIX}managed`;

/**
 * node-resource-manager: why a configured device was not added to its VolumeGroup (issue 5). The code travels
 * as RefusedDeviceReport.reason in the capacity report, as the reason of the Warning Event on the Node, and as
 * the `reason` label of the refused-devices metric.
 */
export const DEVICE_REFUSAL_REASONS = [
  'PathNotAbsolute',
  'PathUnsafe',
  'DeviceListedTwice',
  'DeviceNotFound',
  'DeviceNotBlock',
  'DeviceUnsupportedType',
  'DeviceHasSignature',
  'DeviceIsPartitioned',
  'DeviceMounted',
  'DeviceInUse',
  'DeviceInOtherVG',
  'DeviceProbeFailed',
  'DeviceCommandFailed',
] as const;
export type DeviceRefusalReason = (typeof DEVICE_REFUSAL_REASONS)[number];

/** node-resource-manager: reasons of the Events it records on its Node (besides the refusal codes above). */
export const EVENT_REASON_PV_CREATED = 'PhysicalVolumeCreated';
export const EVENT_REASON_VG_CREATED = 'VolumeGroupCreated';
export const EVENT_REASON_VG_EXTENDED = 'VolumeGroupExtended';
export const EVENT_REASON_VG_UNLISTED_PVS = 'VolumeGroupHasUnlistedDevices';
export const EVENT_REASON_LVM_COMMAND_FAILED = 'LvmCommandFailed';
export const EVENT_REASON_TOPOLOGY_CONFIG_INVALID = 'TopologyConfigInvalid';
export const EVENT_REASON_TOPOLOGY_CONFIG_APPLIED = 'TopologyConfigApplied';
/** The Event source component name of node-resource-manager. */
export const NRM_COMPONENT = 'node-resource-manager';
