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
  /** Cached answer of fitsEmptyCluster for one node set. */
  emptyFit?: { nodes: readonly NodeModel[]; key: string; fits: boolean };
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
