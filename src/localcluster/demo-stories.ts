// The two stories `npm run demo` tells, from seed 002: the TFJob on 4 GPUs (5.3.1) and the LVM claim
// that must land where the VolumeGroup has room (8.3). Each creates its objects in the stack's
// cluster, waits for kube-scheduler and the extender, and prints what happened and why.

import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { podVolumeNeeds, vgFreeBytes, vgVerdict } from '../core/lvm.js';
import { formatBytes } from '../core/quantity.js';
import { toPod } from '../extender/convert.js';
import { parseCapacityReport } from '../wire/capacity.js';
import { ANNOTATION_VG_CAPACITY, DEFAULT_LOCAL_STORAGE_CLASS, DEFAULT_VG_NAME, LABEL_EDGE_WORKER, LABEL_LOCAL_STORAGE } from '../wire/keys.js';
import { GiB, MiB, makeLocalStorageClass, makeNode } from './builders.js';
import type { DemoAgent } from './demo-agent.js';
import { createNodes, createPods, createPvc, ensureStorageClass, listPods, waitFor } from './objects.js';
import { sleep } from './processes.js';
import { LVM_POD_NAME, LVM_PVC_NAME, TFJOB_MIN_AVAILABLE, TFJOB_NAME, seedLvmPod, seedLvmPvc, tfJobPods } from './seed002.js';
import type { Stack } from './stack.js';

/** Prints one line of the demo (stdout). */
export type Out = (line?: string) => void;

const NS = 'default';
const SETTLE_MS = 8000;

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pad = (s: string, n: number) => s.padEnd(n);

export function heading(out: Out, text: string): void {
  out();
  out(text);
  out('-'.repeat(text.length));
}

export interface PodRow {
  name: string;
  node: string;
}

