// Builders and helpers for end-to-end tests against the local control plane. Nodes are created
// with status (capacity, allocatable, Ready), exactly as upstream scheduler_perf does: nothing
// heartbeats them and no controller taints them (see controlplane.ts admission flags).

import {
  ApiException,
  type CoreV1Api,
  type StorageV1Api,
  type V1Node,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
  type V1Taint,
  type V1Toleration,
} from '@kubernetes/client-node';
import { CAPACITY_REPORT_VERSION, type CapacityReport, type VolumeGroupReport } from '../wire/capacity.js';
import {
  ANNOTATION_VG_CAPACITY,
  DEFAULT_LOCAL_PROVISIONER,
  DEFAULT_LOCAL_STORAGE_CLASS,
  DEFAULT_VG_NAME,
  LABEL_POD_GROUP_MIN_AVAILABLE,
  LABEL_POD_GROUP_NAME,
  RESOURCE_GPU,
  STORAGE_CLASS_VG_PARAMETER,
} from '../wire/keys.js';

export const GiB = 1024 ** 3;
const LABEL_HOSTNAME = 'kubernetes.io/hostname';
const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

export const isNotFound = (err: unknown) => err instanceof ApiException && err.code === 404;
export const isConflict = (err: unknown) => err instanceof ApiException && err.code === 409;

// --- capacity reports -----------------------------------------------------------------------------

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

// --- nodes -------------------------------------------------------------------------------------------

export class NodeBuilder {
  private readonly capacity: Record<string, string> = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  private readonly labels: Record<string, string>;
  private readonly annotations: Record<string, string> = {};
  private readonly taints: V1Taint[] = [];
  private ready = true;
  private isUnschedulable = false;

  constructor(private readonly name: string) {
    this.labels = { [LABEL_HOSTNAME]: name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
  }

  cpu(q: string | number): this {
    this.capacity.cpu = String(q);
    return this;
  }
  memory(q: string): this {
    this.capacity.memory = q;
    return this;
  }
  pods(n: number): this {
    this.capacity.pods = String(n);
    return this;
  }
  gpu(n: number): this {
    return this.resource(RESOURCE_GPU, String(n));
  }
  resource(name: string, q: string): this {
    this.capacity[name] = q;
    return this;
  }
  label(key: string, value: string): this {
    this.labels[key] = value;
    return this;
  }
  annotation(key: string, value: string): this {
    this.annotations[key] = value;
    return this;
  }
  /** Sets the edge-gang.io/vg-capacity annotation (a report, or VG sizes for makeCapacityReport). */
  capacityReport(report: CapacityReport | { name?: string; sizeBytes: number; freeBytes?: number }[]): this {
    const r = Array.isArray(report) ? makeCapacityReport(this.name, report) : report;
    return this.annotation(ANNOTATION_VG_CAPACITY, JSON.stringify(r));
  }
  taint(key: string, value: string | undefined, effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'): this {
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
    const now = new Date();
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.name, labels: { ...this.labels }, annotations: { ...this.annotations } },
      spec: { taints: this.taints.length > 0 ? [...this.taints] : undefined, unschedulable: this.isUnschedulable || undefined },
      status: {
        capacity: { ...this.capacity },
        allocatable: { ...this.capacity },
        conditions: [
          {
            type: 'Ready',
            status: this.ready ? 'True' : 'False',
            reason: this.ready ? 'KubeletReady' : 'KubeletNotReady',
            message: 'created by the e2e harness',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [{ type: 'Hostname', address: this.name }],
        nodeInfo: {
          architecture: 'amd64',
          bootID: '',
          containerRuntimeVersion: 'fake://0',
          kernelVersion: '',
          kubeProxyVersion: '',
          kubeletVersion: 'v1.35.4',
          machineID: '',
          operatingSystem: 'linux',
          osImage: 'harness',
          systemUUID: '',
        },
      },
    };
  }
}

export const makeNode = (name: string) => new NodeBuilder(name);

/** Runs `fn` over `items` with at most `concurrency` in flight; results keep input order. */
export async function inBatches<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Creates Nodes (status included: a create keeps it) with `concurrency` requests in flight. */
export async function createNodes(core: CoreV1Api, nodes: (V1Node | NodeBuilder)[], concurrency = 50): Promise<V1Node[]> {
  return inBatches(nodes, concurrency, (n) => core.createNode({ body: n instanceof NodeBuilder ? n.build() : n }));
}

// --- pods ----------------------------------------------------------------------------------------------

export class PodBuilder {
  private namespace = 'default';
  private readonly requests: Record<string, string> = {};
  private readonly labels: Record<string, string> = {};
  private readonly annotations: Record<string, string> = {};
  private readonly claims: string[] = [];
  private readonly tolerations: V1Toleration[] = [];
  private selector: Record<string, string> | undefined;
  private scheduler: string | undefined;
  private imageName = PAUSE_IMAGE;
  private nodeName: string | undefined;

  constructor(private readonly name: string) {}

