// Plays pods through the extender's decisions in order, the way kube-scheduler would: its own
// checks first (selector, affinity, taints, resources), then filter, prioritize, bind. Used by the
// snapshot CLI and the demo's offline mode.

import { placementVerdict, resourceVerdict } from '../core/fit.js';
import { filterPod, prioritizePod } from '../core/filter.js';
import type { PodModel } from '../core/model.js';
import type { ClusterState } from '../core/state.js';
import type { GangPlanner } from '../core/gang/planner.js';

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
  nodes: NodeVerdict[];
}

/** Decides pods one after another; every pod exists in the state before the first is decided. */
export function decideSequence(state: ClusterState, pods: PodModel[], nowMs: number, gang?: GangPlanner): PodDecision[] {
  for (const p of pods) state.setPod(p);
  const names = [...state.nodes.keys()].sort();
  const lookup = (n: string) => state.nodes.get(n);
  const out: PodDecision[] = [];
  for (const p of pods) {
    const pod = state.pods.get(p.uid) ?? p;
    const nodes: NodeVerdict[] = [];
    const feasible: string[] = [];
    for (const n of names) {
      const node = state.nodes.get(n)!;
      const v = placementVerdict(pod, node);
      const r = v.kind === 'fits' ? resourceVerdict(pod.requests, node.allocatable, state.usedOn(n)) : v;
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
    const decision: PodDecision = { pod: `${pod.namespace}/${pod.name}`, chosen, boundTo: '', heldAtBarrier: false, bindNote: '', releasedBy: '', nodes };
    out.push(decision);
    if (!chosen) continue;
    const answer = gang ? gang.arrive({ PodName: pod.name, PodNamespace: pod.namespace, PodUID: pod.uid, Node: chosen }, nowMs) : { kind: 'pass' as const };
    if (answer.kind === 'pass') {
      state.assumeBound(pod.uid, chosen);
      decision.boundTo = chosen;
    } else if (answer.kind === 'hold') {
      decision.heldAtBarrier = true;
      decision.bindNote = 'held at the gang bind barrier';
    } else if (answer.kind === 'refuse') {
      decision.bindNote = answer.reason;
    } else {
      // The barrier filled: every held member binds now, together with this one.
      for (const m of answer.members) {
        if (m.uid === pod.uid) continue;
        state.assumeBound(m.uid, m.node);
        const held = out.find((d) => d.pod === `${state.pods.get(m.uid)?.namespace}/${state.pods.get(m.uid)?.name}`);
        if (held) {
          held.boundTo = m.node;
          held.heldAtBarrier = false;
          held.bindNote = '';
          held.releasedBy = decision.pod;
        }
      }
      state.assumeBound(pod.uid, chosen);
      decision.boundTo = chosen;
    }
  }
  return out;
}
