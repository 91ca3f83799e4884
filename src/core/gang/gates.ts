// The gang gate (opt-in: --gang-quorum-gate true): the webhook gives every gang member a scheduling
// gate at creation, so kube-scheduler leaves it out of its queue until the extender admits the gang
// and removes the gate from all its members together. A gang is admitted once min-available members
// exist and, with an admission window (--gang-admission-window, the default), once a plan for the
// whole gang succeeds against what is free and held now (the plan is kept: its members are steered
// at their first filter) and fewer than `window` admitted gangs are still short of their release.
// Admitted members enter the queue back to back and are tried one after another, instead of wherever
// kube-scheduler's queue put them (after a scheduler restart: anywhere, so a gang's barrier waited
// for the last of thousands); a gang that cannot start, below its quorum or too big for what is free,
// costs kube-scheduler no scheduling cycle at all (each would be refused by our filter, and retried at
// every cluster event). This is admission as Kueue does it for plain pods, with the extender's plan.

import type { PodModel } from '../model.js';
import type { ClusterState } from '../state.js';
import type { SpecResult } from './spec.js';
import type { PodRef } from './types.js';

/** A gate removal not seen by our watch after this long is sent again (the patch may have failed). */
const RESEND_AFTER_MS = 5000;

export interface GateRelease {
  /** One batch per gang, best ranked first: the adapter removes a batch's gates before the next one's. */
  batches: PodRef[][];
  /** Gangs still below their quorum, with why (for their Events and /debug/gangs); gangs not admitted say why through the planner. */
  waiting: { key: string; uids: string[]; reason: string }[];
}

export class QuorumGates {
  private readonly sent = new Map<string, number>();

  constructor(private readonly state: ClusterState) {}

  /**
   * What to release now. `membersOf` and `specOf` are the planner's (same members, same rules);
   * `admit` is asked for each gang at quorum in rank order (priority, then age), so the best-ranked
   * gang that fits is admitted first; false keeps its gates.
   */
  release(
    nowMs: number,
    membersOf: (key: string) => PodModel[],
    specOf: (key: string, members: PodModel[]) => SpecResult,
    admit: (key: string, members: PodModel[], spec: SpecResult) => boolean,
    /** Gangs the planner knows must wait this sweep (not looked at: no members listed, no rules checked). */
    skip: (key: string) => boolean = () => false,
  ): GateRelease {
    const ready: { key: string; rank: [number, number, string]; refs: PodRef[]; members: PodModel[]; spec: SpecResult }[] = [];
    const waiting: GateRelease['waiting'] = [];
    for (const [uid, at] of this.sent) if (nowMs - at > RESEND_AFTER_MS || !this.state.pods.get(uid)?.quorumGated) this.sent.delete(uid);
    for (const [key, uids] of this.state.quorumGated) {
      if (skip(key)) continue;
      const members = membersOf(key);
      const spec = specOf(key, members);
      // An invalid gang is released too: kube-scheduler then asks our filter, which says why.
      if (spec.kind === 'ok' && members.length < spec.spec.minAvailable) {
        waiting.push({ key, uids: members.map((m) => m.uid), reason: `gang ${key}: ${members.length} of ${spec.spec.minAvailable} members exist` });
        continue;
      }
      const refs: PodRef[] = [];
      for (const uid of uids) {
        const p = this.state.pods.get(uid);
        if (!p || this.sent.has(uid)) continue;
        refs.push({ uid, namespace: p.namespace, name: p.name });
      }
      if (refs.length === 0) continue;
      ready.push({ key, rank: spec.kind === 'ok' ? [-spec.spec.priority, spec.spec.creationMs, key] : [0, 0, key], refs, members, spec });
    }
    ready.sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || (a.rank[2] < b.rank[2] ? -1 : 1));
    const batches: PodRef[][] = [];
    for (const r of ready) {
      if (!admit(r.key, r.members, r.spec)) continue;
      for (const ref of r.refs) this.sent.set(ref.uid, nowMs);
      batches.push(r.refs);
    }
    return { batches, waiting };
  }
}

/** Empties a queue in place and returns what it held (no new array when it is empty). */
export function drain<T>(queue: T[]): T[] {
  return queue.length === 0 ? [] : queue.splice(0, queue.length);
}
