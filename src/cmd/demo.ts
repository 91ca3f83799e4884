// `npm run demo`: one command that shows what the extender does, on this machine, with real
// etcd + kube-apiserver + kube-scheduler (the shipped configuration), the extender in-process and a
// fake CSI provisioner. It plays seed 002's two stories: the TFJob on 4 GPUs (5.3.1) and the LVM
// claim that must land where the VolumeGroup has room (8.3). No kubelet runs, so "bound" means
// kube-scheduler (through the extender's bind) set spec.nodeName; a kubelet would then start the pod.
//
// Dev tool: it reuses the e2e harness under test/harness, so it runs with tsx and is left out of
// tsconfig.build.json. It stops everything it started on success, error, Ctrl-C and SIGTERM.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pino } from 'pino';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { toPod } from '../extender/convert.js';
import { podVolumeNeeds, vgFreeBytes, vgVerdict } from '../core/lvm.js';
import { formatBytes } from '../core/quantity.js';
import { parseCapacityReport } from '../wire/capacity.js';
import { ANNOTATION_VG_CAPACITY, DEFAULT_LOCAL_STORAGE_CLASS, DEFAULT_VG_NAME, LABEL_EDGE_WORKER, LABEL_LOCAL_STORAGE } from '../wire/keys.js';
import { GiB, createNodes, createPods, createPvc, ensureStorageClass, listPods, makeLocalLvmStorageClass, makeNode, waitFor } from '../localcluster/objects.js';
import { LoopLab, requireRootAndTools, seedConfigMap } from '../localcluster/loop-lab.js';
import { parse as parseYaml } from 'yaml';
import { LVM_POD_NAME, LVM_PVC_NAME, TFJOB_MIN_AVAILABLE, TFJOB_NAME, seedLvmPod, seedLvmPvc, tfJobPods } from '../localcluster/seed002.js';
import { startStack, type Stack } from '../localcluster/stack.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const BUILD_SCRIPT = resolve(REPO_ROOT, 'test/controlplane/build.sh');
const NS = 'default';
const MiB = 1024 ** 2;
const SETTLE_MS = 8000;

const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pad = (s: string, n: number) => s.padEnd(n);

let stack: Stack | undefined;
let buildChild: ReturnType<typeof spawn> | undefined;
let agentChild: ReturnType<typeof spawn> | undefined;
let lab: LoopLab | undefined;
let agentSkipReason = '';

/**
 * node-resource-manager for edge-0 on three loop devices, when this runs as root with lvm2; else null
 * (and the reason in agentSkipReason). The VG name is unique per run, so nothing on the host is touched.
 */
