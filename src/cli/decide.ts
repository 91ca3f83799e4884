// `edge-gang decide`: the what-if command. Takes a snapshot of a cluster and a manifest, and prints
// each node's verdict and reason for each pod the manifest makes, deciding and binding pods in turn as
// the scheduler would (so a sequence of pods behaves as it would live).

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { loadExtenderConfig } from '../config/extender.js';
import { ClusterState } from '../core/state.js';
import { GangPlanner } from '../core/gang/planner.js';
import type { PodModel } from '../core/model.js';
import { loadSnapshotObjects, snapshotClock, snapshotObjects } from '../extender/snapshot.js';
import { expandWorkload } from '../extender/workloads.js';
import { toPod, toPvc } from '../extender/convert.js';
import { decideSequence, type PodDecision } from '../extender/whatif.js';
import { takeFlag, UsageError } from './args.js';

function print(decisions: PodDecision[], write: (s: string) => void): void {
  for (const d of decisions) {
    const head = d.boundTo ? `bound to ${d.boundTo}${d.releasedBy ? ` (held at the gang bind barrier until ${d.releasedBy} arrived)` : ''}` : d.heldAtBarrier ? `held at the gang bind barrier on ${d.chosen} (fails when the barrier times out)` : `stays Pending${d.bindNote ? `: ${d.bindNote}` : ''}`;
    write(`\npod ${d.pod}: ${head}\n`);
    for (const n of d.nodes) write(`  ${n.verdict.padEnd(13)} ${n.node.padEnd(20)} ${n.reason}\n`);
  }
}

/** The pods a manifest makes; its PersistentVolumeClaims join the state (unless the snapshot has them). */
function manifestPods(state: ClusterState, manifest: string): PodModel[] {
  const pods: PodModel[] = [];
  for (const doc of parseAllDocuments(readFileSync(manifest, 'utf8'))) {
    const o = doc.toJS() as Record<string, unknown> | null;
    if (!o) continue;
    if (o.kind === 'PersistentVolumeClaim') {
      const pvc = toPvc(o);
      if (pvc && !state.pvcs.has(`${pvc.namespace}/${pvc.name}`)) state.setPvc(pvc);
      continue;
    }
    for (const p of expandWorkload(o)) {
      const m = toPod(p);
      if (m) pods.push(m);
    }
  }
  return pods;
}

/** Runs `decide`; throws UsageError for bad arguments. */
export function runDecide(args: string[], write: (s: string) => void): number {
  const snapshot = takeFlag(args, 'snapshot');
  const manifest = takeFlag(args, 'manifest');
  const asJson = args.includes('--json');
  if (asJson) args.splice(args.indexOf('--json'), 1);
  if (!snapshot || !manifest) throw new UsageError('--snapshot and --manifest are required');
  const loaded = loadExtenderConfig(args, {});
  if (loaded.kind === 'invalid') throw new UsageError(loaded.errors.join('; '));
  const state = new ClusterState(loaded.config.core);
  loadSnapshotObjects(state, snapshotObjects(readFileSync(snapshot, 'utf8')));
  const pods = manifestPods(state, manifest);
  if (pods.length === 0) throw new UsageError(`${manifest} makes no pods (expected Pod, Deployment, Job, StatefulSet, TFJob, PyTorchJob)`);
  const now = snapshotClock(state)();
  const planner = new GangPlanner(state);
  const decisions = decideSequence(state, pods, now, planner);
  const gangs = planner.describe(now);
  if (asJson) {
    write(`${JSON.stringify({ pods: decisions, gangs }, null, 2)}\n`);
    return 0;
  }
  print(decisions, write);
  if (gangs.length) {
    write('\ngangs:\n');
    for (const g of gangs) write(`  ${g.gang}: ${g.phase}, ${g.members} members, min ${g.minAvailable ?? '?'}, planned ${g.planned}, at barrier ${g.atBarrier}, bound ${g.bound}${g.lastReason ? ` — ${g.lastReason}` : ''}\n`);
  }
  return 0;
}
