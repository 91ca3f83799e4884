// `edge-gang decide`: the what-if command. Takes a snapshot of a cluster and a manifest, and prints
// each node's verdict and reason for each pod the manifest makes, deciding and binding pods in turn as
// the scheduler would (so a sequence of pods behaves as it would live: a bound pod's local claims are
// provisioned on its node and count against that VG for the pods after it).

import { readFileSync } from 'node:fs';
import { loadExtenderConfig } from '../config/extender.js';
import type { CoreConfig } from '../core/config.js';
import { ClusterState } from '../core/state.js';
import { GangPlanner, type GangDescription } from '../core/gang/planner.js';
import type { PodModel } from '../core/model.js';
import { formatBytes } from '../core/quantity.js';
import { loadSnapshotObjects, snapshotObjects, snapshotTimeMs } from '../extender/snapshot.js';
import { toPod, toPvc } from '../extender/convert.js';
import { decideSequence, type PodDecision } from '../extender/whatif.js';
import { takeFlag, UsageError } from './args.js';
import { manifestObjects } from './manifest.js';

type Obj = Record<string, unknown>;

export interface WhatIf {
  /** One per pod the manifest makes, in order. */
  pods: PodDecision[];
  gangs: GangDescription[];
  /** The time decided at: the snapshot's newest capacity report (or the clock's, without one). */
  nowMs: number;
  /** The state after every decision (binds and provisioned volumes recorded). */
  state: ClusterState;
}

/**
 * The what-if itself, in memory: loads the snapshot's objects, adds the manifest's claims (unless the
 * snapshot has them) and decides its pods in order. `decide` prints what this returns.
 */
export function decideWhatIf(core: CoreConfig, snapshot: readonly Obj[], manifest: readonly Obj[], realNow: () => number = Date.now): WhatIf {
  const state = new ClusterState(core);
  loadSnapshotObjects(state, [...snapshot]);
  const made = manifestObjects(manifest);
  for (const o of made.claims) {
    const pvc = toPvc(o);
    if (pvc && !state.pvcs.has(`${pvc.namespace}/${pvc.name}`)) state.setPvc(pvc);
  }
  const pods = made.pods.map(toPod).filter((p): p is PodModel => p !== null);
  const nowMs = snapshotTimeMs(state) ?? realNow();
  const planner = new GangPlanner(state);
  const decisions = decideSequence(state, pods, nowMs, planner);
  return { pods: decisions, gangs: planner.describe(nowMs), nowMs, state };
}

function headOf(d: PodDecision): string {
  if (d.boundTo) return `bound to ${d.boundTo}${d.releasedBy ? ` (held at the gang bind barrier until ${d.releasedBy} arrived)` : ''}`;
  if (d.heldAtBarrier) return `held at the gang bind barrier on ${d.chosen} (fails when the barrier times out)`;
  return `stays Pending: ${d.bindNote || d.reason}`;
}

function print(w: WhatIf, write: (s: string) => void): void {
  for (const d of w.pods) {
    write(`\npod ${d.pod}: ${headOf(d)}\n`);
    for (const n of d.nodes) write(`  ${n.verdict.padEnd(13)} ${n.node.padEnd(20)} ${n.reason}\n`);
    for (const v of d.volumes) write(`  volume        ${v.claim}: ${formatBytes(v.bytes)} provisioned on ${v.node} ${v.vg} (${v.pv})\n`);
  }
  if (w.gangs.length) {
    write('\ngangs:\n');
    for (const g of w.gangs) write(`  ${g.gang}: ${g.phase}, ${g.members} members, min ${g.minAvailable ?? '?'}, planned ${g.planned}, at barrier ${g.atBarrier}, bound ${g.bound}${g.lastReason ? ` — ${g.lastReason}` : ''}\n`);
  }
}

function readObjects(path: string, what: string): Obj[] {
  try {
    return snapshotObjects(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
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
  const w = decideWhatIf(loaded.config.core, readObjects(snapshot, 'snapshot'), readObjects(manifest, 'manifest'));
  if (w.pods.length === 0) throw new UsageError(`${manifest} makes no pods (expected Pod, Deployment, Job, StatefulSet, TFJob, PyTorchJob)`);
  if (asJson) {
    write(`${JSON.stringify({ pods: w.pods, gangs: w.gangs }, null, 2)}\n`);
    return 0;
  }
  print(w, write);
  return 0;
}
