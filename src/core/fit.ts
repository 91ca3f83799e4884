// Whether a pod fits a node on the things kube-scheduler's in-tree filters check and the gang plan
// must check for itself: resources (NodeResourcesFit), node selector and required node affinity
// (NodeAffinity), taints (TaintToleration), unschedulable (NodeUnschedulable).

import type { NodeModel, NodeSelectorTerm, PodModel, Resources, Taint, Toleration } from './model.js';
import { formatResource } from './quantity.js';

export type Verdict =
  | { kind: 'fits' }
  /** unresolvable: no amount of freed capacity or preemption would help (selector, taint, missing VG). */
  | { kind: 'rejected'; reason: string; unresolvable: boolean };

export const FITS: Verdict = Object.freeze({ kind: 'fits' });

/** True when the toleration tolerates the taint (core/v1 Toleration.ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== '' && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return t.value === taint.value;
}

/** The first NoSchedule/NoExecute taint the pod does not tolerate, or null. */
export function untoleratedTaint(pod: PodModel, node: NodeModel): Taint | null {
  for (const taint of node.taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!pod.tolerations.some((t) => tolerates(t, taint))) return taint;
  }
  return null;
}

function requirementHolds(labels: Record<string, string>, nodeName: string, key: string, operator: string, values: string[]): boolean {
  const has = key === 'metadata.name' ? true : Object.prototype.hasOwnProperty.call(labels, key);
  const value = key === 'metadata.name' ? nodeName : labels[key];
  switch (operator) {
    case 'In': return has && values.includes(value as string);
    case 'NotIn': return !has || !values.includes(value as string);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1) return false;
      const a = Number.parseInt(value as string, 10);
      const b = Number.parseInt(values[0] as string, 10);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return operator === 'Gt' ? a > b : a < b;
    }
    default: return false;
  }
}

/** A term with no requirements matches nothing (core/v1 NodeSelectorTerm semantics). */
export function termMatches(term: NodeSelectorTerm, node: NodeModel): boolean {
  if (term.length === 0) return false;
  return term.every((r) => requirementHolds(node.labels, node.name, r.key, r.operator, r.values));
}

/** Node selector and required node affinity; reasons name the first mismatch. */
export function placementVerdict(pod: PodModel, node: NodeModel): Verdict {
  for (const [k, v] of Object.entries(pod.nodeSelector)) {
    if (node.labels[k] !== v) return { kind: 'rejected', reason: `node selector ${k}=${v} does not match`, unresolvable: true };
  }
  if (pod.affinityTerms && !pod.affinityTerms.some((t) => termMatches(t, node))) {
    return { kind: 'rejected', reason: 'required node affinity does not match', unresolvable: true };
  }
  if (node.unschedulable) return { kind: 'rejected', reason: 'node is unschedulable (cordoned)', unresolvable: true };
  const taint = untoleratedTaint(pod, node);
  if (taint) return { kind: 'rejected', reason: `untolerated taint ${taint.key}${taint.value ? '=' + taint.value : ''}:${taint.effect}`, unresolvable: true };
  return FITS;
}

/** Resource fit given what is already used on the node; `pods` counts as one per pod. */
export function resourceVerdict(requests: Resources, allocatable: Resources, used: Resources): Verdict {
  for (const [name, want] of Object.entries(requests)) {
    if (want <= 0) continue;
    const cap = allocatable[name] ?? 0;
    const free = cap - (used[name] ?? 0);
    if (want > free) {
      return {
        kind: 'rejected',
        reason: `insufficient ${name}: requested ${formatResource(name, want)}, free ${formatResource(name, Math.max(0, free))} of ${formatResource(name, cap)}`,
        unresolvable: want > cap,
      };
    }
  }
  const podsFree = (allocatable.pods ?? 110) - (used.pods ?? 0);
  if (podsFree < 1) return { kind: 'rejected', reason: 'too many pods', unresolvable: false };
  return FITS;
}

export function addResources(into: Resources, add: Resources, sign = 1): void {
  for (const [k, v] of Object.entries(add)) {
    const next = (into[k] ?? 0) + sign * v;
    if (next === 0) delete into[k];
    else into[k] = next;
  }
}
