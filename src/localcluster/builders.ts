// Fluent builders of Kubernetes objects, one family for the unit tests and the local cluster
// (the scheduler-plugins style: makePod('w-0').group('tf', 5).gpu(2)).
//
// build() gives the object as the API server would return it, server-owned fields included (uid,
// creationTimestamp, a Pending status; fixed values, so unit tests are deterministic). manifest() gives
// what a client sends: the same without those fields. The create* helpers in objects.ts send manifest().
// Nodes are built with status (capacity, allocatable, Ready), as upstream scheduler_perf creates them:
// nothing heartbeats them and no controller taints them (see flags.ts, the admission plugins).

import type { V1Node, V1NodeSpec, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodSpec, V1StorageClass, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { CAPACITY_REPORT_VERSION, type CapacityReport, type VolumeGroupReport } from '../wire/capacity.js';
import {
  ANNOTATION_SELECTED_NODE,
  ANNOTATION_VG_CAPACITY,
  DEFAULT_LOCAL_PROVISIONER,
  DEFAULT_LOCAL_STORAGE_CLASS,
  DEFAULT_SCHEDULER_NAME,
  DEFAULT_VG_NAME,
  LABEL_LOCAL_STORAGE,
  LABEL_POD_GROUP_MIN_AVAILABLE,
  LABEL_POD_GROUP_NAME,
  LABEL_SCHEDULER_PLUGINS_POD_GROUP,
  PODGROUP_API,
  RESOURCE_GPU,
  STORAGE_CLASS_VG_PARAMETER,
} from '../wire/keys.js';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

const LABEL_HOSTNAME = 'kubernetes.io/hostname';
const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
/** creationTimestamp of built pods, and updatedAt of vg() reports: fixed, so unit tests are deterministic. */
const BUILT_AT = '2026-11-21T00:00:00Z';
/**
 * Timestamps stay RFC 3339 strings, as in the API's JSON (and the unit tests' fixtures); the client types
 * them as the Date it deserializes to, and its serializer passes a string through unchanged.
 */
const jsonTime = (iso: string) => iso as unknown as Date;

type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

// --- capacity reports --------------------------------------------------------------------------------

/** A capacity report with one PV per VG; freeBytes defaults to sizeBytes. */
export function makeCapacityReport(
  node: string,
  vgs: { name?: string; sizeBytes: number; freeBytes?: number }[] = [{ sizeBytes: 100 * GiB }],
  updatedAt = new Date(),
): CapacityReport {
  return {
    version: CAPACITY_REPORT_VERSION,
    node,
    updatedAt: updatedAt.toISOString(),
    vgs: vgs.map((v, i): VolumeGroupReport => {
      const freeBytes = v.freeBytes ?? v.sizeBytes;
      return { name: v.name ?? DEFAULT_VG_NAME, sizeBytes: v.sizeBytes, freeBytes, pvs: [{ name: `/dev/loop${i}`, sizeBytes: v.sizeBytes, freeBytes }] };
    }),
    refused: [],
  };
}

/** labels and annotations, the metadata every builder carries. */
abstract class MetadataBuilder {
  protected readonly labels: Record<string, string> = {};
  protected readonly annotations: Record<string, string> = {};

  label(key: string, value: string): this {
    this.labels[key] = value;
    return this;
  }
  annotate(key: string, value: string): this {
    this.annotations[key] = value;
    return this;
  }
}

// --- nodes -----------------------------------------------------------------------------------------

export class NodeBuilder extends MetadataBuilder {
  /** Capacity and allocatable alike: nothing is reserved for system daemons. */
  private readonly resources: Record<string, string> = { cpu: '8', memory: '32Gi', pods: '110' };
  private readonly taints: V1Taint[] = [];
  private ready = true;
  private isUnschedulable = false;

  constructor(private readonly name: string) {
    super();
    this.labels[LABEL_HOSTNAME] = name;
  }

  cpu(q: string | number): this {
    return this.resource('cpu', String(q));
  }
  mem(q: string): this {
    return this.resource('memory', q);
  }
  pods(n: number): this {
    return this.resource('pods', String(n));
  }
  gpus(n: number): this {
    return this.resource(RESOURCE_GPU, String(n));
  }
  resource(name: string, q: string): this {
    this.resources[name] = q;
    return this;
  }
  /** The label that opts a node in to local storage (edge-gang.io/local-storage=true). */
  localStorage(): this {
    return this.label(LABEL_LOCAL_STORAGE, 'true');
  }
  /** Adds a VG (no PVs) to the capacity report, as node-resource-manager publishes it; updatedAt is fixed unless given. */
  vg(name: string, sizeBytes: number, freeBytes = sizeBytes, updatedAt = BUILT_AT): this {
    const text = this.annotations[ANNOTATION_VG_CAPACITY];
    const report: CapacityReport = text !== undefined ? (JSON.parse(text) as CapacityReport) : { version: 1, node: this.name, updatedAt, vgs: [], refused: [] };
    report.vgs.push({ name, sizeBytes, freeBytes, pvs: [] });
    report.updatedAt = updatedAt;
    return this.annotate(ANNOTATION_VG_CAPACITY, JSON.stringify(report));
  }
  /** Sets the whole capacity report: a report, or VG sizes for makeCapacityReport (updated now, one PV per VG). */
  capacityReport(report: CapacityReport | { name?: string; sizeBytes: number; freeBytes?: number }[]): this {
    const r = Array.isArray(report) ? makeCapacityReport(this.name, report) : report;
    return this.annotate(ANNOTATION_VG_CAPACITY, JSON.stringify(r));
  }
  taint(key: string, effect: TaintEffect = 'NoSchedule', value = ''): this {
    this.taints.push({ key, value, effect });
    return this;
  }
  notReady(): this {
    this.ready = false;
    return this;
  }
  unschedulable(): this {
    this.isUnschedulable = true;
    return this;
  }

  build(): V1Node {
    const spec: V1NodeSpec = {};
    if (this.taints.length > 0) spec.taints = this.taints.map((t) => ({ ...t }));
    if (this.isUnschedulable) spec.unschedulable = true;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.name, labels: { ...this.labels }, annotations: { ...this.annotations } },
      spec,
      status: {
        allocatable: { ...this.resources },
        capacity: { ...this.resources },
        conditions: [{ type: 'Ready', status: this.ready ? 'True' : 'False' }],
      },
    };
  }

  /** A Node has no server-owned fields here: the API server keeps the status a create sends. */
  manifest(): V1Node {
    return this.build();
  }
}

