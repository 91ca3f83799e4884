// Whether a bind request may go ahead (before the adapter creates the pods/binding subresource).

import type { ExtenderBindingArgs } from '../wire/extender.js';
import type { ClusterState } from './state.js';

export type BindCheck =
  | { kind: 'bind' }
  /** A retried bind of a pod already bound to that node: answer success, do nothing. */
  | { kind: 'already-bound' }
  | { kind: 'refused'; reason: string };

/** Binds only a pod that exists, matches PodUID, is ours, is not terminating, and is unbound (or bound to the same node). */
export function checkBind(state: ClusterState, args: ExtenderBindingArgs): BindCheck {
  const key = `${args.PodNamespace}/${args.PodName}`;
  const pod = state.podByKey(args.PodNamespace, args.PodName);
  if (!pod) return { kind: 'refused', reason: `pod ${key} is not known to the extender` };
  if (args.PodUID && pod.uid !== args.PodUID) return { kind: 'refused', reason: `pod ${key} has UID ${pod.uid}, the bind request names ${args.PodUID}` };
  if (pod.nodeName) {
    if (pod.nodeName === args.Node) return { kind: 'already-bound' };
    return { kind: 'refused', reason: `pod ${key} is already bound to ${pod.nodeName}` };
  }
  if (pod.deleting) return { kind: 'refused', reason: `pod ${key} is being deleted` };
  if (pod.terminal) return { kind: 'refused', reason: `pod ${key} has finished` };
  if (!state.config.schedulerNames.includes(pod.schedulerName)) {
    return { kind: 'refused', reason: `pod ${key} asks for scheduler ${pod.schedulerName}, not one this extender serves (${state.config.schedulerNames.join(', ')})` };
  }
  if (!state.nodes.has(args.Node)) return { kind: 'refused', reason: `node ${args.Node} is not known to the extender` };
  return { kind: 'bind' };
}
