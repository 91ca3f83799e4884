// The what-if against the real thing (issue 14): the same cluster and pods through the live extender on
// the real control plane (etcd + kube-apiserver + kube-scheduler with the shipped configuration, our
// extender in-process, the webhook, the stand-in CSI provisioner) and through `decide` (decideWhatIf,
// the function the CLI prints), from a snapshot read back from the API server before the pods exist.
//
// Pods are created one at a time, each once the one before is bound or refused, which is the order
// `decide` plays them in; a gang's two members are created together (decide holds the first at the
// barrier until the second arrives, as the live barrier does). Every pod here has a local claim, so the
// extender passes exactly one node for it (best-node steering: the VG it leaves fullest, ties by name,
// from the same numbers on both sides): the node choice is unique, and placements are compared pod by
// pod. The rest must agree as well: the Pending set, every VG's provisioned total, and the extender's
// reason for each Pending pod on each node appears in kube-scheduler's message for it.

import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideWhatIf } from '../../src/cli/decide.js';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { DEFAULT_VG_NAME } from '../../src/wire/keys.js';
import { GiB, makeNode, makePod, makePvc, type NodeBuilder, type PodBuilder, type PvcBuilder } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, listPods, waitFor } from '../../src/localcluster/objects.js';
import { parseQuantityBytes } from '../../src/localcluster/quantity.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';

const NS = 'whatif-diff';
const CASE_LABEL = 'e2e.edge-gang.io/whatif';

let stack: Stack | undefined;
const S = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};

/** Four local-storage nodes, VGs reported as node-resource-manager does (one has other LVs: less free than its size). */
const NODES: NodeBuilder[] = [
  makeNode(`${NS}-a`).cpu('8').localStorage().capacityReport([{ sizeBytes: 2 * GiB }]),
  makeNode(`${NS}-b`).cpu('8').localStorage().capacityReport([{ sizeBytes: 3 * GiB }]),
  makeNode(`${NS}-c`).cpu('8').localStorage().capacityReport([{ sizeBytes: 4 * GiB, freeBytes: 3 * GiB }]),
  makeNode(`${NS}-d`).cpu('1').localStorage().capacityReport([{ sizeBytes: 5 * GiB }]),
].map((n) => n.label(CASE_LABEL, NS));

interface PodSpec {
  name: string;
  cpu: string;
  claims: string[];
  gang?: boolean;
}
/** In creation order; `big` fits no VG; the last plain pods meet VGs the earlier ones filled. */
const PODS: PodSpec[] = [
  { name: 'p0', cpu: '500m', claims: ['1Gi'] },
  { name: 'p1', cpu: '500m', claims: ['1536Mi'] },
  { name: 'p2', cpu: '1', claims: ['512Mi', '512Mi'] },
  { name: 'big', cpu: '100m', claims: ['6Gi'] },
  { name: 'p3', cpu: '500m', claims: ['2Gi'] },
  { name: 'p4', cpu: '2', claims: ['1Gi'] },
  { name: 'g0', cpu: '500m', claims: ['1Gi'], gang: true },
  { name: 'g1', cpu: '500m', claims: ['768Mi'], gang: true },
  { name: 'p5', cpu: '500m', claims: ['2Gi'] },
];

const claimName = (pod: string, i: number) => `${pod}-data-${i}`;
const claims = (): PvcBuilder[] => PODS.flatMap((p) => p.claims.map((size, i) => makePvc(claimName(p.name, i)).ns(NS).storage(size)));
const pod = (p: PodSpec): PodBuilder => {
  const b = makePod(p.name).ns(NS).cpu(p.cpu).nodeSelector(CASE_LABEL, NS);
  if (p.gang) b.group('pair', 2);
  p.claims.forEach((_, i) => b.pvc(claimName(p.name, i)));
  return b;
};

