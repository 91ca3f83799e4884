// Gang dialects: the ways operators say "these pods are one gang", each read here into the same facts,
// so one engine (gang/spec.ts, gang/planner.ts) serves them all. Nothing past gangSpec knows which
// dialect a gang spoke.
//
//   seed               pod labels pod-group.scheduling.sigs.k8s.io/name + .../min-available (seed 002;
//                      ACK, Volcano-lightweight style): everything the gang needs is on its pods.
//   scheduler-plugins  pod label scheduling.x-k8s.io/pod-group naming a PodGroup in the pod's namespace
//                      (Kubeflow training-operator v1.8/1.9 and Trainer v2 with
//                      --gang-scheduler-name=scheduler-plugins): minMember, scheduleTimeoutSeconds and
//                      minResources are on the PodGroup, which ClusterState resolves onto each member
//                      (PodModel.podGroup) with the index below.
//
// The group key is `namespace/name` in both. Pods of the two dialects with the same name in one
// namespace are one gang, whose members must agree on min-available as any members must (a label "3"
// and a PodGroup minMember 3 agree). A pod naming two different groups is refused (memberView).

import type { PodGroupModel, PodGroupRef, PodModel } from './model.js';
import { LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME, LABEL_SCHEDULER_PLUGINS_POD_GROUP, PODGROUP_API } from '../wire/keys.js';

/** The gang key "namespace/name" of a pod (the seed label first), or null for a pod of no gang. */
export function groupKeyOf(pod: Pick<PodModel, 'namespace' | 'labels'>): string | null {
  const seed = pod.labels[LABEL_POD_GROUP_NAME];
  if (seed) return `${pod.namespace}/${seed}`;
  const pg = pod.labels[LABEL_SCHEDULER_PLUGINS_POD_GROUP];
  return pg ? `${pod.namespace}/${pg}` : null;
}

/** "namespace/name" of the PodGroup a pod's scheduling.x-k8s.io/pod-group label names, or null. */
export function podGroupKeyOf(pod: Pick<PodModel, 'namespace' | 'labels'>): string | null {
  const pg = pod.labels[LABEL_SCHEDULER_PLUGINS_POD_GROUP];
  return pg ? `${pod.namespace}/${pg}` : null;
}

/** One member's say on min-available, and which dialect said it. */
export interface MinClaim {
  value: string;
  source: 'label' | 'podgroup';
}

export type MemberView = { kind: 'ok'; claims: MinClaim[]; podGroup: PodGroupModel | null } | { kind: 'invalid'; reason: string };

/** What a member's dialects say about its gang; reasons are for users and name the pod. */
export function memberView(m: Pick<PodModel, 'name' | 'labels' | 'podGroup'>): MemberView {
  const seed = m.labels[LABEL_POD_GROUP_NAME] ?? '';
  const pg = m.labels[LABEL_SCHEDULER_PLUGINS_POD_GROUP] ?? '';
  if (seed && pg && seed !== pg) {
    return { kind: 'invalid', reason: `pod ${m.name} names two pod groups, "${seed}" (label ${LABEL_POD_GROUP_NAME}) and "${pg}" (label ${LABEL_SCHEDULER_PLUGINS_POD_GROUP}); a pod belongs to one gang` };
  }
  const claims: MinClaim[] = [];
  if (seed) claims.push({ value: m.labels[LABEL_POD_GROUP_MIN_AVAILABLE] ?? '(missing)', source: 'label' });
  if (!pg) return { kind: 'ok', claims, podGroup: null };
  const ref = m.podGroup ?? 'missing';
  if (ref === 'missing') return { kind: 'invalid', reason: `waiting for PodGroup "${pg}" (label ${LABEL_SCHEDULER_PLUGINS_POD_GROUP} on ${m.name}): it does not exist yet` };
  if (ref === 'no-crd') {
    return { kind: 'invalid', reason: `PodGroup "${pg}" (label ${LABEL_SCHEDULER_PLUGINS_POD_GROUP} on ${m.name}) cannot be read: the cluster does not serve ${PODGROUP_API.group}/${PODGROUP_API.version} ${PODGROUP_API.plural} (install the CRD ${PODGROUP_API.crd})` };
  }
  claims.push({ value: String(ref.minMember), source: 'podgroup' });
  return { kind: 'ok', claims, podGroup: ref };
}

function sameSpec(a: PodGroupModel, b: PodGroupModel): boolean {
  return a.uid === b.uid && a.minMember === b.minMember && a.scheduleTimeoutSeconds === b.scheduleTimeoutSeconds && a.creationMs === b.creationMs &&
    JSON.stringify(a.minResources) === JSON.stringify(b.minResources);
}

/**
 * The PodGroups ClusterState knows and which pods name each (by the label, whatever their gang key):
 * what resolves a pod's PodGroupRef. Changes report the keys whose members must be resolved again;
 * a PodGroup whose spec did not change (a status write) reports none.
 */
export class PodGroupIndex {
  private readonly groups = new Map<string, PodGroupModel>();
  private readonly labelled = new Map<string, Set<string>>();
  /** False while the cluster does not serve PodGroups (no CRD): pods naming one are told so. */
  private served = true;

  get size(): number {
    return this.groups.size;
  }

  get(key: string): PodGroupModel | undefined {
    return this.groups.get(key);
  }

  all(): IterableIterator<PodGroupModel> {
    return this.groups.values();
  }

  /** Uids of the pods whose label names this PodGroup. */
  membersOf(key: string): ReadonlySet<string> {
    return this.labelled.get(key) ?? NONE;
  }

  /** The pod with its PodGroupRef as of now; a pod without the label comes back without one. */
  resolve(pod: PodModel): PodModel {
    const key = podGroupKeyOf(pod);
    if (key === null) {
      if (pod.podGroup === undefined) return pod;
      const copy = { ...pod };
      delete copy.podGroup;
      return copy;
    }
    const ref: PodGroupRef = this.groups.get(key) ?? (this.served ? 'missing' : 'no-crd');
    return pod.podGroup === ref ? pod : { ...pod, podGroup: ref };
  }

  index(pod: PodModel, sign: 1 | -1): void {
    const key = podGroupKeyOf(pod);
    if (key === null) return;
    let s = this.labelled.get(key);
    if (sign === 1) {
      if (!s) {
        s = new Set();
        this.labelled.set(key, s);
      }
      s.add(pod.uid);
    } else if (s) {
      s.delete(pod.uid);
      if (s.size === 0) this.labelled.delete(key);
    }
  }

  set(pg: PodGroupModel): string[] {
    const key = `${pg.namespace}/${pg.name}`;
    const prev = this.groups.get(key);
    this.groups.set(key, pg);
    return prev && sameSpec(prev, pg) ? [] : [key];
  }

  delete(namespace: string, name: string): string[] {
    const key = `${namespace}/${name}`;
    return this.groups.delete(key) ? [key] : [];
  }

  setServed(served: boolean): string[] {
    if (served === this.served) return [];
    this.served = served;
    if (!served) this.groups.clear();
    return [...this.labelled.keys()];
  }

  isServed(): boolean {
    return this.served;
  }
}

const NONE: ReadonlySet<string> = new Set();
