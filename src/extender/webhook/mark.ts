// The mutating webhook's decisions (issue 12), pure: which pods get the scheduling mark, and the JSON
// Patch that adds it. kube-scheduler sends a pod to the extender only when a container requests one of
// the extender's managedResources (pkg/scheduler/extender.go IsInterested), so the mark is what puts a
// pod on our path; every other pod is bound by kube-scheduler alone.
//
// Rules:
//  - mark gang members (either dialect's pod-group label, core/dialects.ts) and pods with a local-LVM claim;
//  - whatever the cache does not know (a PVC, a StorageClass, the default class) counts as local: an
//    unneeded mark costs one extender round trip, a missing one lets a gang member bind alone;
//  - the mark goes on the first container, requests = limits = 1 (extended resources must be equal);
//  - the user's own requests and limits are never changed, and a pod that already requests the mark
//    (ours from an earlier invocation, or the user's) gets no patch.

import { parseQuantity } from '../../core/quantity.js';
import { groupKeyOf } from '../../core/dialects.js';
import { DEFAULT_SCHEDULER_NAME, RESOURCE_SCHEDULING_MARK, SCHEDULING_GATE_GANG } from '../../wire/keys.js';
import { arr, isObj, obj, str, strMap, type Obj } from '../json.js';

/** What the webhook asks of the extender's cache. undefined always means "not known (yet)". */
export interface MarkLookup {
  /** The StorageClass name of a PVC; null when the claim has none, undefined when the cache does not know the claim. */
  pvcClass(namespace: string, claimName: string): string | null | undefined;
  /** Whether a StorageClass is local LVM; undefined when the cache does not know the class. */
  isLocalClass(name: string): boolean | undefined;
  /** The cluster's default StorageClass; null when there is none, undefined when it is not known. */
  defaultClass(): string | null | undefined;
  /**
   * Whether the extender serves pods of this schedulerName. A mark on a pod another scheduler places
   * would strand it: that scheduler has no managedResources entry and finds no node with the resource.
   */
  servesScheduler(schedulerName: string): boolean;
  /** Whether gang members get the quorum gate (SCHEDULING_GATE_GANG) at creation (--gang-quorum-gate). */
  gateGangs?(): boolean;
}

/** Why a pod is marked or not: a closed set, used as a metric label. */
export type MarkWhy = 'gang' | 'local-claim' | 'unknown-claim' | 'plain' | 'other-scheduler';

export interface MarkDecision {
  mark: boolean;
  why: MarkWhy;
  reason: string;
}

/** An RFC 6902 operation; the webhook only ever adds. */
export interface JsonPatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

