// The bind barrier's moving parts around the pure planner: bind requests held open (promises that
// resolve when the barrier fills or fail when it times out) and the sweep timer. The planner decides;
// this keeps the requests. Events go to whoever the service named (onEvents).

import type { ExtenderBindingArgs } from '../wire/extender.js';
import type { GangEvent, GangPlanner, PodRef } from '../core/gang/planner.js';
import type { ClusterState } from '../core/state.js';
import { ExtenderError } from './errors.js';
import type { Clock } from './ports.js';

type DoBind = (a: ExtenderBindingArgs) => Promise<void>;

interface Held {
  args: ExtenderBindingArgs;
  doBind: DoBind;
  resolve: () => void;
  reject: (e: Error) => void;
  /** The request was answered (hold limit) but the member keeps its place at the barrier. */
  answered: boolean;
}

export interface BindBarrierOptions {
  clock: Clock;
  /** How often barriers, plans and reservations are checked for expiry (--gang-sweep-ms). */
  sweepEveryMs: number;
  /** Real timers in the server; tests may drive `tick` themselves. */
  timers: boolean;
  onEvents: (events: readonly GangEvent[]) => void;
  /** Members the planner asks kube-scheduler to try again (a plan made in the sweep). */
  onRequeues: (pods: readonly PodRef[]) => void;
  /** Gangs at quorum whose gates to remove (the sweep decides). */
  onUngates: (batches: readonly PodRef[][]) => void;
  /** Called once per barrier that times out. */
  onBarrierTimeout: () => void;
}

export class BindBarrier {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly state: ClusterState, private readonly planner: GangPlanner, private readonly opts: BindBarrierOptions) {
    if (opts.timers) {
      this.timer = setInterval(() => this.tick(), opts.sweepEveryMs);
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
    if (ev.length) this.opts.onEvents(ev);
    const back = this.planner.drainRequeues();
    if (back.length) this.opts.onRequeues(back);
    const open = this.planner.drainUngates();
    if (open.length) this.opts.onUngates(open);
  }

  /** Expires barriers and plans; fails the held binds of timed-out gangs. */
  tick(): void {
    const now = this.opts.clock();
    this.state.expireReservations(now);
    const { failed, answered } = this.planner.sweep(now);
    for (const f of failed) {
      this.opts.onBarrierTimeout();
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

  /** A bind that passed the checks: let it through, hold it at its gang's barrier, or release the barrier. */
  bind(args: ExtenderBindingArgs, doBind: DoBind): Promise<void> {
    const answer = this.planner.arrive(args, this.opts.clock());
    this.flush();
    switch (answer.kind) {
      case 'pass':
        return doBind(args);
      case 'refuse':
        return Promise.reject(new ExtenderError('GANG_PLAN_RELEASED', answer.reason));
      case 'hold': {
        const uid = this.state.podByKey(args.PodNamespace, args.PodName)?.uid ?? args.PodUID;
        return new Promise<void>((resolve, reject) => {
          // A retried bind replaces the one the scheduler gave up on.
          const prev = this.held.get(uid);
          if (prev && !prev.answered) prev.reject(new ExtenderError('GANG_PLAN_RELEASED', 'superseded by a retried bind'));
          this.held.set(uid, { args, doBind, resolve, reject, answered: false });
        });
      }
      case 'release': {
        const own = this.state.podByKey(args.PodNamespace, args.PodName)?.uid ?? args.PodUID;
        const others = this.releaseAll(answer.members.map((m) => m.uid).filter((u) => u !== own));
        return Promise.all([doBind(args), others]).then(() => undefined);
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
