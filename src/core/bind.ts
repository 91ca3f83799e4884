// Whether a bind request may go ahead (before the adapter creates the pods/binding subresource).

import type { ExtenderBindingArgs } from '../wire/extender.js';
import type { ClusterState } from './state.js';
import { placementVerdict, resourceVerdict } from './fit.js';
import { podVolumeNeeds, vgVerdict } from './lvm.js';

export type BindCheck =
  | { kind: 'bind' }
  /** A retried bind of a pod already bound to that node: answer success, do nothing. */
  | { kind: 'already-bound' }
  /** lag: our watch may simply be behind the scheduler's (unknown pod or node, a fit that frees up). */
  | { kind: 'refused'; reason: string; lag?: boolean };

/**
 * Binds only a pod that exists, matches PodUID, is ours, is not terminating, is unbound (or bound to
 * the same node), to a node the extender would accept now: selector, affinity, taints, resources
 * (bound pods and gang holds other than its own) and local volumes.
 */
export function checkBind(state: ClusterState, args: ExtenderBindingArgs, nowMs: number): BindCheck {
  const key = `${args.PodNamespace}/${args.PodName}`;
  const pod = state.podByKey(args.PodNamespace, args.PodName);
  if (!pod) return { kind: 'refused', reason: `pod ${key} is not known to the extender`, lag: true };
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
  const node = state.nodes.get(args.Node);
  if (!node) return { kind: 'refused', reason: `node ${args.Node} is not known to the extender`, lag: true };
  const placement = placementVerdict(pod, node);
  if (placement.kind !== 'fits') return { kind: 'refused', reason: `pod ${key} does not fit ${args.Node}: ${placement.reason}` };
  const res = resourceVerdict(pod.requests, node.allocatable, state.committedOn(node.name, pod.uid));
  if (res.kind !== 'fits') return { kind: 'refused', reason: `pod ${key} does not fit ${args.Node}: ${res.reason}`, lag: true };
  const volumes = podVolumeNeeds(state, pod);
  if (volumes.kind === 'needs') {
    const v = vgVerdict(state, node, volumes, nowMs);
    if (v.kind !== 'fits') return { kind: 'refused', reason: `pod ${key} does not fit ${args.Node}: local-lvm: ${v.reason}`, lag: true };
  }
  return { kind: 'bind' };
}
