// The shapes every decision shares: what filter answers for one pod, scores, and the gang
// engine's hooks into filter and prioritize. Their own file, so filter.ts and the gang planner do not
// import each other.

import type { NodeModel, PodModel } from './model.js';

export type DecisionKind = 'plain' | 'local-lvm' | 'gang' | 'blocked';

/** Every input node ends in exactly one of passed, failed (may fit later), unresolvable (never, as the pod is). */
export interface FilterOutcome {
  kind: DecisionKind;
  passed: string[];
  failed: Record<string, string>;
  unresolvable: Record<string, string>;
  /**
   * When nothing passed: the same split with reasons that do not carry each node's own numbers (one
   * per VolumeGroup and cause, with the pod's need and the most any node has), so kube-scheduler's
   * message, which counts alike reasons once, stays short however many nodes there are. The per-node
   * reasons above stay for `decide` and the logs.
   */
  compact?: { failed: Record<string, string>; unresolvable: Record<string, string> };
}

export type NodeLookup = (name: string) => NodeModel | undefined;

export interface Score {
  host: string;
  score: number;
}

export interface GangEngine {
  /** null: not a gang member (or a member the gang no longer constrains); decide as an ordinary pod. */
  filter(pod: PodModel, nodeNames: string[], nowMs: number, lookup: NodeLookup): FilterOutcome | null;
  prioritize(pod: PodModel, nodeNames: readonly string[]): Score[] | null;
}
