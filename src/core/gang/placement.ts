// Where a gang's members go (pure): first-fit-decreasing over the members, the tightest node for each,
// deterministic; when no placement exists, the gap in numbers ("needs 8 nvidia.com/gpu for 4 pods, 4 free").
// A PodGroup's minResources is checked first (podgroup.ts).

import type { NodeModel, PodModel, Resources } from '../model.js';
import type { ClusterState } from '../state.js';
import { addResources, placementVerdict } from '../fit.js';
import { podVolumeNeeds, reserveUnselectedClaims, vgVerdict, type PodVolumes } from '../lvm.js';
import { formatResource } from '../quantity.js';
import { sizeKey } from './spec.js';
import { minResourcesGap } from './podgroup.js';


export type PlaceOne = { kind: 'placed'; node: string } | { kind: 'none'; reason: string };

/**
 * The node the pod's claims already tie it to: a bound PV's node affinity, else a claim's selected
 * node (kube-scheduler's VolumeBinding PreBind ran for a member that reached the bind barrier, and
 * the extender cannot undo it). '' when no claim names a node; null when two claims name different nodes.
 */
export function pinnedNode(state: ClusterState, pod: PodModel): string | null {
  let pin = '';
  for (const c of pod.claimNames) {
    const pvc = state.pvcs.get(`${pod.namespace}/${c}`);
    if (!pvc) continue;
    const node = (pvc.volumeName ? state.pvs.get(pvc.volumeName)?.nodeName : '') || pvc.selectedNode;
    if (!node) continue;
    if (pin && pin !== node) return null;
    pin = node;
  }
  return pin;
}

/** The candidates left to a pod its claims pin: only its node, or none when its claims disagree. */
export function honourPin(state: ClusterState, pod: PodModel, candidates: readonly NodeModel[]): { nodes: readonly NodeModel[]; reason: string } {
  const pin = pinnedNode(state, pod);
  if (pin === '') return { nodes: candidates, reason: '' };
  if (pin === null) return { nodes: [], reason: 'its volumes are already provisioned on different nodes' };
  const nodes = candidates.filter((n) => n.name === pin);
  return { nodes, reason: nodes.length ? '' : `its volumes are provisioned on ${pin}, which is not eligible` };
}

/** Nodes passing the pod's selector, affinity, taints and cordon; members of one shape share the list. */
function eligibleNodes(pod: PodModel, nodes: readonly NodeModel[], cache: Map<string, NodeModel[]>): NodeModel[] {
  const shape = JSON.stringify([pod.nodeSelector, pod.affinityTerms, pod.tolerations]);
  let list = cache.get(shape);
  if (!list) {
    list = nodes.filter((n) => placementVerdict(pod, n).kind === 'fits');
    cache.set(shape, list);
  }
  return list;
}

/** The tightest node that fits the pod given what is used, held, and already planned in this pass. */
export function placeOne(state: ClusterState, pod: PodModel, nodes: readonly NodeModel[], planned: Map<string, Resources>, nowMs: number, volumes?: PodVolumes): PlaceOne {
  const vols = volumes ?? podVolumeNeeds(state, pod);
  if (vols.kind === 'blocked') return { kind: 'none', reason: vols.reason };
  let best: { node: string; slack: number } | null = null;
  let lastReason = 'no node matches its selector, affinity and tolerations';
  const wants = Object.entries(pod.requests).filter(([, v]) => v > 0);
  wants.push(['pods', 1]);
  const scarce = Object.keys(pod.requests).find((k) => k.includes('/')) ?? 'cpu';
  for (const node of nodes) {
    const extra = planned.get(node.name);
    let ok = true;
    let slack = 0;
    for (const [r, want] of wants) {
      const free = state.freeOf(node, r, pod.uid) - (extra?.[r] ?? 0);
      if (want > free) {
        ok = false;
        lastReason = r === 'pods' ? 'too many pods' : `insufficient ${r}: requested ${formatResource(r, want)}, free ${formatResource(r, Math.max(0, free))}`;
        break;
      }
      if (r === scarce) slack = free - want;
    }
    if (!ok) continue;
    if (vols.kind === 'needs') {
      const vv = vgVerdict(state, node, vols, nowMs);
      if (vv.kind !== 'fits') {
        lastReason = vv.reason;
        continue;
      }
    }
    if (!best || slack < best.slack || (slack === best.slack && node.name < best.node)) best = { node: node.name, slack };
  }
  return best ? { kind: 'placed', node: best.node } : { kind: 'none', reason: lastReason };
}

export type PlanResult = { kind: 'planned'; assignments: Map<string, string>; pool: string } | { kind: 'failed'; reason: string };

/**
 * Places as many unbound members as fit, needing at least `needed`; all or nothing. A PodGroup's
 * minResources the cluster cannot hold refuses the gang before any search (podgroup.ts).
 */
