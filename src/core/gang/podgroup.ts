// What the scheduler-plugins dialect adds to a gang beyond min-available (pure):
//  - minResources, a quick refusal before the placement search: the cluster's total free allocatable
//    (schedulable nodes, after what is used and held; this gang's own bound members given back), plus
//    minMember pod slots, as scheduler-plugins' Coscheduling PreFilter checks (CheckClusterResource);
//  - the PodGroup status the extender writes back, from its own view of the members, in the phases of
//    scheduler-plugins v0.35 (apis/scheduling/v1alpha1/types.go): Pending until minMember are bound,
//    Scheduling once they are, Running once minMember run (or succeeded), Finished once minMember
//    succeeded, Failed once one failed and no more can run. Finished and Failed are final, as in its
//    controller. Unknown ("part of minMember scheduled, the rest cannot be") is not written: for this
//    extender a partly bound gang is a barrier releasing its members one Binding at a time.

import type { PodGroupModel, PodModel, Resources } from '../model.js';
import type { ClusterState } from '../state.js';
import { formatResource } from '../quantity.js';
import { PODGROUP_PHASES, type PodGroupPhase } from '../../wire/keys.js';

/** The PodGroup the members name, if they speak that dialect. */
function podGroupOf(members: readonly PodModel[]): PodGroupModel | null {
  for (const m of members) if (m.podGroup !== undefined && typeof m.podGroup !== 'string') return m.podGroup;
  return null;
}

/** Why the cluster cannot hold the PodGroup's minResources now, with the numbers; null when it can (or none are set). */
export function minResourcesGap(state: ClusterState, members: readonly PodModel[]): string | null {
  const pg = podGroupOf(members);
  if (!pg || Object.keys(pg.minResources).length === 0) return null;
  const need: Resources = { ...pg.minResources, pods: Math.max(1, pg.minMember) };
  const names = Object.keys(need).sort((a, b) => (a.includes('/') === b.includes('/') ? (a < b ? -1 : 1) : a.includes('/') ? -1 : 1));
  const free: Resources = {};
  let nodes = 0;
  for (const node of state.sortedNodes()) {
    if (node.unschedulable) continue;
    nodes++;
    for (const r of names) free[r] = (free[r] ?? 0) + Math.max(0, state.freeOf(node, r));
  }
  // Members already bound hold part of what the group needs: their share counts as the group's own.
  for (const uid of state.groups.get(`${pg.namespace}/${pg.name}`) ?? []) {
    const p = state.pods.get(uid);
    if (!p || !p.nodeName || p.terminal || state.nodes.get(p.nodeName)?.unschedulable !== false) continue;
    for (const r of names) free[r] = (free[r] ?? 0) + (r === 'pods' ? 1 : p.requests[r] ?? 0);
  }
  for (const r of names) {
    const want = need[r] ?? 0;
    const have = free[r] ?? 0;
    if (want > have) {
      const what = r === 'pods' ? `${want} pod slots (minMember)` : `${formatResource(r, want)} ${r}`;
      return `PodGroup minResources needs ${what}, ${formatResource(r, have)} free on the ${nodes} schedulable nodes`;
    }
  }
  return null;
}

/** The status fields the extender writes (status subresource of the PodGroup). */
export interface PodGroupStatusFields {
  phase: PodGroupPhase | '';
  running: number;
  succeeded: number;
  failed: number;
  /** RFC 3339; '' while not set. */
  scheduleStartTime: string;
}

/** Members that finished (not in ClusterState, whose pod watch leaves finished pods out). */
export interface FinishedCounts {
  succeeded: number;
  failed: number;
}

const FINAL: ReadonlySet<string> = new Set([PODGROUP_PHASES.finished, PODGROUP_PHASES.failed]);

/**
 * The PodGroup's status as the extender sees its members now. `observed` is the status on the object;
 * scheduleStartTime is set once, when the members first reach minMember.
 */
export function podGroupStatus(state: ClusterState, pg: PodGroupModel, finished: FinishedCounts, observed: PodGroupStatusFields, nowMs: number): PodGroupStatusFields {
  if (FINAL.has(observed.phase)) return observed;
  const min = Math.max(1, pg.minMember);
  let members = 0;
  let scheduled = finished.succeeded + finished.failed;
  let running = 0;
  for (const uid of state.podGroups.membersOf(`${pg.namespace}/${pg.name}`)) {
    const p = state.pods.get(uid);
    if (!p || p.terminal) continue;
    if (p.phase === 'Running') running++;
    if (p.deleting) continue;
    members++;
    if (p.nodeName) scheduled++;
  }
  const { succeeded, failed } = finished;
  let phase: PodGroupPhase = PODGROUP_PHASES.pending;
  if (succeeded >= min) phase = PODGROUP_PHASES.finished;
  else if (failed > 0 && failed + running + succeeded >= min) phase = PODGROUP_PHASES.failed;
  else if (running + succeeded >= min) phase = PODGROUP_PHASES.running;
  else if (scheduled >= min) phase = PODGROUP_PHASES.scheduling;
  const started = observed.scheduleStartTime || (members + succeeded + failed >= min ? new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z') : '');
  return { phase, running, succeeded, failed, scheduleStartTime: started };
}

/** The merge patch of the status fields that differ, or null when none does. */
export function statusPatch(observed: PodGroupStatusFields, desired: PodGroupStatusFields): Partial<PodGroupStatusFields> | null {
  const out: Partial<PodGroupStatusFields> = {};
  let any = false;
  for (const k of ['phase', 'running', 'succeeded', 'failed', 'scheduleStartTime'] as const) {
    if (observed[k] === desired[k]) continue;
    (out as Record<string, unknown>)[k] = desired[k];
    any = true;
  }
  return any ? out : null;
}
