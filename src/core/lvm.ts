// Local-LVM capacity: what a pod's unbound csi-local-lvm claims need per VolumeGroup, whether a
// node's VG has room (seed 002, 8.3), and how to score it.
//
// Free space is taken as the smaller of two views, so neither a lagging report nor a drifting
// ledger can over-commit a VG (lvm-anchors.md 8.1):
//   ledger view:  size - (provisioned PVs + selected-but-unprovisioned claims + our reservations)
//   report view:  reported free - (PVs provisioned since the report + selected + reserved)

import type { CoreConfig } from './config.js';
import { claimKey, type NodeModel, type PodModel } from './model.js';
import { formatBytes } from './quantity.js';
import type { ClusterState } from './state.js';
import { MAX_EXTENDER_PRIORITY, MIN_EXTENDER_PRIORITY } from '../wire/extender.js';

export interface VolumeNeed {
  vg: string;
  bytes: number;
  /** Claim keys ("ns/name") that make up this need and have no node yet. */
  claims: string[];
}

export type PodVolumes =
  | { kind: 'none' }
  | { kind: 'needs'; needs: VolumeNeed[]; ownClaims: ReadonlySet<string> }
  | { kind: 'blocked'; reason: string };

const NONE: PodVolumes = Object.freeze({ kind: 'none' });

/** Sums the pod's unbound local-LVM claims per VG; never adds two VGs together. */
export function podVolumeNeeds(state: ClusterState, pod: PodModel): PodVolumes {
  if (pod.claimNames.length === 0) return NONE;
  const byVg = new Map<string, VolumeNeed>();
  const own = new Set<string>();
  for (const name of pod.claimNames) {
    const key = claimKey(pod.namespace, name);
    const pvc = state.pvcs.get(key);
    if (!pvc) return { kind: 'blocked', reason: `PersistentVolumeClaim ${key} is not in the extender's cache yet` };
    const vg = state.localVgOf(pvc.storageClassName);
    if (vg === null || pvc.volumeName) continue; // not ours, or already provisioned: its PV pins the node
    own.add(key);
    let need = byVg.get(vg);
    if (!need) {
      need = { vg, bytes: 0, claims: [] };
      byVg.set(vg, need);
    }
    need.bytes += pvc.requestBytes;
    need.claims.push(key);
  }
  if (byVg.size === 0) return NONE;
  const needs = [...byVg.values()].sort((a, b) => (a.vg < b.vg ? -1 : a.vg > b.vg ? 1 : 0));
  return { kind: 'needs', needs, ownClaims: own };
}

export type VgVerdict =
  | { kind: 'fits'; vgs: { vg: string; sizeBytes: number; freeAfterBytes: number }[] }
  | {
    kind: 'rejected'; reason: string; unresolvable: boolean;
    /** The reason without this node's own numbers, so many nodes' refusals read alike (kube-scheduler counts alike reasons once). */
    summary?: string;
    /** Not enough room in one VG: the pod's need and what this node has, for a summary over all nodes. */
    gap?: { vg: string; cause: 'free' | 'size'; requestedBytes: number; haveBytes: number };
  };

/** Free bytes of one VG on one node as the extender sees them now, leaving out the pod's own claims. */
export function vgFreeBytes(state: ClusterState, node: NodeModel, vg: string, nowMs: number, ownClaims: ReadonlySet<string>): { sizeBytes: number; freeBytes: number } | null {
  const cap = node.capacity?.vgs.get(vg);
  if (!cap || !node.capacity) return null;
  const u = state.vgUsage(node.name, vg, node.capacity.updatedAtMs, nowMs, ownClaims);
  const pending = u.selectedBytes + u.reservedBytes;
  let free = cap.sizeBytes - (u.provisionedBytes + pending);
  if (cap.reportedFreeBytes !== null) free = Math.min(free, cap.reportedFreeBytes - (u.provisionedSinceBytes + pending));
  return { sizeBytes: cap.sizeBytes, freeBytes: Math.max(0, free) };
}

