// Pure conversions from Kubernetes JSON (as informers, snapshots and extender requests carry it)
// into the core's model. They never throw on odd input: a field that cannot be read is left out,
// and a node's capacity annotation that cannot be parsed is kept as a `problem` reason.

import type {
  NodeCapacity, NodeModel, NodeSelectorTerm, PodGroupModel, PodModel, PvcModel, PvModel, Resources, StorageClassModel, Taint, Toleration, VgCapacity,
} from '../core/model.js';
import { addResources } from '../core/fit.js';
import { parseQuantity } from '../core/quantity.js';
import { parseAlibabaTopology, parseCapacityReport } from '../wire/capacity.js';
import {
  ANNOTATION_ALIBABA_STORAGE_TOPOLOGY, ANNOTATION_DEFAULT_STORAGE_CLASS, ANNOTATION_DEFAULT_STORAGE_CLASS_BETA, ANNOTATION_SELECTED_NODE, ANNOTATION_SELECTED_NODE_BETA, ANNOTATION_VG_CAPACITY, DEFAULT_SCHEDULER_NAME, PODGROUP_API, RESOURCE_SCHEDULING_MARK, SCHEDULING_GATE_GANG, STORAGE_CLASS_VG_PARAMETER,
} from '../wire/keys.js';
import { arr, obj, str, strMap, type Obj } from './json.js';