/** Keeps names from untrusted input short in reasons (validation runs after mutating admission). */
function clip(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`;
}

/** RFC 6901: '~' -> '~0', '/' -> '~1', in that order. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

type VolumeVerdict = { kind: 'local' | 'unknown'; reason: string } | { kind: 'other' };

function classVerdict(className: string, lookup: MarkLookup, what: string): VolumeVerdict {
  const local = lookup.isLocalClass(className);
  if (local === undefined) return { kind: 'unknown', reason: `${what} has StorageClass '${clip(className)}', which the cache does not know yet: marked so the extender decides` };
  return local ? { kind: 'local', reason: `${what} has local-LVM StorageClass '${clip(className)}'` } : { kind: 'other' };
}

function volumeVerdict(volume: unknown, namespace: string, lookup: MarkLookup): VolumeVerdict {
  const v = obj(volume);
  const claimName = str(obj(v.persistentVolumeClaim).claimName);
  if (claimName) {
    const what = `claim '${clip(`${namespace}/${claimName}`)}'`;
    const cls = lookup.pvcClass(namespace, claimName);
    if (cls === undefined) return { kind: 'unknown', reason: `${what} is not in the cache yet: marked so the extender decides` };
    return cls === null || cls === '' ? { kind: 'other' } : classVerdict(cls, lookup, what);
  }
  if (!isObj(v.ephemeral)) return { kind: 'other' };
  // Generic ephemeral volume (KEP-1698): the claim does not exist yet, its template says the class.
  const what = `ephemeral volume '${clip(str(v.name))}'`;
  const spec = obj(obj(v.ephemeral.volumeClaimTemplate).spec);
  const named = spec.storageClassName;
  if (typeof named === 'string') return named === '' ? { kind: 'other' } : classVerdict(named, lookup, what);
  // Omitted: the DefaultStorageClass admission plugin gives the claim the default class.
  const dflt = lookup.defaultClass();
  if (dflt === undefined) return { kind: 'unknown', reason: `${what} uses the default StorageClass, which the cache does not know yet: marked so the extender decides` };
  return dflt === null ? { kind: 'other' } : classVerdict(dflt, lookup, `${what} (default class)`);
}

/** The pod's namespace: the AdmissionRequest's (a pod being created may not carry one), else its own, else 'default'. */
export function podNamespace(pod: unknown, requestNamespace = ''): string {
  return requestNamespace || str(obj(obj(pod).metadata).namespace) || 'default';
}

/** Marks exactly gang members and pods with a local-LVM (or not yet known) claim; a known local claim outranks an unknown one in the reason. */
export function markDecision(pod: unknown, lookup: MarkLookup, namespace = podNamespace(pod)): MarkDecision {
  const p = obj(pod);
  const schedulerName = str(obj(p.spec).schedulerName) || DEFAULT_SCHEDULER_NAME;
  if (!lookup.servesScheduler(schedulerName)) {
    return { mark: false, why: 'other-scheduler', reason: `asks for scheduler '${clip(schedulerName)}', which this extender does not serve` };
  }
  const group = groupKeyOf({ namespace, labels: strMap(obj(p.metadata).labels) });
  if (group !== null) return { mark: true, why: 'gang', reason: `member of pod group '${clip(group)}'` };
  let unknown: string | null = null;
  for (const volume of arr(obj(p.spec).volumes)) {
    const v = volumeVerdict(volume, namespace, lookup);
    if (v.kind === 'local') return { mark: true, why: 'local-claim', reason: v.reason };
    if (v.kind === 'unknown') unknown ??= v.reason;
  }
  if (unknown !== null) return { mark: true, why: 'unknown-claim', reason: unknown };
  return { mark: false, why: 'plain', reason: 'neither a pod-group member nor a pod with a local-LVM claim' };
}

/** The mark's amount as the API server would read it: exactly 1 is ours, anything else is the user's. */
function isOne(q: unknown): boolean {
  const r = parseQuantity(q, 1000);
  return r.kind === 'ok' && r.value === 1000;
}

export type MarkPatch =
  | { kind: 'patch'; ops: JsonPatchOp[] }
  | { kind: 'already-marked' }
  | { kind: 'not-patched'; reason: string };

/** Where a container other than the first (or an init container) already requests the mark, if one does. */
function markElsewhere(spec: Obj): string | null {
  const lists: Array<[string, unknown[]]> = [['containers', arr(spec.containers).slice(1)], ['initContainers', arr(spec.initContainers)]];
  for (const [field, list] of lists) {
    for (const c of list) {
      const res = obj(obj(c).resources);
      if (obj(res.requests)[RESOURCE_SCHEDULING_MARK] !== undefined || obj(res.limits)[RESOURCE_SCHEDULING_MARK] !== undefined) {
        return `${field} '${clip(str(obj(c).name))}'`;
      }
    }
  }
  return null;
}

/**
 * The ops that make the first container request the mark (requests = limits = "1"), adding the
 * `resources`, `requests` and `limits` objects only where they are missing. Never replaces a value:
 * an RFC 6902 `add` on an existing member replaces it, so every op's target is absent (or null) first.
 */
export function markPatch(pod: unknown): MarkPatch {
  const spec = obj(obj(pod).spec);
  const containers = arr(spec.containers);
  if (containers.length === 0) return { kind: 'not-patched', reason: 'the pod has no containers' };
  const first = containers[0];
  if (!isObj(first)) return { kind: 'not-patched', reason: 'the first container is not an object' };
  const elsewhere = markElsewhere(spec);
  if (elsewhere) return { kind: 'not-patched', reason: `${elsewhere} already requests ${RESOURCE_SCHEDULING_MARK}: left as the user set it` };
  const base = '/spec/containers/0/resources';
  const resources = first.resources;
  const one = { [RESOURCE_SCHEDULING_MARK]: '1' };
  if (resources === undefined || resources === null) return { kind: 'patch', ops: [{ op: 'add', path: base, value: { requests: { ...one }, limits: { ...one } } }] };
  if (!isObj(resources)) return { kind: 'not-patched', reason: 'the first container\'s resources is not an object' };
  const ops: JsonPatchOp[] = [];
  for (const field of ['requests', 'limits'] as const) {
    const list = resources[field];
    if (list === undefined || list === null) {
      ops.push({ op: 'add', path: `${base}/${field}`, value: { ...one } });
      continue;
    }
    if (!isObj(list)) return { kind: 'not-patched', reason: `the first container's resources.${field} is not an object` };
    const have = list[RESOURCE_SCHEDULING_MARK];
    if (have === undefined || have === null) ops.push({ op: 'add', path: `${base}/${field}/${escapePointer(RESOURCE_SCHEDULING_MARK)}`, value: '1' });
    else if (!isOne(have)) {
      return { kind: 'not-patched', reason: `the first container's ${field} set ${RESOURCE_SCHEDULING_MARK} to '${clip(String(have), 40)}' itself: left as the user set it` };
    }
  }
  return ops.length === 0 ? { kind: 'already-marked' } : { kind: 'patch', ops };
}