async function startRealAgent(s: Stack): Promise<{ vgName: string; devices: string[] } | null> {
  try {
    requireRootAndTools();
  } catch (err) {
    agentSkipReason = (err as Error).message.split('\n')[1]?.replace(/^\s*- /, '') ?? 'not root';
    return null;
  }
  lab = new LoopLab();
  await lab.start();
  lab.assertReady();
  const vgName = lab.vg('volumegroup1');
  const devices = ['sdb1', 'sdb2', 'sdc'].map((n) => lab!.loop(n, { sizeMiB: 256 }));
  const cm = parseYaml(seedConfigMap(vgName, devices)) as Record<string, unknown>;
  await s.core.createNamespacedConfigMap({ namespace: 'kube-system', body: cm });
  agentChild = spawn(process.execPath, [
    '--import', 'tsx', resolve(REPO_ROOT, 'src/cmd/node-resource-manager.ts'),
    '--kubeconfig', s.cp.kubeconfigPath, '--node-name', 'edge-0', '--state-dir', resolve(lab.dir, 'state'),
    '--metrics-port', '0', '--resync-interval-ms', '5000', '--heartbeat-interval-ms', '30000', '--log-level', 'error',
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return { vgName, devices };
}

function heading(text: string): void {
  out();
  out(text);
  out('-'.repeat(text.length));
}

/** Runs build.sh with its progress on stderr; returns the binaries directory. */
async function buildControlPlane(): Promise<string> {
  out(`Checking the control plane binaries (${BUILD_SCRIPT.slice(REPO_ROOT.length + 1)}).`);
  out('  If they are not cached yet, this compiles etcd, kube-apiserver and kube-scheduler from source with Go:');
  out('  the first build takes about 4-5 minutes; later runs reuse ~/.cache/gang-lvm-scheduler.');
  const t = Date.now();
  const dir = await new Promise<string>((res, rej) => {
    const child = spawn('bash', [BUILD_SCRIPT], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    buildChild = child;
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => (stdout += c));
    child.on('error', (err) => rej(new Error(`cannot run ${BUILD_SCRIPT}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      buildChild = undefined;
      if (code === 0) res(stdout.trim().split('\n').pop() ?? '');
      else rej(new Error(`${BUILD_SCRIPT} failed (${signal ?? `exit code ${code}`}); it needs Go >= 1.24 and the Go module proxy. See its output above.`));
    });
  });
  out(`  binaries ready in ${secs(Date.now() - t)}: ${dir}`);
  return dir;
}

interface PodRow {
  name: string;
  node: string;
}

function podRows(pods: V1Pod[]): PodRow[] {
  return pods.map((p) => ({ name: p.metadata?.name ?? '', node: p.spec?.nodeName ?? '' })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

function printPods(rows: PodRow[]): void {
  out(`    ${pad('POD', 24)}${pad('STATUS', 11)}NODE`);
  for (const r of rows) out(`    ${pad(r.name, 24)}${pad(r.node ? 'Scheduled' : 'Pending', 11)}${r.node || '-'}`);
}

async function latestEvent(core: CoreV1Api, reason: string, pod?: string): Promise<string | undefined> {
  const list = await core.listNamespacedEvent({ namespace: NS });
  const hits = list.items
    .filter((e) => e.reason === reason && e.involvedObject.kind === 'Pod' && (!pod || e.involvedObject.name === pod))
    .sort((a, b) => new Date(a.lastTimestamp ?? a.eventTime ?? 0).getTime() - new Date(b.lastTimestamp ?? b.eventTime ?? 0).getTime());
  return hits.at(-1)?.message;
}

// ---------------------------------------------------------------------------------------------
// Story 1: seed 002, 5.3.1

interface GangResult {
  reason: string;
  boundAfterMs: number;
  spreadMs: number;
  placement: PodRow[];
}

async function gangStory(s: Stack): Promise<GangResult> {
  const { core } = s;
  heading('Story 1: gang scheduling (seed 002, 5.3.1)');
  out('  The seed runs TFJob tf-smoke-gpu (1 PS + 4 workers with 2 GPUs each) on a cluster with 4 GPUs.');
  out('  Without gang scheduling kube-scheduler binds the PS and 2 workers, and 2 workers wait forever');
  out('  while the bound ones hold all 4 GPUs. With the pod-group labels the extender binds all or nothing.');
  out();
  out('  Nodes: gpu-0 (2 GPUs), gpu-1 (2 GPUs): 4 GPUs in all.');
  await createNodes(core, [makeNode('gpu-0').gpu(2), makeNode('gpu-1').gpu(2)]);
  out(`  Creating the TFJob's 5 pods, labelled pod-group.scheduling.sigs.k8s.io/name=${TFJOB_NAME}, min-available="${TFJOB_MIN_AVAILABLE}":`);
  out(`    ${TFJOB_NAME}-ps-0 asks for cpu 1; ${TFJOB_NAME}-worker-0..3 ask for nvidia.com/gpu 2 each (8 GPUs).`);
  await createPods(core, tfJobPods(NS, { gang: true }));
  out(`  Waiting ${SETTLE_MS / 1000} s for kube-scheduler to try them ...`);
  await sleep(SETTLE_MS);
  const before = podRows(await listPods(core, NS, `tf-job-name=${TFJOB_NAME}`));
  const boundEarly = before.filter((r) => r.node);
  if (before.length !== 5 || boundEarly.length > 0) {
    printPods(before);
    throw new Error(`expected all 5 TFJob pods Pending on 4 GPUs, but ${boundEarly.length} are bound`);
  }
  out(`  Result: all 5 Pending, none bound (all or nothing):`);
  printPods(before);
  const reason = await waitFor(() => latestEvent(core, 'GangUnschedulable'), 15_000, 'a GangUnschedulable event');
  const scheduler = await latestEvent(core, 'FailedScheduling', `${TFJOB_NAME}-worker-0`);
  out(`  Why, from the Events on the pods (kubectl describe pod ${TFJOB_NAME}-worker-0):`);
  out(`    GangUnschedulable (extender):   ${reason}`);
  if (scheduler) out(`    FailedScheduling (scheduler):   ${scheduler}`);

  out();
  out('  Adding gpu-2 and gpu-3 (2 GPUs each): 8 GPUs in all.');
  const added = Date.now();
  await createNodes(core, [makeNode('gpu-2').gpu(2), makeNode('gpu-3').gpu(2)]);
  const firstSeen = new Map<string, number>();
  const after = await waitFor(async () => {
    const rows = podRows(await listPods(core, NS, `tf-job-name=${TFJOB_NAME}`));
    for (const r of rows) if (r.node && !firstSeen.has(r.name)) firstSeen.set(r.name, Date.now());
    return rows.length === 5 && rows.every((r) => r.node) ? rows : undefined;
  }, 60_000, 'all 5 TFJob pods bound', 100);
  const boundAfterMs = Date.now() - added;
  const seen = [...firstSeen.values()];
  const spreadMs = Math.max(...seen) - Math.min(...seen);
  out(`  Result: all 5 bound ${secs(boundAfterMs)} after the GPUs appeared, together (first to last bind seen within ${spreadMs} ms):`);
  printPods(after);
  out('    (No kubelet runs here: Scheduled means bound to the node; its kubelet would now start it Running.)');
  return { reason, boundAfterMs, spreadMs, placement: after };
}

// ---------------------------------------------------------------------------------------------
// Story 2: seed 002, 8.3

interface VgRow {
  node: string;
  text: string;
}

async function vgTable(core: CoreV1Api, nodes: string[], vgName: string): Promise<VgRow[]> {
  const rows: VgRow[] = [];
  for (const name of nodes) {
    const n = await core.readNode({ name });
    const raw = n.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
    const parsed = raw === undefined ? undefined : parseCapacityReport(raw);
    if (parsed?.kind !== 'ok') {
      rows.push({ node: name, text: 'no capacity report' });
      continue;
    }
    const vg = parsed.report.vgs.find((v) => v.name === vgName);
    const others = parsed.report.vgs.filter((v) => v.name !== vgName).map((v) => `${v.name} ${formatBytes(v.sizeBytes)}`);
    rows.push({
      node: name,
      text: vg
        ? `${vgName}  size ${pad(formatBytes(vg.sizeBytes), 7)} free ${pad(formatBytes(vg.freeBytes), 7)} (${vg.pvs.length} PVs)`
        : `no ${vgName}${others.length ? ` (has ${others.join(', ')})` : ''}`,
    });
  }
  return rows;
}

function printVgs(rows: VgRow[]): void {
  for (const r of rows) out(`    ${pad(r.node, 9)}${r.text}`);
}

interface LvmResult {
  node: string;
  refused: { node: string; reason: string }[];
  pv: string;
}

async function lvmStory(s: Stack): Promise<LvmResult> {
  const { core, storage, ext, provisioner } = s;
  heading('Story 2: local LVM capacity (seed 002, 8.3)');
  out(`  The seed's PVC ${LVM_PVC_NAME} (50Mi of ${DEFAULT_LOCAL_STORAGE_CLASS}) and its local-test Deployment (hostNetwork,`);
  out(`  toleration Exists, nodeSelector ${LABEL_EDGE_WORKER}=true). kube-scheduler knows nothing about VolumeGroups;`);
  out(`  the extender reads each node's capacity report and only lets the pod go where the claim fits.`);
  out();
  const nodes = ['edge-0', 'edge-1', 'edge-2'];
  const edge = (name: string) => makeNode(name).label(LABEL_EDGE_WORKER, 'true').label(LABEL_LOCAL_STORAGE, 'true');
  const agent = await startRealAgent(s);
  const vgName = agent?.vgName ?? DEFAULT_VG_NAME;
  await createNodes(core, [
    agent ? edge('edge-0').label('kubernetes.io/storagetype', 'lvm') : edge('edge-0').capacityReport([{ name: vgName, sizeBytes: 10 * GiB }]),
    edge('edge-1').capacityReport([{ name: 'vg-ssd', sizeBytes: 10 * GiB }]),
    edge('edge-2').capacityReport([{ name: vgName, sizeBytes: 1 * GiB, freeBytes: 20 * MiB }]),
  ]);
  out(`  Three edge workers, all labelled ${LABEL_EDGE_WORKER}=true and ${LABEL_LOCAL_STORAGE}=true.`);
  if (agent) {
    out(`  edge-0 is this machine: node-resource-manager runs for it on three loop devices (${agent.devices.join(', ')}),`);
    out(`  reading ConfigMap kube-system/node-resource-topo (seed shape, VG ${vgName}, key kubernetes.io/storagetype In lvm).`);
    out('  edge-1 and edge-2 have simulated reports: one machine can only be one node.');
    await waitFor(async () => (await vgTable(core, ['edge-0'], vgName))[0]?.text.startsWith(vgName), 60_000, 'node-resource-manager to build the VG and publish its report');
    out(`  node-resource-manager ran pvcreate x3 and vgcreate, and published edge-0's report:`);
  } else {
    out(`  Capacity reports are SIMULATED (${agentSkipReason}); run the demo as root with lvm2 installed to see`);
    out('  node-resource-manager build a real VolumeGroup on loop devices.');
  }
  out('  Their capacity reports (annotation edge-gang.io/vg-capacity), before:');
  printVgs(await vgTable(core, nodes, vgName));

  await ensureStorageClass(storage, makeLocalLvmStorageClass(DEFAULT_LOCAL_STORAGE_CLASS, vgName));
  out(`  Created StorageClass ${DEFAULT_LOCAL_STORAGE_CLASS} (WaitForFirstConsumer, vgName ${vgName}) and PVC ${LVM_PVC_NAME} (50Mi).`);
  await createPvc(core, seedLvmPvc(NS));
  await waitFor(() => ext.state.pvcs.has(`${NS}/${LVM_PVC_NAME}`) && nodes.every((n) => ext.state.nodes.get(n)?.capacity), 15_000, 'the extender to see the claim and the nodes');

  // The extender's verdict per node, from its own state and core functions (read-only: no reservation is made).
  const podBody = seedLvmPod(NS);
  const model = toPod(podBody);
  const needs = model ? podVolumeNeeds(ext.state, model) : { kind: 'none' as const };
  if (needs.kind !== 'needs') throw new Error(`the extender does not see ${LVM_PVC_NAME} as a local-LVM claim (${needs.kind})`);
  const refused: { node: string; reason: string }[] = [];
  out(`  What the extender answers for ${LVM_POD_NAME} on each node:`);
  for (const n of nodes) {
    const nodeModel = ext.state.nodes.get(n);
    const v = nodeModel ? vgVerdict(ext.state, nodeModel, needs, Date.now()) : { kind: 'rejected' as const, reason: 'not in the cache', unresolvable: false };
    if (v.kind === 'fits') out(`    ${pad(n, 9)}fits: ${v.vgs.map((x) => `${x.vg} has room (${formatBytes(x.freeAfterBytes)} free after)`).join(', ')}`);
    else {
      refused.push({ node: n, reason: v.reason });
      out(`    ${pad(n, 9)}refused: ${v.reason}`);
    }
  }

  out(`  Creating pod ${LVM_POD_NAME} (the Deployment's pod template; no controller-manager runs here) ...`);
  await createPods(core, [podBody]);
  const pod = await waitFor(async () => {
    const p = await core.readNamespacedPod({ name: LVM_POD_NAME, namespace: NS });
    return p.spec?.nodeName ? p : undefined;
  }, 60_000, `${LVM_POD_NAME} to be bound`);
  const node = pod.spec?.nodeName ?? '';
  const pvc = await waitFor(async () => {
    const c = await core.readNamespacedPersistentVolumeClaim({ name: LVM_PVC_NAME, namespace: NS });
    return c.status?.phase === 'Bound' ? c : undefined;
  }, 30_000, `${LVM_PVC_NAME} Bound`);
  const pv = pvc.spec?.volumeName ?? '';
  out(`  Result: ${LVM_POD_NAME} -> ${node}; ${LVM_PVC_NAME} Bound to ${pv} (50Mi on ${node}/${vgName}).`);
  const nodeModel = ext.state.nodes.get(node);
  const seen = nodeModel ? vgFreeBytes(ext.state, nodeModel, vgName, Date.now(), new Set()) : null;
  out(`  The extender now counts the new PV: ${vgName} on ${node} has ${seen ? formatBytes(seen.freeBytes) : '?'} free for the next claim.`);
  if (agent) out('  (No device-mapper here, so no real LV is created; the fake provisioner records the volume instead.)');
  out('  Capacity reports after:');
  printVgs(await vgTable(core, nodes, vgName));
  if (provisioner.failures.length > 0) throw new Error(`the provisioner refused a claim: ${provisioner.failures[0]?.message}`);
  return { node, refused, pv };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = Date.now();
  heading('edge-gang demo: kube-scheduler extender for gang scheduling and local LVM capacity');
  await buildControlPlane();

  heading('Starting the cluster on this machine');
  stack = await startStack({
    extenderArgs: ['--barrier-timeout-ms', '20000'],
    extenderLogger: pino({ level: 'error', base: { component: 'extender' } }, pino.destination(2)),
    progress: (l) => out(`  ${l}`),
  });
  out('  fake CSI provisioner running (stands in for csi-local-plugin: creates a PV on the node kube-scheduler picked)');

  const gang = await gangStory(stack);
  const lvm = await lvmStory(stack);

  heading('Summary');
  out(`  Gang:  ${TFJOB_NAME} stayed all Pending on 4 GPUs ("${gang.reason.replace(/^gang \S+: /, '')}"),`);
  out(`         then all 5 bound together (within ${gang.spreadMs} ms) ${secs(gang.boundAfterMs)} after 4 more GPUs appeared:`);
  out(`         ${gang.placement.map((r) => `${r.name.replace(`${TFJOB_NAME}-`, '')}->${r.node}`).join(', ')}.`);
  out(`  LVM:   ${LVM_POD_NAME} landed on ${lvm.node}, the only edge worker whose VolumeGroup had room for 50Mi;`);
  for (const r of lvm.refused) out(`         ${r.node} refused: ${r.reason}`);
  out(`  Demo took ${secs(Date.now() - t0)}. Stopping everything ...`);
}

let exiting = false;
async function shutdown(code: number, message?: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (message) process.stderr.write(`${message}\n`);
  buildChild?.kill('SIGTERM');
  if (agentChild && agentChild.exitCode === null) {
    agentChild.kill('SIGTERM');
    await new Promise((r) => { agentChild?.once('exit', r); setTimeout(r, 5000); });
  }
  // The demo's own loop devices and VG (never anything else: the name is unique to this run).
  await lab?.tearDown().catch((err: Error) => process.stderr.write(`demo cleanup: ${err.message}\n`));
  const s = stack;
  stack = undefined;
  // A second Ctrl-C or a hung stop must not keep the demo alive; the control plane's exit hook kills what is left.
  const force = setTimeout(() => process.exit(code), 20_000);
  force.unref();
  if (s) await s.stop();
  if (code === 0) out('DEMO OK: everything it started has stopped.');
  else process.stderr.write(`DEMO FAILED (exit ${code}); everything it started has stopped.\n`);
  process.exit(code);
}

process.on('SIGINT', () => {
  if (exiting) return;
  out('\nInterrupted (Ctrl-C): stopping everything ...');
  void shutdown(130);
});
process.on('SIGTERM', () => void shutdown(143, 'Terminated: stopping everything ...'));

main().then(
  () => shutdown(0),
  (err: unknown) => shutdown(1, `\ndemo failed: ${err instanceof Error ? err.message : String(err)}`),
);
