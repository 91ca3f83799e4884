// The gang planner's records and what it tells its callers: phases, events, barrier answers and the
// description /debug/gangs and the status command show.

import type { GangEventKind } from '../../wire/keys.js';
import type { NodeModel } from '../model.js';

export type GangPhase = 'waiting-for-members' | 'invalid' | 'unschedulable' | 'queued' | 'planned' | 'binding' | 'running';

export interface Plan {
  createdMs: number;
  lastProgressMs: number;
  /** pod uid -> node */
  assignments: Map<string, string>;
  pool: string;
}

export interface GangRecord {
  key: string;
  plan: Plan | null;
  /** Members that reached bind: pod uid -> node, arrival time, and whether its request was answered. */
  barrier: Map<string, { node: string; arrivedMs: number; answered: boolean }>;
  /** The last time a new member reached the barrier. */
  barrierProgressMs: number;
  phase: GangPhase;
  lastReason: string;
  lastReasonMs: number;
  /** When the gang first had its quorum and could not be placed. */
  waitingSinceMs: number | null;
  quorumMs: number | null;
  /** freedVersion|members|bound at the last failed plan. */
  failedAt: string;
  failedReason: string;
  runningSinceMs: number | null;
  /** Members our filter refused and not steered since (uid -> ms): asked to come back once a plan includes them. */
  refusedAt: Map<string, number>;
  /** Each planned member's PodScheduled message when the plan was made: a different one means kube-scheduler refused it since. */
  planMessages: Map<string, string>;
  /** Members our filter passed (steered) since the plan: a refusal message older than that is stale. */
  steered: Set<string>;
  /** When the current barrier's first member arrived: the patient wait (barrierMaxWaitMs) counts from here. */
  barrierStartMs: number;
  timeline: GangTimeline;
  /** Cached answer of fitsEmptyCluster for one node set. */
  emptyFit?: { nodes: readonly NodeModel[]; key: string; fits: boolean };
}

/** A gang's life in epoch ms, for /debug/gangs/timeline and the bench: where its wait went. */
export interface GangTimeline {
  gang: string;
  /** The first filter of any member. */
  firstFilterMs: number | null;
  /** The gang gate admitted the gang (its plan made, its gates removed); null when it was not gated. */
  admittedMs: number | null;
  /** The current (or last) plan. */
  planMs: number | null;
  plans: number;
  /** Bind arrivals at the barrier under the current plan, in order. */
  arrivalsMs: number[];
  /** The barrier released (every member bound together). */
  releasedMs: number | null;
  /** Binds we failed or refused, newest last (at most MAX_FAILED_BINDS). */
  failedBinds: { pod: string; atMs: number; reason: string }[];
  /** Members asked to come back (their pods touched) because a plan includes them after we refused them. */
  requeued: number;
}

export const MAX_FAILED_BINDS = 20;

/** A pod by name and uid, for the adapter that touches it. */
export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

/** Something the adapter should tell the world about (Events, metrics). */
export type GangEvent =
  | { kind: Exclude<GangEventKind, 'bound'>; gang: string; podUids: string[]; reason: string }
  | { kind: 'bound'; gang: string; podUids: string[]; reason: string; quorumToBoundMs: number | null };

export type BarrierAnswer =
  | { kind: 'pass' }
  | { kind: 'hold'; deadlineMs: number }
  | { kind: 'release'; members: { uid: string; node: string }[] }
  | { kind: 'refuse'; reason: string };

export interface GangDescription {
  gang: string;
  phase: GangPhase;
  minAvailable: number | null;
  members: number;
  planned: number;
  atBarrier: number;
  bound: number;
  planAgeMs: number | null;
  lastReason: string;
}