function podRows(pods: V1Pod[]): PodRow[] {
  return pods.map((p) => ({ name: p.metadata?.name ?? '', node: p.spec?.nodeName ?? '' })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

function printPods(out: Out, rows: PodRow[]): void {
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

export interface GangResult {
  reason: string;
  boundAfterMs: number;
  spreadMs: number;
  placement: PodRow[];
}

const tfJobRows = async (core: CoreV1Api) => podRows(await listPods(core, NS, `tf-job-name=${TFJOB_NAME}`));

/** 4 GPUs for 8: all 5 pods stay Pending, and the Events say why. Returns the extender's reason. */
async function gangPending(s: Stack, out: Out): Promise<string> {
  const { core } = s;
  out('  Nodes: gpu-0 (2 GPUs), gpu-1 (2 GPUs): 4 GPUs in all.');
  await createNodes(core, [gpuNode('gpu-0'), gpuNode('gpu-1')]);
  out(`  Creating the TFJob's 5 pods, labelled pod-group.scheduling.sigs.k8s.io/name=${TFJOB_NAME}, min-available="${TFJOB_MIN_AVAILABLE}":`);
  out(`    ${TFJOB_NAME}-ps-0 asks for cpu 1; ${TFJOB_NAME}-worker-0..3 ask for nvidia.com/gpu 2 each (8 GPUs).`);
  await createPods(core, tfJobPods(NS, { gang: true }));
  out(`  Waiting ${SETTLE_MS / 1000} s for kube-scheduler to try them ...`);
  await sleep(SETTLE_MS);
  const before = await tfJobRows(core);
  const boundEarly = before.filter((r) => r.node);
  if (before.length !== 5 || boundEarly.length > 0) {
    printPods(out, before);
    throw new Error(`expected all 5 TFJob pods Pending on 4 GPUs, but ${boundEarly.length} are bound`);
  }
  out(`  Result: all 5 Pending, none bound (all or nothing):`);
  printPods(out, before);
  const reason = await waitFor(() => latestEvent(core, 'GangUnschedulable'), 15_000, 'a GangUnschedulable event');
  const scheduler = await latestEvent(core, 'FailedScheduling', `${TFJOB_NAME}-worker-0`);
  out(`  Why, from the Events on the pods (kubectl describe pod ${TFJOB_NAME}-worker-0):`);
  out(`    GangUnschedulable (extender):   ${reason}`);
  if (scheduler) out(`    FailedScheduling (scheduler):   ${scheduler}`);
  return reason;
}

export async function gangStory(s: Stack, out: Out): Promise<GangResult> {
  heading(out, 'Story 1: gang scheduling (seed 002, 5.3.1)');
  out('  The seed runs TFJob tf-smoke-gpu (1 PS + 4 workers with 2 GPUs each) on a cluster with 4 GPUs.');
  out('  Without gang scheduling kube-scheduler binds the PS and 2 workers, and 2 workers wait forever');
  out('  while the bound ones hold all 4 GPUs. With the pod-group labels the extender binds all or nothing.');
  out();
  const reason = await gangPending(s, out);

  out();
  out('  Adding gpu-2 and gpu-3 (2 GPUs each): 8 GPUs in all.');
  const added = Date.now();
  await createNodes(s.core, [gpuNode('gpu-2'), gpuNode('gpu-3')]);
  const firstSeen = new Map<string, number>();
  const after = await waitFor(async () => {
    const rows = await tfJobRows(s.core);
    for (const r of rows) if (r.node && !firstSeen.has(r.name)) firstSeen.set(r.name, Date.now());
    return rows.length === 5 && rows.every((r) => r.node) ? rows : undefined;
  }, 60_000, 'all 5 TFJob pods bound', 100);
  const boundAfterMs = Date.now() - added;
  const seen = [...firstSeen.values()];
  const spreadMs = Math.max(...seen) - Math.min(...seen);
  out(`  Result: all 5 bound ${secs(boundAfterMs)} after the GPUs appeared, together (first to last bind seen within ${spreadMs} ms):`);
  printPods(out, after);
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

function printVgs(out: Out, rows: VgRow[]): void {
  for (const r of rows) out(`    ${pad(r.node, 9)}${r.text}`);
}

export interface LvmResult {
  node: string;
  refused: { node: string; reason: string }[];
  pv: string;
}

const EDGE_NODES = ['edge-0', 'edge-1', 'edge-2'];

/** A GPU node of story 1 (the demo adds gpu-0/1, then gpu-2/3; `npm run up` creates all four). */
export const gpuNode = (name: string) => makeNode(name).gpus(2);

/**
 * The three edge workers of story 2 (also `npm run up`'s): edge-0 with the real node agent when it can run,
 * else a simulated 10Gi report; edge-1 without the VG (vg-ssd only); edge-2 with 20Mi free.
 */
export async function createEdgeWorkers(s: Stack, agent: DemoAgent): Promise<{ vgName: string; real: { vgName: string; devices: string[] } | null }> {
  const edge = (name: string) => makeNode(name).label(LABEL_EDGE_WORKER, 'true').label(LABEL_LOCAL_STORAGE, 'true');
  const real = await agent.start(s);
  const vgName = real?.vgName ?? DEFAULT_VG_NAME;
  await createNodes(s.core, [
    real ? edge('edge-0').label('kubernetes.io/storagetype', 'lvm') : edge('edge-0').capacityReport([{ name: vgName, sizeBytes: 10 * GiB }]),
    edge('edge-1').capacityReport([{ name: 'vg-ssd', sizeBytes: 10 * GiB }]),
    edge('edge-2').capacityReport([{ name: vgName, sizeBytes: 1 * GiB, freeBytes: 20 * MiB }]),
  ]);
  return { vgName, real };
}

/** Waits until node-resource-manager has built the VG and published edge-0's report. */
export async function waitForAgentReport(core: CoreV1Api, vgName: string): Promise<void> {
  await waitFor(async () => (await vgTable(core, ['edge-0'], vgName))[0]?.text.startsWith(vgName), 60_000, 'node-resource-manager to build the VG and publish its report');
}

/** Story 2's edge workers, told. Returns the VG's name. */
async function edgeNodes(s: Stack, out: Out, agent: DemoAgent): Promise<string> {
  const { core } = s;
  const { vgName, real } = await createEdgeWorkers(s, agent);
  out(`  Three edge workers, all labelled ${LABEL_EDGE_WORKER}=true and ${LABEL_LOCAL_STORAGE}=true.`);
  if (real) {
    out(`  edge-0 is this machine: node-resource-manager runs for it on three loop devices (${real.devices.join(', ')}),`);
    out(`  reading ConfigMap kube-system/node-resource-topo (seed shape, VG ${vgName}, key kubernetes.io/storagetype In lvm).`);
    out('  edge-1 and edge-2 have simulated reports: one machine can only be one node.');
    await waitForAgentReport(core, vgName);
    out(`  node-resource-manager ran pvcreate x3 and vgcreate, and published edge-0's report:`);
  } else {
    out(`  Capacity reports are SIMULATED (${agent.skipReason}); run the demo as root with lvm2 installed to see`);
    out('  node-resource-manager build a real VolumeGroup on loop devices.');
  }
  out('  Their capacity reports (annotation edge-gang.io/vg-capacity), before:');
  printVgs(out, await vgTable(core, EDGE_NODES, vgName));
  return vgName;
}

/** The extender's verdict per node, from its own state and core functions (read-only: no reservation is made). */
function printVerdicts(s: Stack, out: Out, podBody: V1Pod): { node: string; reason: string }[] {
  const { ext } = s;
  const model = toPod(podBody);
  const needs = model ? podVolumeNeeds(ext.state, model) : { kind: 'none' as const };
  if (needs.kind !== 'needs') throw new Error(`the extender does not see ${LVM_PVC_NAME} as a local-LVM claim (${needs.kind})`);
  const refused: { node: string; reason: string }[] = [];
  out(`  What the extender answers for ${LVM_POD_NAME} on each node:`);
  for (const n of EDGE_NODES) {
    const nodeModel = ext.state.nodes.get(n);
    const v = nodeModel ? vgVerdict(ext.state, nodeModel, needs, Date.now()) : { kind: 'rejected' as const, reason: 'not in the cache', unresolvable: false };
    if (v.kind === 'fits') out(`    ${pad(n, 9)}fits: ${v.vgs.map((x) => `${x.vg} has room (${formatBytes(x.freeAfterBytes)} free after)`).join(', ')}`);
    else {
      refused.push({ node: n, reason: v.reason });
      out(`    ${pad(n, 9)}refused: ${v.reason}`);
    }
  }
  return refused;
}

/** Creates the pod and waits until it is bound and its claim Bound; returns the node and the PV. */
async function bindLvmPod(s: Stack, podBody: V1Pod): Promise<{ node: string; pv: string }> {
  const { core } = s;
  await createPods(core, [podBody]);
  const pod = await waitFor(async () => {
    const p = await core.readNamespacedPod({ name: LVM_POD_NAME, namespace: NS });
    return p.spec?.nodeName ? p : undefined;
  }, 60_000, `${LVM_POD_NAME} to be bound`);
  const pvc = await waitFor(async () => {
    const c = await core.readNamespacedPersistentVolumeClaim({ name: LVM_PVC_NAME, namespace: NS });
    return c.status?.phase === 'Bound' ? c : undefined;
  }, 30_000, `${LVM_PVC_NAME} Bound`);
  return { node: pod.spec?.nodeName ?? '', pv: pvc.spec?.volumeName ?? '' };
}

export async function lvmStory(s: Stack, out: Out, agent: DemoAgent): Promise<LvmResult> {
  const { core, storage, ext, provisioner } = s;
  heading(out, 'Story 2: local LVM capacity (seed 002, 8.3)');
  out(`  The seed's PVC ${LVM_PVC_NAME} (50Mi of ${DEFAULT_LOCAL_STORAGE_CLASS}) and its local-test Deployment (hostNetwork,`);
  out(`  toleration Exists, nodeSelector ${LABEL_EDGE_WORKER}=true). kube-scheduler knows nothing about VolumeGroups;`);
  out(`  the extender reads each node's capacity report and only lets the pod go where the claim fits.`);
  out();
  const vgName = await edgeNodes(s, out, agent);

  await ensureStorageClass(storage, makeLocalStorageClass(DEFAULT_LOCAL_STORAGE_CLASS, vgName));
  out(`  Created StorageClass ${DEFAULT_LOCAL_STORAGE_CLASS} (WaitForFirstConsumer, vgName ${vgName}) and PVC ${LVM_PVC_NAME} (50Mi).`);
  await createPvc(core, seedLvmPvc(NS));
  await waitFor(() => ext.state.pvcs.has(`${NS}/${LVM_PVC_NAME}`) && EDGE_NODES.every((n) => ext.state.nodes.get(n)?.capacity), 15_000, 'the extender to see the claim and the nodes');

  const podBody = seedLvmPod(NS);
  const refused = printVerdicts(s, out, podBody);
  out(`  Creating pod ${LVM_POD_NAME} (the Deployment's pod template; no controller-manager runs here) ...`);
  const { node, pv } = await bindLvmPod(s, podBody);
  out(`  Result: ${LVM_POD_NAME} -> ${node}; ${LVM_PVC_NAME} Bound to ${pv} (50Mi on ${node}/${vgName}).`);
  const nodeModel = ext.state.nodes.get(node);
  const seen = nodeModel ? vgFreeBytes(ext.state, nodeModel, vgName, Date.now(), new Set()) : null;
  out(`  The extender now counts the new PV: ${vgName} on ${node} has ${seen ? formatBytes(seen.freeBytes) : '?'} free for the next claim.`);
  if (agent.started) out('  (No device-mapper here, so no real LV is created; the fake provisioner records the volume instead.)');
  out('  Capacity reports after:');
  printVgs(out, await vgTable(core, EDGE_NODES, vgName));
  if (provisioner.failures.length > 0) throw new Error(`the provisioner refused a claim: ${provisioner.failures[0]?.message}`);
  return { node, refused, pv };
}