function timeMs(v: unknown): number {
  const t = typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** Parses a ResourceList: cpu in millicores, the rest in base units; unparsable entries are dropped. */
export function resourceList(v: unknown): Resources {
  const out: Resources = {};
  for (const [name, q] of Object.entries(obj(v))) {
    const r = parseQuantity(q, name === 'cpu' ? 1000 : 1);
    if (r.kind === 'ok' && r.value > 0) out[name] = r.value;
  }
  return out;
}

/** Effective pod requests as kube-scheduler computes them: max(sum(containers), max(init)) + overhead. Limits stand in for missing requests of extended resources. */
export function podRequests(spec: Obj): Resources {
  const sum: Resources = {};
  for (const c of arr(spec.containers)) addResources(sum, containerRequests(obj(c)));
  for (const c of arr(spec.initContainers)) {
    const cc = obj(c);
    const r = containerRequests(cc);
    // Sidecars (restartPolicy Always) run alongside the app containers.
    if (cc.restartPolicy === 'Always') {
      addResources(sum, r);
      continue;
    }
    for (const [k, v] of Object.entries(r)) if (v > (sum[k] ?? 0)) sum[k] = v;
  }
  addResources(sum, resourceList(spec.overhead));
  // Our webhook's mark is a signal to kube-scheduler, not a resource: no node has it, nothing counts it.
  delete sum[RESOURCE_SCHEDULING_MARK];
  return sum;
}

/**
 * The claims a pod uses: persistentVolumeClaim volumes by their claimName, and generic ephemeral
 * volumes by the claim their controller creates, named <pod>-<volume> (KEP-1698).
 */
function podClaimNames(podName: string, volumes: unknown[]): string[] {
  const out: string[] = [];
  for (const v of volumes) {
    const vol = obj(v);
    const claim = str(obj(vol.persistentVolumeClaim).claimName);
    if (claim) out.push(claim);
    else if (vol.ephemeral !== undefined && vol.ephemeral !== null && str(vol.name)) out.push(`${podName}-${str(vol.name)}`);
  }
  return out;
}

function containerRequests(c: Obj): Resources {
  const res = obj(c.resources);
  const requests = resourceList(res.requests);
  const limits = resourceList(res.limits);
  // Kubernetes defaults a missing request to the limit (for every resource; extended resources must be equal).
  for (const [k, v] of Object.entries(limits)) if (requests[k] === undefined) requests[k] = v;
  return requests;
}

function selectorTerms(v: unknown): NodeSelectorTerm[] {
  return arr(v).map((t) => {
    const term = obj(t);
    const reqs = arr(term.matchExpressions).map((e) => {
      const x = obj(e);
      return { key: str(x.key), operator: str(x.operator), values: arr(x.values).map(str) };
    });
    for (const f of arr(term.matchFields)) {
      const x = obj(f);
      if (str(x.key) === 'metadata.name') reqs.push({ key: 'metadata.name', operator: str(x.operator), values: arr(x.values).map(str) });
    }
    return reqs;
  });
}

export function toPod(raw: unknown): PodModel | null {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const name = str(meta.name);
  if (!name) return null;
  const required = obj(obj(obj(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution);
  const terms = required.nodeSelectorTerms ? selectorTerms(required.nodeSelectorTerms) : null;
  const phase = str(status.phase);
  const gates = gateNames(spec);
  return {
    uid: str(meta.uid) || `${str(meta.namespace) || 'default'}/${name}`,
    namespace: str(meta.namespace) || 'default',
    name,
    nodeName: str(spec.nodeName),
    schedulerName: str(spec.schedulerName) || DEFAULT_SCHEDULER_NAME,
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    creationMs: timeMs(meta.creationTimestamp),
    labels: strMap(meta.labels),
    annotations: strMap(meta.annotations),
    requests: podRequests(spec),
    nodeSelector: strMap(spec.nodeSelector),
    affinityTerms: terms,
    tolerations: arr(spec.tolerations).map((t): Toleration => {
      const x = obj(t);
      return { key: str(x.key), operator: x.operator === 'Exists' ? 'Exists' : 'Equal', value: str(x.value), effect: str(x.effect) };
    }),
    claimNames: podClaimNames(name, arr(spec.volumes)),
    terminal: phase === 'Succeeded' || phase === 'Failed',
    deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    gated: gates.some((g) => g !== SCHEDULING_GATE_GANG),
    quorumGated: gates.includes(SCHEDULING_GATE_GANG),
    unschedulableMessage: unschedulableMessage(status),
    ...(phase ? { phase } : {}),
  };
}

function gateNames(spec: Record<string, unknown>): string[] {
  return arr(spec.schedulingGates).map((g) => str(obj(g).name));
}

/** The message of a PodScheduled=False condition (kube-scheduler's last refusal), or ''; a gated pod was not refused. */
function unschedulableMessage(status: Record<string, unknown>): string {
  for (const c of arr(status.conditions)) {
    const x = obj(c);
    if (x.type === 'PodScheduled' && x.status === 'False' && x.reason !== 'SchedulingGated') return str(x.message) || str(x.reason) || 'unschedulable';
  }
  return '';
}

/** Capacity from our agent's report, else from Alibaba's csi-local-plugin annotation, else null. */
export function nodeCapacity(annotations: Record<string, string>): NodeCapacity | null {
  const ours = annotations[ANNOTATION_VG_CAPACITY];
  if (ours !== undefined) {
    const p = parseCapacityReport(ours);
    if (p.kind === 'invalid') return { source: 'agent', updatedAtMs: null, vgs: new Map(), problem: p.reason };
    const vgs = new Map<string, VgCapacity>();
    for (const vg of p.report.vgs) vgs.set(vg.name, { name: vg.name, sizeBytes: vg.sizeBytes, reportedFreeBytes: vg.freeBytes });
    return { source: 'agent', updatedAtMs: Date.parse(p.report.updatedAt), vgs, problem: null };
  }
  const ali = annotations[ANNOTATION_ALIBABA_STORAGE_TOPOLOGY];
  if (ali !== undefined) {
    const p = parseAlibabaTopology(ali);
    if (p.kind === 'invalid') return { source: 'alibaba-annotation', updatedAtMs: null, vgs: new Map(), problem: p.reason };
    const vgs = new Map<string, VgCapacity>();
    for (const vg of p.vgs) vgs.set(vg.name, { name: vg.name, sizeBytes: vg.sizeBytes, reportedFreeBytes: null });
    return { source: 'alibaba-annotation', updatedAtMs: null, vgs, problem: null };
  }
  return null;
}

export function toNode(raw: unknown): NodeModel | null {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const name = str(meta.name);
  if (!name) return null;
  return {
    name,
    labels: strMap(meta.labels),
    taints: arr(spec.taints).map((t): Taint => {
      const x = obj(t);
      return { key: str(x.key), value: str(x.value), effect: str(x.effect) };
    }),
    allocatable: resourceList(status.allocatable ?? status.capacity),
    unschedulable: spec.unschedulable === true,
    capacity: nodeCapacity(strMap(meta.annotations)),
  };
}

export function toPvc(raw: unknown): PvcModel | null {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const name = str(meta.name);
  if (!name) return null;
  const ann = strMap(meta.annotations);
  const req = parseQuantity(obj(obj(spec.resources).requests).storage ?? '0');
  return {
    namespace: str(meta.namespace) || 'default',
    name,
    uid: str(meta.uid),
    storageClassName: str(spec.storageClassName) || ann['volume.beta.kubernetes.io/storage-class'] || '',
    requestBytes: req.kind === 'ok' ? Math.max(0, req.value) : 0,
    volumeName: str(spec.volumeName),
    selectedNode: ann[ANNOTATION_SELECTED_NODE] ?? ann[ANNOTATION_SELECTED_NODE_BETA] ?? '',
  };
}

/** The node a local PV is pinned to: the single value of a hostname-like `In` requirement. */
function pvNode(spec: Obj): string {
  for (const term of selectorTerms(obj(obj(spec.nodeAffinity).required).nodeSelectorTerms)) {
    for (const r of term) {
      if (r.operator === 'In' && r.values.length === 1 && (r.key.endsWith('hostname') || r.key === 'metadata.name' || r.key.endsWith('/node'))) {
        return r.values[0] as string;
      }
    }
  }
  return '';
}

export function toPv(raw: unknown): PvModel | null {
  const o = obj(raw);
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const name = str(meta.name);
  if (!name) return null;
  const cap = parseQuantity(obj(spec.capacity).storage ?? '0');
  const claim = obj(spec.claimRef);
  const attrs = strMap(obj(spec.csi).volumeAttributes);
  return {
    name,
    storageClassName: str(spec.storageClassName),
    capacityBytes: cap.kind === 'ok' ? Math.max(0, cap.value) : 0,
    nodeName: pvNode(spec),
    claimKey: str(claim.name) ? `${str(claim.namespace) || 'default'}/${str(claim.name)}` : '',
    creationMs: timeMs(meta.creationTimestamp),
    vgName: attrs[STORAGE_CLASS_VG_PARAMETER] ?? attrs.vgName ?? '',
  };
}

/** As the DefaultStorageClass admission plugin reads it (k8s.io/component-helpers storage/util): "true" in either annotation. */
function isDefaultClass(annotations: Record<string, string>): boolean {
  return annotations[ANNOTATION_DEFAULT_STORAGE_CLASS] === 'true' || annotations[ANNOTATION_DEFAULT_STORAGE_CLASS_BETA] === 'true';
}

export function toStorageClass(raw: unknown): StorageClassModel | null {
  const o = obj(raw);
  const name = str(obj(o.metadata).name);
  if (!name) return null;
  return {
    name,
    provisioner: str(o.provisioner),
    vgName: strMap(o.parameters)[STORAGE_CLASS_VG_PARAMETER] ?? '',
    waitForFirstConsumer: o.volumeBindingMode === 'WaitForFirstConsumer',
    isDefault: isDefaultClass(strMap(obj(o.metadata).annotations)),
    creationMs: timeMs(obj(o.metadata).creationTimestamp),
  };
}

/** A scheduler-plugins PodGroup (scheduling.x-k8s.io/v1alpha1); null for another kind or one without a name. */
export function toPodGroup(raw: unknown): PodGroupModel | null {
  const o = obj(raw);
  if (o.kind !== undefined && o.kind !== PODGROUP_API.kind) return null;
  const meta = obj(o.metadata);
  const spec = obj(o.spec);
  const name = str(meta.name);
  if (!name) return null;
  const whole = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);
  return {
    namespace: str(meta.namespace) || 'default',
    name,
    uid: str(meta.uid),
    minMember: whole(spec.minMember) ?? 0,
    scheduleTimeoutSeconds: whole(spec.scheduleTimeoutSeconds),
    minResources: resourceList(spec.minResources),
    creationMs: timeMs(meta.creationTimestamp),
  };
}

export type Kind = 'Node' | 'Pod' | 'PersistentVolumeClaim' | 'PersistentVolume' | 'StorageClass' | 'PodGroup';