export const makeNode = (name: string) => new NodeBuilder(name);

// --- pods ------------------------------------------------------------------------------------------

export class PodBuilder extends MetadataBuilder {
  private namespace = 'default';
  private uidValue: string;
  private createdAt = BUILT_AT;
  private readonly requests: Record<string, string> = {};
  private readonly limits: Record<string, string> = {};
  private readonly claims: string[] = [];
  private readonly tolerations: V1Toleration[] = [];
  private selector: Record<string, string> | undefined;
  private schedulerName = DEFAULT_SCHEDULER_NAME;
  private imageName = PAUSE_IMAGE;
  private nodeName: string | undefined;
  private priorityValue: number | undefined;

  constructor(private readonly name: string) {
    super();
    this.uidValue = `uid-${name}`;
  }

  ns(namespace: string): this {
    this.namespace = namespace;
    return this;
  }
  /** Server-owned: only in build(). */
  uid(uid: string): this {
    this.uidValue = uid;
    return this;
  }
  /** creationTimestamp (ISO); server-owned: only in build(). */
  created(iso: string): this {
    this.createdAt = iso;
    return this;
  }
  cpu(q: string): this {
    return this.request('cpu', q);
  }
  mem(q: string): this {
    return this.request('memory', q);
  }
  /** nvidia.com/gpu as a limit, as the seed's TFJob asks for it (the API server defaults the request to it). */
  gpu(n: number): this {
    this.limits[RESOURCE_GPU] = String(n);
    return this;
  }
  /** Requests a resource; an extended resource (a name with a '/') is also its limit: they must be equal. */
  request(name: string, q: string): this {
    this.requests[name] = q;
    if (name.includes('/')) this.limits[name] = q;
    return this;
  }
  /** Pod-group labels (scheduler-plugins lightweight form): group name and min-available. */
  group(name: string, minAvailable: number | string): this {
    return this.label(LABEL_POD_GROUP_NAME, name).label(LABEL_POD_GROUP_MIN_AVAILABLE, String(minAvailable));
  }
  /** The scheduler-plugins dialect: the label naming a PodGroup (makePodGroup) in the pod's namespace. */
  podGroup(name: string): this {
    return this.label(LABEL_SCHEDULER_PLUGINS_POD_GROUP, name);
  }
  /** spec.priority, as the Priority admission plugin resolves it; for read-side objects (the API refuses it on create without a class). */
  priority(p: number): this {
    this.priorityValue = p;
    return this;
  }
  /** Mounts an existing PVC. */
  pvc(claimName: string): this {
    this.claims.push(claimName);
    return this;
  }
  /** Adds to spec.nodeSelector: one key and value, or a map. */
  nodeSelector(keyOrSelector: string | Record<string, string>, value?: string): this {
    const add = typeof keyOrSelector === 'string' ? { [keyOrSelector]: value ?? '' } : keyOrSelector;
    this.selector = { ...(this.selector ?? {}), ...add };
    return this;
  }
  toleration(t: V1Toleration): this {
    this.tolerations.push(t);
    return this;
  }
  tolerateAll(): this {
    return this.toleration({ operator: 'Exists' });
  }
  scheduler(name: string): this {
    this.schedulerName = name;
    return this;
  }
  image(image: string): this {
    this.imageName = image;
    return this;
  }
  /** Pre-binds the pod (spec.nodeName: bypasses the scheduler), e.g. to fill a node. */
  on(node: string): this {
    this.nodeName = node;
    return this;
  }

