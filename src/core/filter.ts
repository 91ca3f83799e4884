// filter and prioritize decisions for one pod over the nodes the scheduler sent.
// Every input node ends in exactly one of: passed, failed (may fit later), unresolvable (never for
// this pod as it is: the scheduler does not preempt for those).

import type { PodModel } from './model.js';
import { resourceVerdict } from './fit.js';
import { podVolumeNeeds, reserveUnselectedClaims, vgScore, vgVerdict, type PodVolumes, type VgVerdict } from './lvm.js';
import { formatBytes } from './quantity.js';
import type { ClusterState } from './state.js';
import type { FilterOutcome, GangEngine, NodeLookup, Score } from './outcome.js';

export type { DecisionKind, FilterOutcome, NodeLookup, Score } from './outcome.js';

interface Candidate {
  name: string;
  /** Smaller is preferred; exact (not rounded) so the best node is unique up to the name. */
  rank: number;
}

function rankOf(strategy: 'binpack' | 'spread', vgs: { sizeBytes: number; freeAfterBytes: number }[]): number {
  let freeRatio = 1;
  for (const v of vgs) freeRatio = Math.min(freeRatio, v.sizeBytes > 0 ? v.freeAfterBytes / v.sizeBytes : 0);
  return strategy === 'binpack' ? freeRatio : -freeRatio;
}

function uniqueNames(names: readonly string[]): string[] {
  return names.length < 2 ? [...names] : [...new Set(names)];
}

/** Splits `nodeNames` exactly into passed / failed / unresolvable; plain pods pass untouched. */
export function filterPod(state: ClusterState, pod: PodModel, nodeNames: readonly string[], nowMs: number, lookup: NodeLookup, gang?: GangEngine): FilterOutcome {
  if (gang) {
    // The gang paths build maps keyed by name, so repeated names cost nothing there.
    const g = gang.filter(pod, nodeNames as string[], nowMs, lookup);
    if (g) return g;
  }
  const volumes = podVolumeNeeds(state, pod);
  const holds = state.nodesWithHolds();
  // The hot path: the input comes back as it is (kube-scheduler never repeats a name; if a caller
  // did, every copy is passed, which keeps the split exact).
  if (volumes.kind === 'none' && holds.size === 0) return { kind: 'plain', passed: nodeNames as string[], failed: {}, unresolvable: {} };
  let names = uniqueNames(nodeNames);
  const failed: Record<string, string> = {};
  if (holds.size > 0) names = withoutHeldNodes(state, pod, names, failed);
  if (volumes.kind === 'none') return { kind: 'plain', passed: names, failed, unresolvable: {} };
  if (volumes.kind === 'blocked') {
    for (const n of names) failed[n] = volumes.reason;
    return { kind: 'blocked', passed: [], failed, unresolvable: {} };
  }
  const out = filterLocalVolumes(state, pod, volumes, names, nowMs, lookup);
  Object.assign(out.failed, failed);
  if (out.compact) for (const n of Object.keys(failed)) out.compact.failed[n] = 'held for a gang plan';
  return out;
}

/** Nodes where resources held for gang plans leave no room for this pod go to `failed`; the rest are returned. */
function withoutHeldNodes(state: ClusterState, pod: PodModel, names: string[], failed: Record<string, string>): string[] {
  const holds = state.nodesWithHolds();
  const keep: string[] = [];
  for (const n of names) {
    if (!holds.has(n)) {
      keep.push(n);
      continue;
    }
    const node = state.nodes.get(n);
    if (!node) {
      keep.push(n);
      continue;
    }
    const v = resourceVerdict(pod.requests, node.allocatable, state.committedOn(n, pod.uid));
    if (v.kind === 'fits') keep.push(n);
    else failed[n] = `held for a gang plan: ${v.reason}`;
  }
  return keep;
}