/** `kubectl get nodes,storageclasses -o yaml` of the case, as plain JSON with kinds. */
async function snapshot(): Promise<Record<string, unknown>[]> {
  const { core, storage } = S();
  const nodes = (await core.listNode({ labelSelector: `${CASE_LABEL}=${NS}` })).items.map((n) => ({ ...n, apiVersion: 'v1', kind: 'Node' }));
  const classes = (await storage.listStorageClass()).items.map((c) => ({ ...c, apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' }));
  return JSON.parse(JSON.stringify([...classes, ...nodes])) as Record<string, unknown>[];
}

const scheduledFalse = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');

/**
 * Waits until each named pod is bound or kube-scheduler has refused it; records the refusal as it was
 * then (a retry later meets the VGs the later pods filled, and decide's reason is the one at its turn).
 */
async function settled(names: string[], refusals: Map<string, string>): Promise<void> {
  await waitFor(async () => {
    const pods = await listPods(S().core, NS);
    return names.every((n) => {
      const p = pods.find((x) => x.metadata?.name === n);
      const refused = p ? scheduledFalse(p) : undefined;
      if (refused && !refusals.has(n)) refusals.set(n, refused.message ?? '');
      return p && (p.spec?.nodeName || refused);
    });
  }, 60_000, `${names.join(', ')} bound or refused`, 100);
}

async function pvBytesByNode(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pv of (await S().core.listPersistentVolume()).items) {
    const node = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values?.[0] ?? '';
    out.set(node, (out.get(node) ?? 0) + parseQuantityBytes(pv.spec?.capacity?.storage ?? '0'));
  }
  return out;
}

describe('what-if differential: decide and the live extender agree', () => {
  beforeAll(async () => {
    stack = await startStack({ extenderLogLevel: process.env.E2E_EXTENDER_LOG_LEVEL ?? 'warn', progress: (l) => console.info(`[stack] ${l}`) });
    await ensureStorageClass(stack.storage);
    await S().core.createNamespace({ body: { metadata: { name: NS } } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('the same placements, the same Pending pods, the same bytes per VG, the same reasons', async () => {
    const { core, ext, provisioner } = S();
    await createNodes(core, NODES);
    await waitFor(() => NODES.every((_, i) => ext.state.nodes.get(`${NS}-${'abcd'[i]}`)?.capacity), 30_000, 'the extender sees the nodes and their reports');

    // decide: the snapshot as it is now, the manifest as it will be created.
    const what = decideWhatIf(defaultCoreConfig(), await snapshot(), [...claims().map((c) => c.manifest()), ...PODS.map((p) => pod(p).manifest())] as unknown as Record<string, unknown>[]);
    const predicted = new Map(what.pods.map((d) => [d.pod.split('/')[1] as string, d.boundTo]));
    console.info(['[decide]', ...what.pods.map((d) => `  ${d.pod}: ${d.boundTo || `Pending: ${d.reason}`}`)].join('\n'));
    // The case is worth running: a pod that fits no VG, and one refused for room others took first.
    expect(predicted.get('big')).toBe('');
    expect(what.pods.some((d) => !d.boundTo && d.nodes.some((n) => /requested [\d.]+[GM]i, free/.test(n.reason)))).toBe(true);

    // live: the claims, then the pods in the same order.
    for (const c of claims()) await createPvc(core, c);
    const order: string[][] = [];
    const refusals = new Map<string, string>();
    for (const p of PODS) {
      if (p.gang && order.at(-1)?.[0]?.startsWith('g')) order.at(-1)?.push(p.name);
      else order.push([p.name]);
    }
    for (const group of order) {
      await createPods(core, group.map((n) => pod(PODS.find((p) => p.name === n) as PodSpec)));
      await settled(group, refusals);
    }
    await provisioner.idle();
    const pods = await listPods(core, NS);
    const live = new Map(pods.map((p) => [p.metadata?.name ?? '', p.spec?.nodeName ?? '']));
    console.info(['[live]', ...PODS.map((p) => `  ${NS}/${p.name}: ${live.get(p.name) || `Pending: ${refusals.get(p.name)}`}`)].join('\n'));

    expect(Object.fromEntries(live)).toEqual(Object.fromEntries(predicted));
    const pending = (m: Map<string, string>) => [...m].filter(([, n]) => !n).map(([p]) => p).sort();
    expect(pending(live)).toEqual(pending(predicted));

    const predictedBytes = new Map<string, number>();
    for (const d of what.pods) for (const v of d.volumes) predictedBytes.set(v.node, (predictedBytes.get(v.node) ?? 0) + v.bytes);
    const liveBytes = await pvBytesByNode();
    for (const n of NODES.map((_, i) => `${NS}-${'abcd'[i]}`)) {
      expect(liveBytes.get(n) ?? 0, `${n}: PVs`).toBe(predictedBytes.get(n) ?? 0);
      expect(provisioner.usedBytes(n, DEFAULT_VG_NAME), `${n}: provisioner`).toBe(predictedBytes.get(n) ?? 0);
    }

    for (const d of what.pods.filter((x) => !x.boundTo)) {
      const message = refusals.get(d.pod.split('/')[1] as string) ?? '';
      for (const n of d.nodes.filter((x) => x.verdict === 'failed' || x.verdict === 'unresolvable')) expect(message, `${d.pod} on ${n.node}`).toContain(n.reason);
    }
  });
});
