#!/usr/bin/env node
// The operator CLI (package bin `edge-gang`).
//
// decide: the what-if command. Takes a snapshot of a cluster and a manifest, and prints each node's
// verdict and reason for each pod the manifest makes, deciding and binding pods in turn as the
// scheduler would (so a sequence of pods behaves as it would live).
//   npm run cli -- decide --snapshot cluster.yaml --manifest job.yaml [--json]
//
// status: gangs (members seen / min-available / bound, last reason) and each node's VolumeGroups
// (size, free space, report age), from a live cluster and optionally the extender's /debug/gangs.
//   npm run cli -- status [--kubeconfig FILE] [--extender URL] [--json]

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { loadExtenderConfig } from '../config/extender.js';
import { ClusterState } from '../core/state.js';
import { loadSnapshotObjects, snapshotClock, snapshotObjects } from '../extender/snapshot.js';
import { expandWorkload } from '../extender/workloads.js';
import { toPod, toPvc } from '../extender/convert.js';
import { decideSequence, type PodDecision } from '../extender/whatif.js';
import { GangPlanner } from '../core/gang/planner.js';
import { KubeConfig } from '@kubernetes/client-node';
import { collectStatus, renderStatus } from '../cli/status.js';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`edge-gang: ${msg}\n`);
  process.stderr.write(
    'usage: edge-gang decide --snapshot FILE --manifest FILE [--json] [extender flags]\n' +
      '       edge-gang status [--kubeconfig FILE] [--extender URL] [--json]\n',
  );
  process.exit(2);
}

function takeFlag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i] as string;
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
  args.splice(i, a.includes('=') ? 1 : 2);
  return v;
}

function print(decisions: PodDecision[]): void {
  for (const d of decisions) {
    const head = d.boundTo ? `bound to ${d.boundTo}${d.releasedBy ? ` (held at the gang bind barrier until ${d.releasedBy} arrived)` : ''}` : d.heldAtBarrier ? `held at the gang bind barrier on ${d.chosen} (fails when the barrier times out)` : `stays Pending${d.bindNote ? `: ${d.bindNote}` : ''}`;
    process.stdout.write(`\npod ${d.pod}: ${head}\n`);
    for (const n of d.nodes) process.stdout.write(`  ${n.verdict.padEnd(13)} ${n.node.padEnd(20)} ${n.reason}\n`);
  }
}

/** Exit code 1 when something could not be collected (what could be is still printed). */
async function status(args: string[]): Promise<number> {
  const kubeconfig = takeFlag(args, 'kubeconfig');
  const extenderUrl = takeFlag(args, 'extender');
  const asJson = args.includes('--json');
  if (asJson) args.splice(args.indexOf('--json'), 1);
  if (args.length > 0) usage(`status: unexpected argument ${args[0]}`);
  if (kubeconfig === '' || extenderUrl === '') usage('status: --kubeconfig and --extender need a value');
  let kc: KubeConfig | null = new KubeConfig();
  let kubeError = '';
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
  } catch (err) {
    kubeError = `kubeconfig: ${(err as Error).message}`;
    kc = null;
  }
  const s = await collectStatus({ kubeConfig: kc, ...(extenderUrl ? { extenderUrl } : {}) });
  if (kubeError) s.errors.unshift(kubeError);
  if (asJson) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  else process.stdout.write(renderStatus(s, Date.now()));
  return s.errors.length > 0 ? 1 : 0;
}

function main(): void {
  const args = process.argv.slice(2);
  const command = args.shift();
  if (command === 'status') {
    status(args).then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        process.stderr.write(`edge-gang status: ${(err as Error).message}\n`);
        process.exitCode = 1;
      },
    );
    return;
  }
  if (command !== 'decide') usage(command ? `unknown command ${command}` : 'no command');
  const snapshot = takeFlag(args, 'snapshot');
  const manifest = takeFlag(args, 'manifest');
  const asJson = args.includes('--json');
  if (asJson) args.splice(args.indexOf('--json'), 1);
  if (!snapshot || !manifest) usage('--snapshot and --manifest are required');
  const loaded = loadExtenderConfig(args, {});
  if (loaded.kind === 'invalid') usage(loaded.errors.join('; '));
  const state = new ClusterState(loaded.config.core);
  loadSnapshotObjects(state, snapshotObjects(readFileSync(snapshot, 'utf8')));
  const pods = [];
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
  if (pods.length === 0) usage(`${manifest} makes no pods (expected Pod, Deployment, Job, StatefulSet, TFJob, PyTorchJob)`);
  const now = snapshotClock(state)();
  const planner = new GangPlanner(state);
  const decisions = decideSequence(state, pods, now, planner);
  const gangs = planner.describe(now);
  if (asJson) process.stdout.write(`${JSON.stringify({ pods: decisions, gangs }, null, 2)}\n`);
  else {
    print(decisions);
    if (gangs.length) {
      process.stdout.write('\ngangs:\n');
      for (const g of gangs) process.stdout.write(`  ${g.gang}: ${g.phase}, ${g.members} members, min ${g.minAvailable ?? '?'}, planned ${g.planned}, at barrier ${g.atBarrier}, bound ${g.bound}${g.lastReason ? ` — ${g.lastReason}` : ''}\n`);
    }
  }
}

main();
