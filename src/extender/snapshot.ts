// Snapshot mode: the cluster state read from a file holding a Kubernetes List (what
// `kubectl get nodes,pods,pvc,pv,storageclasses -A -o yaml` prints), or several YAML documents.
// Binds are recorded in memory, and a bind provisions the pod's local claims on its node (what
// VolumeBinding's PreBind and the provisioner do live), so a sequence of calls behaves as it would live.

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { claimKey, type PvModel } from '../core/model.js';
import type { ClusterState } from '../core/state.js';
import { toNode, toPod, toPodGroup, toPv, toPvc, toStorageClass } from './convert.js';
import type { Binder, Clock } from './ports.js';

export interface SnapshotLoad {
  counts: Record<string, number>;
  /** Objects of kinds the extender does not use, by kind. */
  ignored: Record<string, number>;
}

type Obj = Record<string, unknown>;

/** Flattens Lists (including List-of-Lists) and multi-document YAML into objects. */
export function snapshotObjects(text: string): Obj[] {
  const out: Obj[] = [];
  const visit = (o: unknown) => {
    if (typeof o !== 'object' || o === null) return;
    if (Array.isArray(o)) {
      for (const x of o) visit(x);
      return;
    }
    const obj = o as Obj;
    if (Array.isArray(obj.items) && (typeof obj.kind !== 'string' || obj.kind.endsWith('List'))) {
      visit(obj.items);
      return;
    }
    out.push(obj);
  };
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`snapshot is not valid YAML: ${doc.errors[0]?.message}`);
    visit(doc.toJS({ maxAliasCount: 100 }));
  }
  return out;
}

/** Loads objects into the state; returns what was loaded. */
export function loadSnapshotObjects(state: ClusterState, objects: Obj[]): SnapshotLoad {
  const counts: Record<string, number> = {};
  const ignored: Record<string, number> = {};
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  // StorageClasses first so claims resolve their VG on the first pass.
  const order = ['StorageClass', 'Node', 'PersistentVolume', 'PersistentVolumeClaim', 'Pod'];
  const sorted = [...objects].sort((a, b) => order.indexOf(String(a.kind)) - order.indexOf(String(b.kind)));
  for (const o of sorted) {
    const kind = String(o.kind ?? '');
    let ok = false;
    switch (kind) {
      case 'StorageClass': { const m = toStorageClass(o); if (m) { state.setStorageClass(m); ok = true; } break; }
      case 'Node': { const m = toNode(o); if (m) { state.setNode(m); ok = true; } break; }
      case 'PersistentVolume': { const m = toPv(o); if (m) { state.setPv(m); ok = true; } break; }
      case 'PersistentVolumeClaim': { const m = toPvc(o); if (m) { state.setPvc(m); ok = true; } break; }
      case 'Pod': { const m = toPod(o); if (m && !m.terminal) { state.setPod(m); ok = true; } break; }
      case 'PodGroup': { const m = toPodGroup(o); if (m) { state.setPodGroup(m); ok = true; } break; }
      default: break;
    }
    bump(ok ? counts : ignored, kind || '(no kind)');
  }
  return { counts, ignored };
}

export function loadSnapshotFile(state: ClusterState, path: string): SnapshotLoad {
  return loadSnapshotObjects(state, snapshotObjects(readFileSync(path, 'utf8')));
}

/** A volume provisionAtBind made: the claim, its VG on the pod's node, the bytes and the PV's name. */
export interface ProvisionedClaim {
  claim: string;
  node: string;
  vg: string;
  bytes: number;
  pv: string;
}

/** A PV name no other PV in the state has: the external-provisioner's pvc-<claim uid> when the claim has one. */
function freshPvName(state: ClusterState, namespace: string, name: string, uid: string): string {
  const base = uid ? `pvc-${uid}` : `pvc-${namespace}-${name}`;
  let pv = base;
  for (let i = 2; state.pvs.has(pv); i++) pv = `${base}-${i}`;
  return pv;
}

/**
 * What kube-scheduler's VolumeBinding PreBind and the provisioner do when a pod binds, for snapshot
 * mode and the what-if, which have neither (live, the watch brings both): every unbound local-LVM claim
 * of the pod gets a PV on the node's VG, sized as requested, and is bound to it, so it counts against
 * that VG from then on in both views of its free space. The PV is dated after the node's capacity
 * report (the report cannot have seen it). Claims of other classes are left as they are.
 */
export function provisionAtBind(state: ClusterState, podUid: string, nodeName: string, nowMs: number): ProvisionedClaim[] {
  const pod = state.pods.get(podUid);
  if (!pod) return [];
  const reportMs = state.nodes.get(nodeName)?.capacity?.updatedAtMs;
  const createdMs = reportMs !== null && reportMs !== undefined && Number.isFinite(reportMs) ? Math.max(nowMs, reportMs + 1) : nowMs;
  const made: ProvisionedClaim[] = [];
  for (const name of pod.claimNames) {
    const key = claimKey(pod.namespace, name);
    const pvc = state.pvcs.get(key);
    if (!pvc || pvc.volumeName) continue;
    const vg = state.localVgOf(pvc.storageClassName);
    if (vg === null) continue;
    const pv: PvModel = {
      name: freshPvName(state, pvc.namespace, pvc.name, pvc.uid), storageClassName: pvc.storageClassName, capacityBytes: pvc.requestBytes,
      nodeName, claimKey: key, creationMs: createdMs, vgName: vg,
    };
    state.setPv(pv);
    state.setPvc({ ...pvc, volumeName: pv.name, selectedNode: nodeName });
    made.push({ claim: key, node: nodeName, vg, bytes: pvc.requestBytes, pv: pv.name });
  }
  return made;
}

/**
 * In snapshot mode a bind records the placement (the service assumes the pod bound after this) and,
 * first, provisions the pod's local claims on the node, as PreBind and the provisioner would.
 */
export function snapshotBinder(state: ClusterState, clock: Clock): Binder {
  return {
    async bind(args) {
      const pod = state.podByKey(args.PodNamespace, args.PodName);
      if (pod && !pod.nodeName) provisionAtBind(state, pod.uid, args.Node, clock());
    },
  };
}

/**
 * The time a snapshot was taken, as far as it tells: its newest capacity report. Snapshot mode
 * measures report age against this, so an old dump is not all "stale"; null if no report has a time.
 */
export function snapshotTimeMs(state: ClusterState): number | null {
  let t: number | null = null;
  for (const n of state.nodes.values()) {
    const u = n.capacity?.updatedAtMs;
    if (u !== null && u !== undefined && !Number.isNaN(u) && (t === null || u > t)) t = u;
  }
  return t;
}

/** A clock that starts at the snapshot's time and runs with real time from there. */
export function snapshotClock(state: ClusterState, realNow: () => number = Date.now): () => number {
  const start = realNow();
  const base = snapshotTimeMs(state) ?? start;
  return () => base + (realNow() - start);
}
