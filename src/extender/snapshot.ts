// Snapshot mode: the cluster state read from a file holding a Kubernetes List (what
// `kubectl get nodes,pods,pvc,pv,storageclasses -A -o yaml` prints), or several YAML documents.
// Binds are recorded in memory, so a sequence of calls behaves as it would live.

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { ClusterState } from '../core/state.js';
import { toNode, toPod, toPv, toPvc, toStorageClass } from './convert.js';
import type { Binder } from './ports.js';

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
      default: break;
    }
    bump(ok ? counts : ignored, kind || '(no kind)');
  }
  return { counts, ignored };
}

export function loadSnapshotFile(state: ClusterState, path: string): SnapshotLoad {
  return loadSnapshotObjects(state, snapshotObjects(readFileSync(path, 'utf8')));
}

/** In snapshot mode a bind only records the placement (the server's bind handler assumes it). */
export const snapshotBinder: Binder = {
  async bind() {
    /* nothing to call: the state records the binding */
  },
};

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