  ns(namespace: string): this {
    this.namespace = namespace;
    return this;
  }
  cpu(q: string): this {
    return this.request('cpu', q);
  }
  memory(q: string): this {
    return this.request('memory', q);
  }
  gpu(n: number): this {
    return this.request(RESOURCE_GPU, String(n));
  }
  /** Requests (and, for extended resources, limits: they must be equal) a resource. */
  request(name: string, q: string): this {
    this.requests[name] = q;
    return this;
  }
  /** Pod-group labels (scheduler-plugins lightweight form): group name and min-available. */
  group(name: string, minAvailable: number): this {
    this.labels[LABEL_POD_GROUP_NAME] = name;
    this.labels[LABEL_POD_GROUP_MIN_AVAILABLE] = String(minAvailable);
    return this;
  }
  /** Mounts an existing PVC. */
  pvc(claimName: string): this {
    this.claims.push(claimName);
    return this;
  }
  label(key: string, value: string): this {
    this.labels[key] = value;
    return this;
  }
  annotation(key: string, value: string): this {
    this.annotations[key] = value;
    return this;
  }
  nodeSelector(selector: Record<string, string>): this {
    this.selector = { ...(this.selector ?? {}), ...selector };
    return this;
  }
  toleration(t: V1Toleration): this {
    this.tolerations.push(t);
    return this;
  }
  schedulerName(name: string): this {
    this.scheduler = name;
    return this;
  }
  image(image: string): this {
    this.imageName = image;
    return this;
  }
  /** Pre-binds the pod (bypasses the scheduler), e.g. to fill a node. */
  onNode(node: string): this {
    this.nodeName = node;
    return this;
  }

  build(): V1Pod {
    const limits = Object.fromEntries(Object.entries(this.requests).filter(([k]) => k.includes('/')));
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: this.name, namespace: this.namespace, labels: { ...this.labels }, annotations: { ...this.annotations } },
      spec: {
        schedulerName: this.scheduler,
        nodeName: this.nodeName,
        nodeSelector: this.selector,
        tolerations: this.tolerations.length > 0 ? [...this.tolerations] : undefined,
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'main',
            image: this.imageName,
            resources: { requests: { ...this.requests }, limits: Object.keys(limits).length > 0 ? limits : undefined },
            volumeMounts: this.claims.map((_c, i) => ({ name: `data-${i}`, mountPath: `/data/${i}` })),
          },
        ],
        volumes: this.claims.map((c, i) => ({ name: `data-${i}`, persistentVolumeClaim: { claimName: c } })),
      },
    };
  }
}

export const makePod = (name: string) => new PodBuilder(name);

export async function createPods(core: CoreV1Api, pods: (V1Pod | PodBuilder)[], concurrency = 50): Promise<V1Pod[]> {
  return inBatches(pods, concurrency, (p) => {
    const body = p instanceof PodBuilder ? p.build() : p;
    return core.createNamespacedPod({ namespace: body.metadata?.namespace ?? 'default', body });
  });
}

export async function listPods(core: CoreV1Api, namespace = 'default', labelSelector?: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector })).items;
}

/**
 * Deletes pods with gracePeriodSeconds 0: with no kubelet a graceful delete of a bound pod stays
 * Terminating forever. Waits until they are gone.
 */
export async function forceDeletePods(core: CoreV1Api, namespace = 'default', labelSelector?: string, timeoutMs = 30_000): Promise<void> {
  const pods = await listPods(core, namespace, labelSelector);
  await inBatches(pods, 50, async (p) => {
    try {
      await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  await waitFor(async () => (await listPods(core, namespace, labelSelector)).length === 0, timeoutMs, `pods ${labelSelector ?? '(all)'} in ${namespace} deleted`);
}

// --- storage ---------------------------------------------------------------------------------------------

/** The StorageClass users deploy: csi-local-lvm, WaitForFirstConsumer, parameter vgName. */
export function makeLocalLvmStorageClass(name = DEFAULT_LOCAL_STORAGE_CLASS, vgName = DEFAULT_VG_NAME): V1StorageClass {
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

/** Creates the StorageClass; an existing one with the same name is kept. */
export async function ensureStorageClass(storage: StorageV1Api, sc: V1StorageClass = makeLocalLvmStorageClass()): Promise<void> {
  try {
    await storage.createStorageClass({ body: sc });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

export class PvcBuilder {
  private namespace = 'default';
  private size = '1Gi';
  private sc = DEFAULT_LOCAL_STORAGE_CLASS;
  private readonly annotations: Record<string, string> = {};
  private readonly labels: Record<string, string> = {};

  constructor(private readonly name: string) {}

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
  annotation(key: string, value: string): this {
    this.annotations[key] = value;
    return this;
  }
  label(key: string, value: string): this {
    this.labels[key] = value;
    return this;
  }
  build(): V1PersistentVolumeClaim {
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: this.name, namespace: this.namespace, annotations: { ...this.annotations }, labels: { ...this.labels } },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: this.sc, resources: { requests: { storage: this.size } } },
    };
  }
}

export const makePvc = (name: string) => new PvcBuilder(name);

export async function createPvc(core: CoreV1Api, pvc: V1PersistentVolumeClaim | PvcBuilder): Promise<V1PersistentVolumeClaim> {
  const body = pvc instanceof PvcBuilder ? pvc.build() : pvc;
  return core.createNamespacedPersistentVolumeClaim({ namespace: body.metadata?.namespace ?? 'default', body });
}

// --- waiting ------------------------------------------------------------------------------------------------

/**
 * Polls `predicate` until it returns a truthy value (returned) or `timeoutMs` passes. Errors thrown
 * by the predicate count as "not yet"; the last one is included in the timeout error.
 */
export async function waitFor<T>(
  predicate: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs: number,
  description = 'condition',
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
