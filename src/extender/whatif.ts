// Plays pods through the extender's decisions in order, the way kube-scheduler would: its own
// checks first (selector, affinity, taints, resources, the node a bound volume is on), then filter,
// prioritize, and the bind: the extender's bind check, the gang barrier, and what VolumeBinding's
// PreBind and the provisioner do (the pod's local claims are provisioned on its node and count against
// that VG from then on). Used by the what-if CLI (`edge-gang decide`).

import { checkBind } from '../core/bind.js';
import { placementVerdict, resourceVerdict, type Verdict } from '../core/fit.js';
import { filterPod, prioritizePod } from '../core/filter.js';
import { claimKey, type NodeModel, type PodModel } from '../core/model.js';
import type { ClusterState } from '../core/state.js';
import type { GangPlanner } from '../core/gang/planner.js';
import { provisionAtBind, type ProvisionedClaim } from './snapshot.js';

export interface NodeVerdict {
  node: string;
  verdict: 'passed' | 'failed' | 'unresolvable' | 'scheduler';
  reason: string;
}

export interface PodDecision {
  pod: string;
  chosen: string;
  boundTo: string;
  heldAtBarrier: boolean;
  /** Why the bind did not happen, when it did not. */
  bindNote: string;
  /** For a bind held at the gang barrier: the pod whose arrival released it. */
  releasedBy: string;
  /** For a pod no node passed: kube-scheduler's summary ("0/3 nodes are available: 2 …, 1 …"); '' otherwise. */
  reason: string;
  /** The local claims provisioned on its node at its bind (PreBind runs before the barrier: a held or refused member keeps them). */
  volumes: ProvisionedClaim[];
  nodes: NodeVerdict[];
}

/**
 * VolumeBinding's check for claims that already have a volume: a local PV pins its pod to its node.
 * Returns the conflict, or null.
 */
function volumeNodeConflict(state: ClusterState, pod: PodModel, node: string): string | null {
  for (const name of pod.claimNames) {
    const key = claimKey(pod.namespace, name);
    const volumeName = state.pvcs.get(key)?.volumeName;
    const pv = volumeName ? state.pvs.get(volumeName) : undefined;
    if (pv?.nodeName && pv.nodeName !== node) return `volume node affinity conflict: claim ${key} is bound to ${pv.name} on ${pv.nodeName}`;
  }
  return null;
}

/** kube-scheduler's own filters for one node, in its order: node affinity and taints, volumes, resources. */
function schedulerVerdict(state: ClusterState, pod: PodModel, node: NodeModel): Verdict {
  const v = placementVerdict(pod, node);
  if (v.kind !== 'fits') return v;
  const conflict = volumeNodeConflict(state, pod, node.name);
  if (conflict) return { kind: 'rejected', reason: conflict, unresolvable: true };
  return resourceVerdict(pod.requests, node.allocatable, state.usedOn(node.name));
}