export function planPlacement(state: ClusterState, unbound: PodModel[], needed: number, sameNodeLabel: string, nowMs: number): PlanResult {
  const short = minResourcesGap(state, unbound);
  if (short !== null) return { kind: 'failed', reason: short };
  const all = state.sortedNodes();
  if (!sameNodeLabel) return planIn(state, unbound, needed, all, '', nowMs);
  const pools = new Map<string, NodeModel[]>();
  for (const n of all) {
    const v = n.labels[sameNodeLabel];
    if (v === undefined) continue;
    pools.set(v, [...(pools.get(v) ?? []), n]);
  }
  if (pools.size === 0) return { kind: 'failed', reason: `no node has the label ${sameNodeLabel} the gang must stay within` };
  const reasons: string[] = [];
  for (const [pool, nodes] of [...pools.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const r = planIn(state, unbound, needed, nodes, pool, nowMs);
    if (r.kind === 'planned') return r;
    reasons.push(`${pool}: ${r.reason}`);
  }
  const shown = reasons.slice(0, 3).join('; ') + (reasons.length > 3 ? `; and ${reasons.length - 3} more pools` : '');
  return { kind: 'failed', reason: `no single ${sameNodeLabel} has room for the gang (${shown})` };
}

function planIn(state: ClusterState, unbound: PodModel[], needed: number, nodes: readonly NodeModel[], pool: string, nowMs: number): PlanResult {
  // Members whose claims are already provisioned go first, onto their claims' nodes; then the largest.
  const pinned = new Set(unbound.filter((p) => pinnedNode(state, p) !== '').map((p) => p.uid));
  const order = [...unbound].sort((a, b) => {
    if (pinned.has(a.uid) !== pinned.has(b.uid)) return pinned.has(a.uid) ? -1 : 1;
    const ka = sizeKey(a.requests);
    const kb = sizeKey(b.requests);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (kb[i] as number) - (ka[i] as number);
    return a.name < b.name ? -1 : 1;
  });
  const planned = new Map<string, Resources>();
  const eligible = new Map<string, NodeModel[]>();
  const assignments = new Map<string, string>();
  const unplaced: { pod: PodModel; reason: string }[] = [];
  // Volume needs of members placed in this pass, as temporary reservations so the next member sees them.
  const tempClaims: string[] = [];
  try {
    for (const pod of order) {
      const vols = podVolumeNeeds(state, pod);
      const pin = pinned.has(pod.uid) ? honourPin(state, pod, eligibleNodes(pod, nodes, eligible)) : { nodes: eligibleNodes(pod, nodes, eligible), reason: '' };
      const candidates = pin.nodes;
      const r = candidates.length ? placeOne(state, pod, candidates, planned, nowMs, vols) : { kind: 'none' as const, reason: pin.reason || 'no node matches its selector, affinity and tolerations' };
      if (r.kind === 'none') {
        unplaced.push({ pod, reason: r.reason });
        continue;
      }
      assignments.set(pod.uid, r.node);
      const add = planned.get(r.node) ?? {};
      addResources(add, pod.requests, 1);
      add.pods = (add.pods ?? 0) + 1;
      planned.set(r.node, add);
      if (vols.kind === 'needs') tempClaims.push(...reserveUnselectedClaims(state, `plan:${pod.uid}`, vols, r.node, nowMs + 1));
    }
  } finally {
    for (const c of tempClaims) state.releaseReservation(c);
  }
  if (assignments.size >= needed) return { kind: 'planned', assignments, pool };
  return { kind: 'failed', reason: gapReason(state, order, needed, nodes, unplaced, assignments.size, nowMs) };
}

/** The gap in numbers: a resource whose total demand exceeds the total free, else the first pod that fits nowhere. */
function gapReason(state: ClusterState, pods: PodModel[], needed: number, nodes: readonly NodeModel[], unplaced: { pod: PodModel; reason: string }[], placed: number, nowMs: number): string {
  const demand = new Map<string, { amount: number; pods: number }>();
  // The most hopeful demand: the `needed` smallest members (any min-available of them would do).
  const smallest = [...pods].sort((a, b) => {
    const ka = sizeKey(a.requests);
    const kb = sizeKey(b.requests);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number);
    return 0;
  }).slice(0, needed);
  for (const p of smallest) {
    for (const [r, v] of Object.entries(p.requests)) {
      if (v <= 0) continue;
      const d = demand.get(r) ?? { amount: 0, pods: 0 };
      d.amount += v;
      d.pods += 1;
      demand.set(r, d);
    }
  }
  const ordered = [...demand.entries()].sort((a, b) => (a[0].includes('/') === b[0].includes('/') ? (a[0] < b[0] ? -1 : 1) : a[0].includes('/') ? -1 : 1));
  for (const [r, d] of ordered) {
    let free = 0;
    for (const n of nodes) {
      if (!pods.some((p) => (p.requests[r] ?? 0) > 0 && placementVerdict(p, n).kind === 'fits')) continue;
      free += Math.max(0, (n.allocatable[r] ?? 0) - (state.committedOn(n.name)[r] ?? 0));
    }
    if (d.amount > free) return `needs ${formatResource(r, d.amount)} ${r} for ${d.pods} pods, ${formatResource(r, free)} free`;
  }
  // Volumes: the same test per VG over the nodes that hold it.
  const vgDemand = new Map<string, number>();
  for (const p of pods) {
    const v = podVolumeNeeds(state, p);
    if (v.kind === 'needs') for (const need of v.needs) vgDemand.set(need.vg, (vgDemand.get(need.vg) ?? 0) + need.bytes);
  }
  void nowMs;
  const first = unplaced[0];
  const volumeNote = vgDemand.size ? ` (local volumes: ${[...vgDemand.entries()].map(([vg, b]) => `${vg} ${formatResource('memory', b)}`).join(', ')})` : '';
  return `no placement for ${needed} members: ${placed} placed; ${first ? `${first.pod.name} fits no node (${first.reason})` : 'none left'}${volumeNote}`;
}