function filterLocalVolumes(
  state: ClusterState,
  pod: PodModel,
  volumes: Extract<PodVolumes, { kind: 'needs' }>,
  names: string[],
  nowMs: number,
  lookup: NodeLookup,
): FilterOutcome {
  const failed: Record<string, string> = {};
  const unresolvable: Record<string, string> = {};
  const fits: Candidate[] = [];
  const rejected: { name: string; v: Extract<VgVerdict, { kind: 'rejected' }> }[] = [];
  const strategy = state.config.scoring;
  for (const name of names) {
    const node = lookup(name);
    if (!node) {
      failed[name] = 'node is not in the extender cache yet';
      continue;
    }
    const v = vgVerdict(state, node, volumes, nowMs);
    if (v.kind === 'fits') fits.push({ name, rank: rankOf(strategy, v.vgs) });
    else {
      rejected.push({ name, v });
      if (v.unresolvable) unresolvable[name] = `local-lvm: ${v.reason}`;
      else failed[name] = `local-lvm: ${v.reason}`;
    }
  }
  if (fits.length === 0) {
    // A handful of nodes keep their own reasons (the message stays short); more get the summary.
    const compact = names.length > COMPACT_ABOVE_NODES ? compactRefusals(failed, rejected) : undefined;
    return { kind: 'local-lvm', passed: [], failed, unresolvable, ...(compact ? { compact } : {}) };
  }
  if (state.config.lvmSteering === 'all-fitting') return { kind: 'local-lvm', passed: fits.map((c) => c.name), failed, unresolvable };
  fits.sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const best = fits[0] as Candidate;
  reserveVolumes(state, pod, volumes, best.name, nowMs);
  for (let i = 1; i < fits.length; i++) {
    failed[(fits[i] as Candidate).name] = `local-lvm: has room; volumes reserved on ${best.name} (${strategy})`;
  }
  return { kind: 'local-lvm', passed: [best.name], failed, unresolvable };
}

/** Up to this many refused nodes, each keeps its own reason on the wire (at most ~1 KiB of message). */
const COMPACT_ABOVE_NODES = 10;

/** Refusals without each node's own numbers: one reason per VG and cause, with the most any node has. */
function compactRefusals(failed: Record<string, string>, rejected: { name: string; v: Extract<VgVerdict, { kind: 'rejected' }> }[]): NonNullable<FilterOutcome['compact']> {
  const most = new Map<string, { bytes: number; nodes: number }>();
  for (const { v } of rejected) {
    if (!v.gap) continue;
    const k = `${v.gap.vg}|${v.gap.cause}`;
    const m = most.get(k);
    most.set(k, { bytes: Math.max(m?.bytes ?? 0, v.gap.haveBytes), nodes: (m?.nodes ?? 0) + 1 });
  }
  const out: NonNullable<FilterOutcome['compact']> = { failed: {}, unresolvable: {} };
  // Nodes refused before the volumes were looked at (not in the cache, held for a gang) keep their reason, without numbers.
  for (const [n, r] of Object.entries(failed)) out.failed[n] = r.startsWith('held for a gang plan') ? 'held for a gang plan' : r;
  for (const { name, v } of rejected) {
    const g = v.gap;
    const m = g ? most.get(`${g.vg}|${g.cause}`) : undefined;
    // One node with that gap: its own reason says it; several: the need and the most any of them has.
    const text = !g || !m || m.nodes === 1
      ? `local-lvm: ${g ? v.reason : v.summary ?? v.reason}`
      : `local-lvm: ${g.vg}: requested ${formatBytes(g.requestedBytes)}, ${g.cause === 'free' ? 'the most free on a node' : 'the largest VG'} ${formatBytes(m.bytes)}`;
    (v.unresolvable ? out.unresolvable : out.failed)[name] = text;
  }
  return out;
}

/** Holds the pod's unplaced claims on `node` so that pods filtered next see the space as taken. */
export function reserveVolumes(state: ClusterState, pod: PodModel, volumes: Extract<PodVolumes, { kind: 'needs' }>, node: string, nowMs: number): void {
  state.releaseReservationsOf(pod.uid);
  reserveUnselectedClaims(state, pod.uid, volumes, node, nowMs + state.config.reservationTtlMs);
}

/** Integer scores 0..10 for each input node; neutral (0) for pods with no local volumes. */
export function prioritizePod(state: ClusterState, pod: PodModel, nodeNames: readonly string[], nowMs: number, lookup: NodeLookup, gang?: GangEngine): Score[] {
  if (gang) {
    const g = gang.prioritize(pod, nodeNames);
    if (g) return g;
  }
  const volumes = podVolumeNeeds(state, pod);
  if (volumes.kind !== 'needs') return nodeNames.map((host) => ({ host, score: 0 }));
  return nodeNames.map((host) => {
    const node = lookup(host);
    if (!node) return { host, score: 0 };
    const v = vgVerdict(state, node, volumes, nowMs);
    return { host, score: v.kind === 'fits' ? vgScore(state.config.scoring, v.vgs) : 0 };
  });
}