  build(): V1Pod {
    const spec: V1PodSpec = {
      schedulerName: this.schedulerName,
      // No kubelet confirms a graceful delete here: a bound pod with a grace period would stay Terminating.
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'main', image: this.imageName, resources: { requests: { ...this.requests }, limits: { ...this.limits } } }],
    };
    if (this.nodeName !== undefined) spec.nodeName = this.nodeName;
    if (this.selector) spec.nodeSelector = { ...this.selector };
    if (this.tolerations.length > 0) spec.tolerations = this.tolerations.map((t) => ({ ...t }));
    if (this.priorityValue !== undefined) spec.priority = this.priorityValue;
    if (this.claims.length > 0) spec.volumes = this.claims.map((c, i) => ({ name: `data-${i}`, persistentVolumeClaim: { claimName: c } }));
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        uid: this.uidValue,
        labels: { ...this.labels },
        annotations: { ...this.annotations },
        creationTimestamp: jsonTime(this.createdAt),
      },
      spec,
      status: { phase: 'Pending' },
    };
  }

  /** What a client creates: build() without uid, creationTimestamp and status. */
  manifest(): V1Pod {
    const { status: _status, ...pod } = this.build();
    const { uid: _uid, creationTimestamp: _created, ...metadata } = pod.metadata ?? {};
    return { ...pod, metadata };
  }
}

export const makePod = (name: string) => new PodBuilder(name);

// --- storage ---------------------------------------------------------------------------------------

export class PvcBuilder extends MetadataBuilder {
  private namespace = 'default';
  private sc = DEFAULT_LOCAL_STORAGE_CLASS;
  private volume: string | undefined;