export interface Mutation {
  result: 'marked' | 'unchanged';
  /** Why the pod needs the mark or not (the decision's closed set). */
  why: MarkWhy;
  reason: string;
  ops: JsonPatchOp[];
}

/**
 * The op that adds the quorum gate (gates can only be added at creation, which is when the webhook
 * runs); none when the pod carries it already.
 */
export function gatePatch(pod: unknown): JsonPatchOp[] {
  const gates = obj(obj(pod).spec).schedulingGates;
  const gate = { name: SCHEDULING_GATE_GANG };
  if (gates === undefined || gates === null) return [{ op: 'add', path: '/spec/schedulingGates', value: [gate] }];
  if (!Array.isArray(gates)) return [];
  if (gates.some((g) => str(obj(g).name) === SCHEDULING_GATE_GANG)) return [];
  return [{ op: 'add', path: '/spec/schedulingGates/-', value: gate }];
}

/** The decision and the patch together: ops only when the pod needs the mark and does not carry it yet. */
export function mutatePod(pod: unknown, lookup: MarkLookup, namespace = podNamespace(pod)): Mutation {
  const d = markDecision(pod, lookup, namespace);
  if (!d.mark) return { result: 'unchanged', why: d.why, reason: d.reason, ops: [] };
  const p = markPatch(pod);
  const gate = d.why === 'gang' && lookup.gateGangs?.() ? gatePatch(pod) : [];
  if (p.kind === 'patch') return { result: 'marked', why: d.why, reason: d.reason, ops: [...p.ops, ...gate] };
  if (gate.length > 0) return { result: 'marked', why: d.why, reason: `${d.reason}; gated until the gang has its quorum`, ops: gate };
  const note = p.kind === 'already-marked' ? 'already carries the mark' : `not marked: ${p.reason}`;
  return { result: 'unchanged', why: d.why, reason: `${d.reason}; ${note}`, ops: [] };
}
