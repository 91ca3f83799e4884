// The core's model of the cluster: compact, already-parsed views of Kubernetes objects.
// Amounts are integers: cpu in millicores, memory/storage in bytes, other resources in counts.

/** resource name -> integer amount. */
export type Resources = Record<string, number>;

export interface Taint {
  key: string;
  value: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | string;
}

export interface Toleration {
  key: string;
  operator: 'Exists' | 'Equal';
  value: string;
  /** '' tolerates every effect. */
  effect: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt' | string;
  values: string[];
}

/** A node selector term: all requirements must hold (matchFields on metadata.name folded in as key `metadata.name`). */
export type NodeSelectorTerm = NodeSelectorRequirement[];

export interface VgCapacity {
  name: string;
  sizeBytes: number;
  /** Free bytes as LVM last reported them; null when the source reports only capacity. */
  reportedFreeBytes: number | null;
}

export interface NodeCapacity {
  source: 'agent' | 'alibaba-annotation';
  /** When the source measured it (ms since epoch); null when the source has no time stamp. */
  updatedAtMs: number | null;
  vgs: Map<string, VgCapacity>;
  /** Why the capacity annotation could not be used, if it could not. */
  problem: string | null;
}

export interface NodeModel {
  name: string;
  labels: Record<string, string>;
  taints: Taint[];
  allocatable: Resources;
  unschedulable: boolean;
  capacity: NodeCapacity | null;
}

export interface PodModel {
  uid: string;
  namespace: string;
  name: string;
  nodeName: string;
  schedulerName: string;
  priority: number;
  creationMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  requests: Resources;
  nodeSelector: Record<string, string>;
  /** Required node affinity terms (ORed); null when none. */
  affinityTerms: NodeSelectorTerm[] | null;
  tolerations: Toleration[];
  /** Names of PVCs the pod mounts (same namespace). */
  claimNames: string[];
  /** Succeeded or Failed: holds no resources. */
  terminal: boolean;
  deleting: boolean;
  /** spec.schedulingGates has a gate other than ours: kube-scheduler does not try the pod until it is removed. */
  gated?: boolean;
  /** spec.schedulingGates has our gang gate (SCHEDULING_GATE_GANG): the extender removes it at quorum. */
  quorumGated?: boolean;
  /** The message of the pod's PodScheduled=False condition (the scheduler's last refusal); '' or absent when none. */
  unschedulableMessage?: string;
  /** status.phase ('Pending', 'Running', ...); absent when the source did not say. */
  phase?: string;
  /**
   * The PodGroup its scheduling.x-k8s.io/pod-group label names, as ClusterState knows it: set by the
   * state (never by the converter), absent on pods without the label. See PodGroupRef.
   */
  podGroup?: PodGroupRef;
}

/** A scheduler-plugins PodGroup (scheduling.x-k8s.io/v1alpha1): the gang parameters of the pods that name it. */
export interface PodGroupModel {
  namespace: string;
  name: string;
  uid: string;
  /** spec.minMember; 0 when absent (the CRD's minimum is 1: such a group is refused). */
  minMember: number;
  /** spec.scheduleTimeoutSeconds; null when absent. */
  scheduleTimeoutSeconds: number | null;
  /** spec.minResources, parsed like requests (cpu in millicores). */
  minResources: Resources;
  creationMs: number;
}

/**
 * What a pod's PodGroup label resolves to: the PodGroup, or why there is none ('missing': not created
 * (yet); 'no-crd': the cluster does not serve PodGroups, so none can exist).
 */
export type PodGroupRef = PodGroupModel | 'missing' | 'no-crd';

export interface PvcModel {
  namespace: string;
  name: string;
  uid: string;
  storageClassName: string;
  requestBytes: number;
  /** spec.volumeName; '' while unbound. */
  volumeName: string;
  /** volume.kubernetes.io/selected-node; '' when absent. */
  selectedNode: string;
}

export interface PvModel {
  name: string;
  storageClassName: string;
  capacityBytes: number;
  /** The node its required node affinity pins it to ('' if none). */
  nodeName: string;
  /** "namespace/name" of the claim, '' if none. */
  claimKey: string;
  creationMs: number;
  /** VolumeGroup from the CSI volume attributes, if present. */
  vgName: string;
}

export interface StorageClassModel {
  name: string;
  provisioner: string;
  /** vgName parameter ('' if absent). */
  vgName: string;
  waitForFirstConsumer: boolean;
  /** Annotated as the cluster's default StorageClass. */
  isDefault: boolean;
  creationMs: number;
}

export function claimKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