  constructor(
    private readonly name: string,
    private size: string,
  ) {
    super();
  }

  ns(namespace: string): this {
    this.namespace = namespace;
    return this;
  }
  storage(q: string): this {
    this.size = q;
    return this;
  }
  storageClass(name: string): this {
    this.sc = name;
    return this;
  }
  /** volume.kubernetes.io/selected-node, as kube-scheduler sets it for a WaitForFirstConsumer claim. */
  selectedNode(node: string): this {
    return this.annotate(ANNOTATION_SELECTED_NODE, node);
  }
  /** spec.volumeName: the claim is bound (or pre-bound) to this PV. */
  volumeName(pv: string): this {
    this.volume = pv;
    return this;
  }

  build(): V1PersistentVolumeClaim {
    const labels = Object.keys(this.labels).length > 0 ? { labels: { ...this.labels } } : {};
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: this.name, namespace: this.namespace, uid: `pvc-uid-${this.name}`, annotations: { ...this.annotations }, ...labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: this.size } },
        storageClassName: this.sc,
        ...(this.volume !== undefined ? { volumeName: this.volume } : {}),
      },
    };
  }

  /** What a client creates: build() without the uid. */
  manifest(): V1PersistentVolumeClaim {
    const pvc = this.build();
    const { uid: _uid, ...metadata } = pvc.metadata ?? {};
    return { ...pvc, metadata };
  }
}

/** A claim of `storage` (default 1Gi) of the local-LVM StorageClass. */
export const makePvc = (name: string, storage = '1Gi') => new PvcBuilder(name, storage);

/** A local-LVM PV on `node`, as csi-local-plugin provisions it (optionally bound to a claim in default). */
export function makePv(name: string, storage: string, node: string, opts: { sc?: string; claim?: string; created?: string } = {}): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, creationTimestamp: jsonTime(opts.created ?? '2026-11-20T00:00:00Z') },
    spec: {
      capacity: { storage },
      storageClassName: opts.sc ?? DEFAULT_LOCAL_STORAGE_CLASS,
      accessModes: ['ReadWriteOnce'],
      ...(opts.claim ? { claimRef: { namespace: 'default', name: opts.claim } } : {}),
      csi: { driver: DEFAULT_LOCAL_PROVISIONER, volumeHandle: name },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: LABEL_HOSTNAME, operator: 'In', values: [node] }] }] } },
    },
  };
}

/** The StorageClass users deploy (manifests/base/node-resource-manager/storageclass.yaml): WaitForFirstConsumer, parameter vgName. */
export function makeLocalStorageClass(name = DEFAULT_LOCAL_STORAGE_CLASS, vgName = DEFAULT_VG_NAME): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: DEFAULT_LOCAL_PROVISIONER,
    parameters: { [STORAGE_CLASS_VG_PARAMETER]: vgName },
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
  };
}

/** A scheduler-plugins PodGroup (scheduling.x-k8s.io/v1alpha1), as training-operator creates one; uid and creationTimestamp as the API server sets them. */
export function makePodGroup(
  name: string,
  minMember: number,
  opts: { ns?: string; scheduleTimeoutSeconds?: number; minResources?: Record<string, string>; status?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const ns = opts.ns ?? 'default';
  return {
    apiVersion: `${PODGROUP_API.group}/${PODGROUP_API.version}`,
    kind: PODGROUP_API.kind,
    metadata: { name, namespace: ns, uid: `uid-pg-${ns}-${name}`, creationTimestamp: BUILT_AT, resourceVersion: '1' },
    spec: {
      minMember,
      ...(opts.scheduleTimeoutSeconds !== undefined ? { scheduleTimeoutSeconds: opts.scheduleTimeoutSeconds } : {}),
      ...(opts.minResources ? { minResources: { ...opts.minResources } } : {}),
    },
    ...(opts.status ? { status: { ...opts.status } } : {}),
  };
}
