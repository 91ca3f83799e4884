// The gang engine's moving parts around the pure planner: held bind requests (promises that
// resolve when the barrier fills or fail when it times out), a sweep timer, and the hand-off of
// the planner's events to whoever reports them (Kubernetes Events, metrics).

import type { ExtenderBindingArgs } from '../wire/extender.js';
import type { PodModel } from '../core/model.js';
import type { FilterOutcome, NodeLookup, Score } from '../core/filter.js';
import { GangPlanner, type GangEvent, type GangRuntime } from '../core/gang/planner.js';
import type { ClusterState } from '../core/state.js';
import { ExtenderError } from './errors.js';

interface Held {
  args: ExtenderBindingArgs;
  doBind: (a: ExtenderBindingArgs) => Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
  /** The request was answered (hold limit) but the member keeps its place at the barrier. */
  answered: boolean;
}

export interface GangRuntimeOptions {
  headAfterMs?: number;
  /** How often barriers and plans are checked for expiry. */
  sweepEveryMs?: number;
  onEvents?: (events: GangEvent[]) => void;
  /** Called once per barrier that times out. */
  onBarrierTimeout?: () => void;
  /** Real timers in the server; tests may drive `tick` themselves. */
  timers?: boolean;
  clock: () => number;
}

export class GangRuntimeImpl implements GangRuntime {
  readonly planner: GangPlanner;
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly state: ClusterState, private readonly opts: GangRuntimeOptions) {
    this.planner = new GangPlanner(state, { headAfterMs: opts.headAfterMs ?? 30_000 });
    if (opts.timers !== false) {
      this.timer = setInterval(() => this.tick(), opts.sweepEveryMs ?? 250);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const h of this.held.values()) h.reject(new ExtenderError('GANG_PLAN_RELEASED', 'extender shutting down'));
    this.held.clear();
  }

  private flush(): void {
    const ev = this.planner.drainEvents();
    if (ev.length && this.opts.onEvents) this.opts.onEvents(ev);
  }

  /** Expires barriers and plans; fails the held binds of timed-out gangs. */
  tick(): void {
    this.state.expireReservations(this.opts.clock());
    const { failed, answered } = this.planner.sweep(this.opts.clock());
    for (const f of failed) {
      this.opts.onBarrierTimeout?.();
      for (const uid of f.uids) {
        const h = this.held.get(uid);
        if (!h) continue;
        this.held.delete(uid);
        if (!h.answered) h.reject(new ExtenderError('GANG_BARRIER_TIMEOUT', f.reason));
      }
    }
    for (const a of answered) {
      for (const uid of a.uids) {
        const h = this.held.get(uid);
        if (!h || h.answered) continue;
        h.answered = true;
        h.reject(new ExtenderError('GANG_BARRIER_TIMEOUT', a.reason));
      }
    }
    this.flush();
  }

  filter(pod: PodModel, nodeNames: string[], nowMs: number, lookup: NodeLookup): FilterOutcome | null {
    const out = this.planner.filter(pod, nodeNames, nowMs, lookup);
    this.flush();
    return out;
  }

  prioritize(pod: PodModel, nodeNames: readonly string[]): Score[] | null {
    return this.planner.prioritize(pod, nodeNames);
  }

  describe(nowMs: number): unknown[] {
    return this.planner.describe(nowMs);
  }

  bind(args: ExtenderBindingArgs, doBind: (a: ExtenderBindingArgs) => Promise<void>, clock: () => number): Promise<void> {
    const answer = this.planner.arrive(args, clock());
    this.flush();
    switch (answer.kind) {
      case 'pass':
        return doBind(args);
      case 'refuse':
        return Promise.reject(new ExtenderError('GANG_PLAN_RELEASED', answer.reason));
      case 'hold': {
        const pod = this.state.podByKey(args.PodNamespace, args.PodName);
        const uid = pod?.uid ?? args.PodUID;
        return new Promise<void>((resolve, reject) => {
          // A retried bind replaces the one the scheduler gave up on.
          const prev = this.held.get(uid);
          if (prev && !prev.answered) prev.reject(new ExtenderError('GANG_PLAN_RELEASED', 'superseded by a retried bind'));
          this.held.set(uid, { args, doBind, resolve, reject, answered: false });
        });
      }
      case 'release': {
        const pod = this.state.podByKey(args.PodNamespace, args.PodName);
        const own = pod?.uid ?? args.PodUID;
        const mine = this.releaseAll(answer.members.map((m) => m.uid).filter((u) => u !== own));
        return Promise.all([doBind(args), mine]).then(() => undefined);
      }
    }
  }

  /**
   * Binds every member at the barrier together; each held request answers with its own result. A
   * member whose request was already answered is bound all the same: kube-scheduler sees the pod
   * bound and does not retry it (kubernetes/kubernetes#96582), or its retried bind finds it bound.
   */
  private async releaseAll(uids: string[]): Promise<void> {
    await Promise.all(uids.map(async (uid) => {
      const h = this.held.get(uid);
      if (!h) return;
      this.held.delete(uid);
      try {
        await h.doBind(h.args);
        if (!h.answered) h.resolve();
      } catch (err) {
        if (!h.answered) h.reject(err as Error);
      }
    }));
  }

  /** Bind requests held open right now. */
  heldCount(): number {
    let n = 0;
    for (const h of this.held.values()) if (!h.answered) n++;
    return n;
  }
}
