// The quorum gate (opt-in: --gang-quorum-gate true): the webhook gives every gang member a
// scheduling gate at creation, so kube-scheduler leaves it out of its queue; once min-available
// members exist, the extender removes the gate from all of them together. They then enter the queue
// back to back and are tried one after another, instead of wherever kube-scheduler's queue put them
// (after a scheduler restart: anywhere, so a gang's members were spread over the whole backlog and
// its barrier waited for the last). Members that cannot form a quorum cost no scheduling cycles.

import type { PodModel } from '../model.js';
import type { ClusterState } from '../state.js';
import type { SpecResult } from './spec.js';
import type { PodRef } from './types.js';

/** A gate removal not seen by our watch after this long is sent again (the patch may have failed). */
const RESEND_AFTER_MS = 5000;

export interface GateRelease {
  /** One batch per gang, best ranked first: the adapter removes a batch's gates before the next one's. */
  batches: PodRef[][];
  /** Gangs still below their quorum, with why (for their Events and /debug/gangs). */
  waiting: { key: string; uids: string[]; reason: string }[];
}

export class QuorumGates {
  private readonly sent = new Map<string, number>();

  constructor(private readonly state: ClusterState) {}

  /** What to release now. `membersOf` and `specOf` are the planner's (same members, same rules). */
  release(nowMs: number, membersOf: (key: string) => PodModel[], specOf: (key: string, members: PodModel[]) => SpecResult): GateRelease {
    const ready: { rank: [number, number, string]; refs: PodRef[] }[] = [];
    const waiting: GateRelease['waiting'] = [];
    for (const [uid, at] of this.sent) if (nowMs - at > RESEND_AFTER_MS || !this.state.pods.get(uid)?.quorumGated) this.sent.delete(uid);
    for (const [key, uids] of this.state.quorumGated) {
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
        this.sent.set(uid, nowMs);
        refs.push({ uid, namespace: p.namespace, name: p.name });
      }
      if (refs.length === 0) continue;
      ready.push({ rank: spec.kind === 'ok' ? [-spec.spec.priority, spec.spec.creationMs, key] : [0, 0, key], refs });
    }
    ready.sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || (a.rank[2] < b.rank[2] ? -1 : 1));
    return { batches: ready.map((r) => r.refs), waiting };
  }
}

/** Empties a queue in place and returns what it held (no new array when it is empty). */
export function drain<T>(queue: T[]): T[] {
  return queue.length === 0 ? [] : queue.splice(0, queue.length);
}
