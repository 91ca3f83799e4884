// What the extender service needs from the world, typed with the wire types. kube/ implements them for
// a live cluster, snapshot.ts for a file; tests pass their own.

import type { GangEvent, PodRef } from '../core/gang/planner.js';
import type { ExtenderBindingArgs, KubeObject } from '../wire/extender.js';

/** Milliseconds since the epoch; the core never reads a clock of its own. */
export type Clock = () => number;

export interface Binder {
  /** Creates the pod's binding; resolves when the API server accepted it. Throws ExtenderError. */
  bind(args: ExtenderBindingArgs): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  reason: string;
}

/** Where gang events go to be told to users (Kubernetes Events on the member pods). Never throws. */
export interface EventSink {
  publish(events: readonly GangEvent[]): void;
}

/** Removes the quorum gate from gangs' members, a gang at a time. Never throws. */
export interface Ungater {
  ungate(batches: readonly PodRef[][]): void;
}

/** Asks kube-scheduler to try these pods again (touches them). Never throws. */
export interface Requeuer {
  requeue(pods: readonly PodRef[]): void;
}

/** A filter or prioritize request, decoded: the pod and the nodes offered, in request order. */
export interface VerbArgs {
  pod: KubeObject;
  names: string[];
  /** Full Node objects by name when the scheduler sent them (nodeCacheCapable: false). */
  nodes: Map<string, KubeObject> | null;
}
