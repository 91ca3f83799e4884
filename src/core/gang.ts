// Pod groups (gang scheduling). The engine is consulted first by filter and prioritize; it answers
// for gang members and returns null for every other pod.

import type { PodModel } from './model.js';
import type { FilterOutcome, NodeLookup, Score } from './filter.js';
import type { ExtenderBindingArgs } from '../wire/extender.js';

export interface GangEngine {
  /** null: not a gang member (or a member the gang no longer constrains); decide as an ordinary pod. */
  filter(pod: PodModel, nodeNames: string[], nowMs: number, lookup: NodeLookup): FilterOutcome | null;
  prioritize(pod: PodModel, nodeNames: readonly string[]): Score[] | null;
}

/** What the HTTP layer needs beyond the pure engine: the bind barrier and a description for /debug. */
export interface GangRuntime extends GangEngine {
  bind(args: ExtenderBindingArgs, doBind: (a: ExtenderBindingArgs) => Promise<void>, clock: () => number): Promise<void>;
  describe(nowMs: number): unknown[];
  recordFilter?(pod: PodModel, out: FilterOutcome): void;
}
