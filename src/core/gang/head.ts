// The starvation guard's question: would the gang fit this cluster with nothing else on it? A gang
// that would not can never be the head (it would block every gang ranked after it for nothing).

import type { PodModel } from '../model.js';
import { ClusterState } from '../state.js';
import { planPlacement } from './placement.js';
import type { GangSpec } from './spec.js';
import type { GangRecord } from './types.js';

/** Whether the planner would place the gang on this cluster with nothing else on it (cached per node set). */
export function fitsEmptyCluster(state: ClusterState, rec: GangRecord, spec: GangSpec, members: PodModel[], nowMs: number): boolean {
  const nodes = state.sortedNodes();
  const unbound = members.filter((m) => !m.nodeName);
  const key = `${unbound.length}/${spec.minAvailable - (members.length - unbound.length)}`;
  if (rec.emptyFit && rec.emptyFit.nodes === nodes && rec.emptyFit.key === key) return rec.emptyFit.fits;
  const empty = new ClusterState(state.config);
  for (const n of nodes) empty.setNode(n);
  for (const sc of state.storageClasses.values()) empty.setStorageClass(sc);
  for (const m of unbound) {
    for (const c of m.claimNames) {
      const pvc = state.pvcs.get(`${m.namespace}/${c}`);
      if (pvc) empty.setPvc(pvc);
    }
  }
  const fits = planPlacement(empty, unbound, spec.minAvailable - (members.length - unbound.length), spec.sameNodeLabel, nowMs).kind === 'planned';
  rec.emptyFit = { nodes, key, fits };
  return fits;
}
