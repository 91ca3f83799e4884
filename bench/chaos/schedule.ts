// The fault schedule of a chaos run, drawn from a seed: the same seed always gives the same list of
// faults (kind, how long the component stays down, the pause after it, which faults strike back to
// back). Pure: no clock, no I/O. The runner executes it; how long each step takes in wall time
// depends on the machine, the order and the choices never do.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export const FAULT_KINDS = [
  'extender-kill', // SIGKILL the leading replica's extender, start it again after holdMs
  'extender-freeze', // SIGSTOP the leading replica's extender for holdMs, then SIGCONT
  'extender-restart', // SIGTERM (graceful) and start at once
  'scheduler-kill', // SIGKILL the leading kube-scheduler: the other replica takes the lease
  'scheduler-freeze', // SIGSTOP the leading kube-scheduler for holdMs
  'leader-kill-mid-gang', // once a gang waits at the leader's barrier: SIGKILL that kube-scheduler and its extender
  'apiserver-restart', // SIGTERM kube-apiserver and start it again
  'apiserver-kill', // SIGKILL kube-apiserver, start after holdMs
  'etcd-kill', // SIGKILL etcd (data kept), start after holdMs
  'etcd-freeze', // SIGSTOP etcd for holdMs
  'agent-kill', // SIGKILL node-resource-manager, start after holdMs
  'agent-freeze', // SIGSTOP node-resource-manager for holdMs
  'agent-cutoff', // the node agent's connection to kube-apiserver cut (its proxy drops everything) for holdMs
  'webhook-cut', // the scheduling-mark webhook unreachable (its Service-like proxy refuses) for holdMs
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that need the node agent (root and lvm2). */
export const AGENT_FAULTS: readonly FaultKind[] = ['agent-kill', 'agent-freeze', 'agent-cutoff'];

/** How long a component stays down, per kind: [min, max] ms. */
const HOLD_MS: Record<FaultKind, [number, number]> = {
  'extender-kill': [0, 5000],
  'extender-freeze': [1000, 8000],
  'extender-restart': [0, 0],
  'scheduler-kill': [1000, 8000],
  'scheduler-freeze': [1000, 8000],
  'leader-kill-mid-gang': [2000, 8000],
  'apiserver-restart': [0, 0],
  'apiserver-kill': [0, 4000],
  'etcd-kill': [0, 5000],
  'etcd-freeze': [1000, 6000],
  'agent-kill': [0, 4000],
  'agent-freeze': [1000, 8000],
  'agent-cutoff': [3000, 20000],
  'webhook-cut': [3000, 15000],
};

export interface FaultStep {
  /** 1-based position in the schedule. */
  index: number;
  kind: FaultKind;
  holdMs: number;
  /** Pause after this fault has recovered (0 inside a burst: the next strikes at once, before recovery). */
  gapMs: number;
  /** Faults of one burst strike back to back; recovery is measured after the burst's last. */
  burst: number;
}

export interface ScheduleOptions {
  seed: number;
  /** Enough steps for the run; the runner stops when its time is up. */
  steps: number;
  kinds: readonly FaultKind[];
  /** Pause between bursts: [min, max] ms. Default [3000, 15000]. */
  gapMs?: [number, number];
}

/** Two independent streams from one seed: the fault schedule and the workload's choices. */
export function streams(seed: number): { faults: RandomGenerator; workload: RandomGenerator } {
  return { faults: xoroshiro128plus(seed | 0), workload: xoroshiro128plus((seed ^ 0x5bd1e995) | 0) };
}

export const pick = <T>(rng: RandomGenerator, items: readonly T[]): T => {
  if (items.length === 0) throw new Error('pick: no items');
  return items[uniformInt(rng, 0, items.length - 1)] as T;
};

export const between = (rng: RandomGenerator, [lo, hi]: readonly [number, number]): number => uniformInt(rng, lo, hi);

/** The fault schedule of a seed: bursts of 1 (most), 2 or 3 faults, each followed by a pause. */
export function faultSchedule(opts: ScheduleOptions): FaultStep[] {
  if (opts.kinds.length === 0) throw new Error('faultSchedule: no fault kinds');
  const rng = streams(opts.seed).faults;
  const gap = opts.gapMs ?? [3000, 15000];
  const out: FaultStep[] = [];
  let burst = 0;
  while (out.length < opts.steps) {
    burst++;
    const size = pick(rng, [1, 1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < size && out.length < opts.steps; i++) {
      const kind = pick(rng, opts.kinds);
      const last = i === size - 1;
      out.push({ index: out.length + 1, kind, holdMs: between(rng, HOLD_MS[kind]), gapMs: last ? between(rng, gap) : 0, burst });
    }
  }
  return out;
}

/** A fresh seed (printed by the run; pass it back with --seed to repeat the schedule). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