function nodeStorageProblem(config: CoreConfig, node: NodeModel, nowMs: number): { reason: string; unresolvable: boolean; summary?: string } | null {
  const l = config.localStorageNodeLabel;
  if (l && node.labels[l.key] !== l.value) {
    return { reason: `not a local-storage node (label ${l.key}=${l.value} is missing)`, unresolvable: true };
  }
  const c = node.capacity;
  if (!c) return { reason: 'no capacity report from node-resource-manager on this node', unresolvable: true };
  if (c.problem) return { reason: `capacity report unusable: ${c.problem}`, unresolvable: false, summary: 'capacity report unusable' };
  if (c.updatedAtMs !== null && nowMs - c.updatedAtMs > config.capacityStaleAfterMs) {
    return { reason: `capacity report is stale (last updated ${Math.round((nowMs - c.updatedAtMs) / 1000)}s ago)`, unresolvable: false, summary: 'capacity report is stale' };
  }
  return null;
}

/** A node fits only if every VG the pod needs exists there with room for that VG's sum. */
export function vgVerdict(state: ClusterState, node: NodeModel, volumes: Extract<PodVolumes, { kind: 'needs' }>, nowMs: number): VgVerdict {
  const problem = nodeStorageProblem(state.config, node, nowMs);
  if (problem) return { kind: 'rejected', ...problem };
  const out: { vg: string; sizeBytes: number; freeAfterBytes: number }[] = [];
  for (const need of volumes.needs) {
    const f = vgFreeBytes(state, node, need.vg, nowMs, volumes.ownClaims);
    if (!f) {
      const have = [...(node.capacity?.vgs.keys() ?? [])];
      return { kind: 'rejected', reason: `VolumeGroup ${need.vg} not found on node${have.length ? ` (has ${have.join(', ')})` : ''}`, unresolvable: true, summary: `VolumeGroup ${need.vg} not found on node` };
    }
    if (need.bytes > f.sizeBytes) {
      return { kind: 'rejected', reason: `${need.vg}: requested ${formatBytes(need.bytes)}, VG size ${formatBytes(f.sizeBytes)}`, unresolvable: true, gap: { vg: need.vg, cause: 'size', requestedBytes: need.bytes, haveBytes: f.sizeBytes } };
    }
    if (need.bytes > f.freeBytes) {
      return { kind: 'rejected', reason: `${need.vg}: requested ${formatBytes(need.bytes)}, free ${formatBytes(f.freeBytes)}`, unresolvable: false, gap: { vg: need.vg, cause: 'free', requestedBytes: need.bytes, haveBytes: f.freeBytes } };
    }
    out.push({ vg: need.vg, sizeBytes: f.sizeBytes, freeAfterBytes: f.freeBytes - need.bytes });
  }
  return { kind: 'fits', vgs: out };
}

/** Integer 0..10 (the extender protocol's range): binpack favours the fullest VG after placement, spread the emptiest; min over the pod's VGs. */
export function vgScore(strategy: CoreConfig['scoring'], vgs: { sizeBytes: number; freeAfterBytes: number }[]): number {
  const max = MAX_EXTENDER_PRIORITY;
  let score = max;
  for (const v of vgs) {
    const freeRatio = v.sizeBytes > 0 ? v.freeAfterBytes / v.sizeBytes : 0;
    const s = strategy === 'binpack' ? Math.floor(max * (1 - freeRatio)) : Math.floor(max * freeRatio);
    score = Math.min(score, s);
  }
  return Math.max(MIN_EXTENDER_PRIORITY, Math.min(max, score));
}

/** Reserves on `node` each of the pod's claims that has no selected node yet, for `owner`; returns the claim keys. */
export function reserveUnselectedClaims(state: ClusterState, owner: string, volumes: Extract<PodVolumes, { kind: 'needs' }>, node: string, expiresAtMs: number): string[] {
  const reserved: string[] = [];
  for (const need of volumes.needs) {
    for (const claim of need.claims) {
      const pvc = state.pvcs.get(claim);
      if (!pvc || pvc.selectedNode) continue;
      state.reserve(claim, owner, node, need.vg, pvc.requestBytes, expiresAtMs);
      reserved.push(claim);
    }
  }
  return reserved;
}
