// What /debug/gangs and the status command show: one line per gang, from the planner's records and
// the cluster's members.

import type { PodModel } from '../model.js';
import type { ClusterState } from '../state.js';
import { gangSpec } from './spec.js';
import type { GangDescription, GangRecord } from './types.js';

export function describeGangs(state: ClusterState, gangs: ReadonlyMap<string, GangRecord>, membersOf: (key: string) => PodModel[], nowMs: number): GangDescription[] {
  const out: GangDescription[] = [];
  for (const key of new Set([...state.groups.keys(), ...gangs.keys()])) {
    const rec = gangs.get(key);
    const members = membersOf(key);
    const spec = gangSpec(key, members, state.config.gang);
    let bound = 0;
    for (const m of members) if (m.nodeName) bound++;
    const min = spec.kind === 'ok' ? spec.spec.minAvailable : null;
    out.push({
      gang: key,
      phase: min !== null && bound >= min ? 'running' : rec?.phase ?? (min !== null && members.length < min ? 'waiting-for-members' : 'queued'),
      minAvailable: min,
      members: members.length,
      planned: rec?.plan?.assignments.size ?? 0,
      atBarrier: rec?.barrier.size ?? 0,
      bound,
      planAgeMs: rec?.plan ? nowMs - rec.plan.createdMs : null,
      lastReason: spec.kind === 'invalid' ? spec.reason : rec?.lastReason ?? '',
    });
  }
  return out.sort((a, b) => (a.gang < b.gang ? -1 : 1));
}