/** The FitError message kube-scheduler would record: "<count> <reason>" per distinct reason, sorted as strings (as it sorts them). */
export function pendingSummary(nodes: readonly NodeVerdict[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) if (n.verdict !== 'passed') counts.set(n.reason, (counts.get(n.reason) ?? 0) + 1);
  const parts = [...counts.entries()].map(([r, c]) => `${c} ${r}`).sort();
  return `0/${nodes.length} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** Every node's verdict for the pod and the node the scheduler would choose ('' when none passed). */
function decideOne(state: ClusterState, pod: PodModel, names: readonly string[], nowMs: number, gang?: GangPlanner): PodDecision {
  const lookup = (n: string) => state.nodes.get(n);
  const nodes: NodeVerdict[] = [];
  const feasible: string[] = [];
  for (const n of names) {
    const r = schedulerVerdict(state, pod, state.nodes.get(n) as NodeModel);
    if (r.kind === 'fits') feasible.push(n);
    else nodes.push({ node: n, verdict: 'scheduler', reason: r.reason });
  }
  const f = feasible.length ? filterPod(state, pod, feasible, nowMs, lookup, gang) : { passed: [], failed: {}, unresolvable: {} };
  for (const n of f.passed) nodes.push({ node: n, verdict: 'passed', reason: 'fits' });
  for (const [n, reason] of Object.entries(f.failed)) nodes.push({ node: n, verdict: 'failed', reason });
  for (const [n, reason] of Object.entries(f.unresolvable)) nodes.push({ node: n, verdict: 'unresolvable', reason });
  nodes.sort((a, b) => (a.node < b.node ? -1 : 1));
  let chosen = '';
  if (f.passed.length === 1) chosen = f.passed[0] as string;
  else if (f.passed.length > 1) {
    const scores = prioritizePod(state, pod, f.passed, nowMs, lookup, gang);
    scores.sort((a, b) => b.score - a.score || (a.host < b.host ? -1 : 1));
    chosen = scores[0]?.host ?? '';
  }
  const reason = chosen ? '' : pendingSummary(nodes);
  return { pod: `${pod.namespace}/${pod.name}`, chosen, boundTo: '', heldAtBarrier: false, bindNote: '', releasedBy: '', reason, volumes: [], nodes };
}

/** The binding, once the barrier lets the pod through. */
function bound(state: ClusterState, decision: PodDecision | undefined, uid: string, node: string): void {
  state.assumeBound(uid, node);
  if (!decision) return;
  decision.boundTo = node;
  decision.heldAtBarrier = false;
  decision.bindNote = '';
}

/**
 * The binding cycle for the chosen node. kube-scheduler runs VolumeBinding's PreBind before it calls
 * the extender's bind: the claims are provisioned on the node first (the provisioner's room check and
 * the extender's bind check stand in checkBind here), so a gang member waiting at the barrier already
 * has its volumes, as it would live. Then the barrier: pass, hold, refuse, or release every held member.
 */
function bindChosen(state: ClusterState, pod: PodModel, decision: PodDecision, out: readonly PodDecision[], nowMs: number, gang?: GangPlanner): void {
  const args = { PodName: pod.name, PodNamespace: pod.namespace, PodUID: pod.uid, Node: decision.chosen };
  const check = checkBind(state, args, nowMs);
  if (check.kind === 'refused') {
    decision.bindNote = `bind refused: ${check.reason}`;
    gang?.failedBind(pod.namespace, pod.name, check.reason, nowMs);
    return;
  }
  if (check.kind === 'already-bound') {
    decision.boundTo = decision.chosen;
    return;
  }
  decision.volumes = provisionAtBind(state, pod.uid, decision.chosen, nowMs);
  const answer = gang ? gang.arrive(args, nowMs) : { kind: 'pass' as const };
  if (answer.kind === 'pass') bound(state, decision, pod.uid, decision.chosen);
  else if (answer.kind === 'hold') {
    decision.heldAtBarrier = true;
    decision.bindNote = 'held at the gang bind barrier';
  } else if (answer.kind === 'refuse') {
    decision.bindNote = answer.reason;
  } else {
    // The barrier filled: every held member binds now, together with this one.
    for (const m of answer.members) {
      if (m.uid === pod.uid) continue;
      const p = state.pods.get(m.uid);
      const held = p ? out.find((d) => d.pod === `${p.namespace}/${p.name}`) : undefined;
      bound(state, held, m.uid, m.node);
      if (held) held.releasedBy = decision.pod;
    }
    bound(state, decision, pod.uid, decision.chosen);
  }
}

/** Decides pods one after another; every pod exists in the state before the first is decided. */
export function decideSequence(state: ClusterState, pods: PodModel[], nowMs: number, gang?: GangPlanner): PodDecision[] {
  for (const p of pods) state.setPod(p);
  const names = [...state.nodes.keys()].sort();
  const out: PodDecision[] = [];
  for (const p of pods) {
    const pod = state.pods.get(p.uid) ?? p;
    const decision = decideOne(state, pod, names, nowMs, gang);
    out.push(decision);
    if (decision.chosen) bindChosen(state, pod, decision, out, nowMs, gang);
  }
  return out;
}
