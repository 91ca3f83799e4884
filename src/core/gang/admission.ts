// Which gated gangs enter kube-scheduler's queue now (the gang gate, gates.ts): a gang at quorum is
// admitted when it holds a plan already, runs already, or a plan for the whole gang succeeds now
// (made here and held, as its first member's filter would have made it), and only while fewer than
// --gang-admission-window admitted gangs are short of their barrier's release. Gangs are asked in
// rank order, so the best-ranked gang that fits goes first; the starvation guard (the head) still
// holds lower-ranked gangs back in tryPlan. A gang kept gated costs kube-scheduler nothing.

import type { PodModel } from '../model.js';
import type { ClusterState } from '../state.js';
import { QuorumGates } from './gates.js';
import type { GangSpec, SpecResult } from './spec.js';
import type { GangEvent, GangPhase, GangRecord, PodRef } from './types.js';

/**
 * Failed placement searches per sweep for gated gangs asking for admission (a cached failure costs
 * none; a search that succeeds is the plan the gang's first filter would have made anyway).
 */
const MAX_FAILED_SEARCHES = 4;

/** The planner's parts admission uses (the same records, members, rules and plan search). */
export interface AdmissionHooks {
  records(): Iterable<GangRecord>;
  record(key: string): GangRecord;
  members(key: string): PodModel[];
  spec(key: string, members: PodModel[]): SpecResult;
  bound(members: PodModel[]): number;
  /** What a failed plan depends on: the same key means the cached failure stands. */
  failKey(members: PodModel[], bound: number): string;
  tryPlan(rec: GangRecord, spec: GangSpec, members: PodModel[], bound: number, nowMs: number): { kind: 'planned' } | { kind: 'refused'; reason: string };
  note(rec: GangRecord, phase: GangPhase, reason: string, nowMs: number): void;
  emit(event: GangEvent): void;
}

export class GangAdmission {
  private readonly gates: QuorumGates;

  constructor(private readonly state: ClusterState, private readonly p: AdmissionHooks) {
    this.gates = new QuorumGates(state);
  }

  /** Gated gangs to release now, one batch per gang, best ranked first; below quorum, told why once. */
  release(nowMs: number): PodRef[][] {
    if (this.state.quorumGated.size === 0) return [];
    const window = this.state.config.gang.admissionWindow;
    const budget = { inFlight: window > 0 ? this.inFlight() : 0, failed: 0 };
    // A full window admits nobody new: gangs that had their quorum and hold no plan are not even
    // looked at (at 500 gated gangs, listing and checking each every sweep was the sweep's main cost).
    const full = window > 0 && budget.inFlight >= window;
    const skip = (k: string): boolean => {
      if (!full) return false;
      const rec = this.p.record(k);
      return rec.plan === null && rec.quorumMs !== null;
    };
    const r = this.gates.release(nowMs, (k) => this.p.members(k), (k, m) => this.p.spec(k, m), (k, m, s) => this.admit(k, m, s, nowMs, window, budget), skip);
    for (const w of r.waiting) {
      const rec = this.p.record(w.key);
      if (rec.lastReason !== w.reason) this.p.emit({ kind: 'waiting', gang: w.key, podUids: w.uids, reason: w.reason });
      this.p.note(rec, 'waiting-for-members', w.reason, nowMs);
    }
    return r.batches;
  }

  /** Whether to remove the gang's gates now; a gang kept gated has its reason noted (tryPlan's, or the window's). */
  private admit(key: string, members: PodModel[], spec: SpecResult, nowMs: number, window: number, budget: { inFlight: number; failed: number }): boolean {
    if (window === 0 || spec.kind !== 'ok') return true; // an invalid gang: our filter says why
    const rec = this.p.record(key);
    const bound = this.p.bound(members);
    if (rec.plan || bound >= spec.spec.minAvailable) return true;
    rec.quorumMs ??= nowMs;
    if (budget.inFlight >= window) {
      if (rec.phase !== 'unschedulable') this.p.note(rec, 'queued', `gang ${key}: waiting for admission behind ${budget.inFlight} admitted gangs not yet bound (--gang-admission-window ${window})`, nowMs);
      return false;
    }
    const cached = rec.failedAt === this.p.failKey(members, bound) && rec.failedReason !== '';
    if (!cached && budget.failed >= MAX_FAILED_SEARCHES) return false;
    if (this.p.tryPlan(rec, spec.spec, members, bound, nowMs).kind === 'refused') {
      if (!cached) budget.failed++;
      return false;
    }
    rec.timeline.admittedMs = nowMs;
    budget.inFlight++;
    return true;
  }

  /** Gangs holding a plan whose barrier has not released yet: the ones kube-scheduler is placing. */
  private inFlight(): number {
    let n = 0;
    for (const rec of this.p.records()) if (rec.plan && rec.timeline.releasedMs === null && rec.phase !== 'running') n++;
    return n;
  }
}
