// End-to-end scenarios of issue 3 against a real etcd + kube-apiserver + kube-scheduler (shipped
// configuration) with the extender in-process and the fake CSI provisioner. One stack for the file;
// every scenario has its own namespace, node-name prefix and node label (its pods select it), and
// removes its pods, claims and nodes at the end, so scenarios do not see each other's capacity.

import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANNOTATION_VG_CAPACITY, DEFAULT_VG_NAME, LABEL_EDGE_WORKER, LABEL_LOCAL_STORAGE, LABEL_POD_GROUP_NAME,
} from '../../src/wire/keys.js';
import { parseCapacityReport } from '../../src/wire/capacity.js';
import { RESOURCE_SCHEDULING_MARK } from '../../src/wire/keys.js';
import { GiB, makeNode, makePod, makePvc, type NodeBuilder } from '../../src/localcluster/builders.js';
import {
  createNodes, createPods, createPvc, ensureNamespace, ensureStorageClass, forceDeletePods, inBatches, isNotFound, listPods, waitFor,
} from '../../src/localcluster/objects.js';
import { parseQuantityBytes } from '../../src/localcluster/quantity.js';
import { LVM_POD_NAME, LVM_PVC_NAME, TFJOB_NAME, seedLvmPod, seedLvmPvc, tfJobPods } from '../../src/localcluster/seed002.js';
import { GangMonitor } from '../harness/gang-monitor.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';

const SCENARIO_LABEL = 'e2e.edge-gang.io/scenario';
const MiB = 1024 ** 2;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: Stack | undefined;
const S = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};
const durations: { name: string; ms: number }[] = [];
const fileStart = Date.now();

/** Runs a scenario body, then its cleanup (even on failure), and records the duration. */
async function scenario(name: string, ns: string, body: () => Promise<void>): Promise<void> {
  const t = Date.now();
  await ensureNamespace(S().core, ns);
  try {
    await body();
  } finally {
    await cleanup(ns);
    const ms = Date.now() - t;
    durations.push({ name, ms });
    console.info(`[scenario] ${name}: ${(ms / 1000).toFixed(1)} s`);
  }
}

/**
 * Pending pods first (so deleting the bound ones frees no room the scheduler would hand them while
 * they are being deleted), then the rest, then claims (the provisioner returns their bytes while the
 * node still exists), then the scenario's nodes.
 */
async function cleanup(ns: string): Promise<void> {
  const { core, provisioner } = S();
  await inBatches(pending(await listPods(core, ns)), 20, async (p) => {
    try {
      await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: ns, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  await forceDeletePods(core, ns);
  const pvcs = await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
  for (const c of pvcs.items) {
    try {
      await core.deleteNamespacedPersistentVolumeClaim({ name: c.metadata?.name ?? '', namespace: ns });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await waitFor(() => ![...provisioner.provisioned.keys()].some((k) => k.startsWith(`${ns}/`)), 30_000, `volumes of ${ns} released`);
  const nodes = await core.listNode({ labelSelector: `${SCENARIO_LABEL}=${ns}` });
  for (const n of nodes.items) {
    try {
      await core.deleteNode({ name: n.metadata?.name ?? '' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

const node = (ns: string, name: string): NodeBuilder => makeNode(`${ns}-${name}`).label(SCENARIO_LABEL, ns);
const bound = (pods: V1Pod[]) => pods.filter((p) => p.spec?.nodeName);
const pending = (pods: V1Pod[]) => pods.filter((p) => !p.spec?.nodeName);
const names = (pods: V1Pod[]) => pods.map((p) => p.metadata?.name ?? '').sort();

async function events(core: CoreV1Api, ns: string, reason: string): Promise<{ pod: string; message: string }[]> {
  const list = await core.listNamespacedEvent({ namespace: ns });
  return list.items
    .filter((e) => e.reason === reason && e.involvedObject.kind === 'Pod')
    .map((e) => ({ pod: e.involvedObject.name ?? '', message: e.message ?? '' }));
}

/** Time the PodScheduled condition last changed (to True, once bound). */
function scheduledAtMs(p: V1Pod): number {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'True');
  return c?.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : NaN;
}

/** extender_requests_total per verb, summed over outcomes. */
async function verbRequests(): Promise<Record<string, number>> {
  const text = await (await fetch(`${S().extenderUrl}/metrics`)).text();
  const out: Record<string, number> = { filter: 0, prioritize: 0, bind: 0 };
  for (const m of text.matchAll(/^extender_requests_total\{verb="(\w+)",outcome="\w+"\} (\d+)/gm)) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
  return out;
}

/** Whether the webhook put the scheduling mark on the pod (first container, requests and limits). */
const marked = (p: V1Pod) => {
  const r = p.spec?.containers?.[0]?.resources;
  return r?.requests?.[RESOURCE_SCHEDULING_MARK] === '1' && r?.limits?.[RESOURCE_SCHEDULING_MARK] === '1';
};

/** Bytes of PVs per node, from the API (the PV's node affinity names the node). */
async function pvBytesByNode(core: CoreV1Api): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pv of (await core.listPersistentVolume()).items) {
    const nodeName = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values?.[0] ?? '';
    out.set(nodeName, (out.get(nodeName) ?? 0) + parseQuantityBytes(pv.spec?.capacity?.storage ?? '0'));
  }
  return out;
}

async function reportedFree(core: CoreV1Api, nodeName: string): Promise<number | undefined> {
  const n = await core.readNode({ name: nodeName });
  const r = parseCapacityReport(n.metadata?.annotations?.[ANNOTATION_VG_CAPACITY] ?? '');
  return r.kind === 'ok' ? r.report.vgs.find((v) => v.name === DEFAULT_VG_NAME)?.freeBytes : undefined;
}

describe('issue 3 scenarios: kube-scheduler + extender + fake provisioner', () => {
  beforeAll(async () => {
    stack = await startStack({ extenderArgs: ['--barrier-timeout-ms', '20000'], extenderLogLevel: process.env.E2E_EXTENDER_LOG_LEVEL ?? 'warn', progress: (l) => console.info(`[stack] ${l}`) });
    console.info(`[stack] up in ${(stack.timings.totalMs / 1000).toFixed(1)} s`, stack.timings);
    await ensureStorageClass(stack.storage);
  });

  afterAll(async () => {
    await stack?.stop();
    const total = Date.now() - fileStart;
    console.info(['[scenario] durations:', ...durations.map((d) => `  ${d.name}: ${(d.ms / 1000).toFixed(1)} s`), `  file total: ${(total / 1000).toFixed(1)} s`].join('\n'));
  });

  it('1. seed 002 5.3.1 without gang labels: 2 workers bound, 2 Pending (the problem)', async () => {
    const ns = 's1-no-gang';
    await scenario('1 TFJob without gang labels', ns, async () => {
      const { core } = S();
      await createNodes(core, [node(ns, 'gpu-0').gpus(2), node(ns, 'gpu-1').gpus(2)]);
      await createPods(core, tfJobPods(ns, { gang: false, nodeSelector: { [SCENARIO_LABEL]: ns } }));
      await waitFor(async () => bound(await listPods(core, ns)).length >= 3, 30_000, 'PS and 2 workers bound');
      await sleep(3000); // nothing else can fit: the state must stay
      const pods = await listPods(core, ns);
      expect(names(bound(pods))).toContain(`${TFJOB_NAME}-ps-0`);
      const workers = pods.filter((p) => p.metadata?.labels?.['tf-replica-type'] === 'worker');
      expect(bound(workers)).toHaveLength(2);
      expect(pending(workers)).toHaveLength(2);
    });
  });

  it('2. the same with pod-group labels: all 5 Pending with the gap, then all 5 bound together once 4 GPUs are added', async () => {
    const ns = 's2-gang';
    await scenario('2 TFJob with gang labels', ns, async () => {
      const { core } = S();
      await createNodes(core, [node(ns, 'gpu-0').gpus(2), node(ns, 'gpu-1').gpus(2)]);
      const monitor = new GangMonitor(core, ns);
      try {
        await createPods(core, tfJobPods(ns, { gang: true, nodeSelector: { [SCENARIO_LABEL]: ns } }));
        await sleep(8000);
        const pods = await listPods(core, ns);
        expect(pods).toHaveLength(5);
        expect(bound(pods)).toEqual([]);
        expect(pods.filter(marked)).toHaveLength(5); // the webhook marked every member

        const gap = 'needs 8 nvidia.com/gpu for 4 pods, 4 free';
        const seen = await waitFor(async () => {
          const fs = (await events(core, ns, 'FailedScheduling')).filter((e) => e.message.includes(gap));
          const gs = (await events(core, ns, 'GangUnschedulable')).filter((e) => e.message.includes(gap));
          return fs.length > 0 && gs.length > 0 ? { fs, gs } : undefined;
        }, 15_000, `FailedScheduling and GangUnschedulable events naming "${gap}"`);
        console.info(`[s2] FailedScheduling: ${seen.fs[0]?.message}\n[s2] GangUnschedulable: ${seen.gs[0]?.message}`);
        expect(new Set(seen.gs.map((e) => e.pod)).size).toBe(5); // every member says why

        const added = Date.now();
        await createNodes(core, [node(ns, 'gpu-2').gpus(2), node(ns, 'gpu-3').gpus(2)]);
        const all = await waitFor(async () => {
          const ps = await listPods(core, ns);
          return ps.length === 5 && bound(ps).length === 5 ? ps : undefined;
        }, 60_000, 'all 5 members bound', 150);
        console.info(`[s2] all 5 bound ${Date.now() - added} ms after the GPUs were added`);
        const times = all.map(scheduledAtMs);
        expect(times.every((t) => Number.isFinite(t))).toBe(true);
        expect(Math.max(...times) - Math.min(...times)).toBeLessThanOrEqual(2000);
        const firstSeen = [...monitor.firstSeenBound.values()];
        expect(Math.max(...firstSeen) - Math.min(...firstSeen)).toBeLessThanOrEqual(2000);
        // 4 workers x 2 GPUs on 4 nodes x 2 GPUs: one worker per node.
        const workerNodes = all.filter((p) => p.metadata?.labels?.['tf-replica-type'] === 'worker').map((p) => p.spec?.nodeName);
        expect(new Set(workerNodes).size).toBe(4);
      } finally {
        await monitor.stop();
      }
      console.info(`[s2] ${monitor.polls} polls, transient partial sightings: ${monitor.transient.length ? monitor.transient.join('; ') : 'none'}`);
      expect(monitor.persistent).toEqual([]);
    });
  });

  it('3. two competing gangs that each fit alone: never partly bound, one wins, the other follows when it leaves', async () => {
    const ns = 's3-compete';
    await scenario('3 competing gangs', ns, async () => {
      const { core } = S();
      await createNodes(core, [0, 1, 2].map((i) => node(ns, `gpu-${i}`).gpus(2)));
      const monitor = new GangMonitor(core, ns);
      let winner = '';
      let loser = '';
      try {
        const sel = { [SCENARIO_LABEL]: ns };
        const gang = (g: string, i: number) => makePod(`${g}-${i}`).ns(ns).gpu(2).group(g, 2).nodeSelector(sel);
        await createPods(core, [gang('gang-a', 0), gang('gang-b', 0), gang('gang-a', 1), gang('gang-b', 1)], 4);
        const byGang = async () => {
          const ps = await listPods(core, ns);
          const count = (g: string) => bound(ps.filter((p) => p.metadata?.labels?.[LABEL_POD_GROUP_NAME] === g)).length;
          return { a: count('gang-a'), b: count('gang-b') };
        };
        await waitFor(async () => {
          const c = await byGang();
          return c.a === 2 || c.b === 2;
        }, 60_000, 'one gang bound', 150);
        await sleep(4000); // the other gang must not get in
        const c = await byGang();
        expect([c.a, c.b].sort()).toEqual([0, 2]);
        winner = c.a === 2 ? 'gang-a' : 'gang-b';
        loser = winner === 'gang-a' ? 'gang-b' : 'gang-a';
        const gapEvents = (await events(core, ns, 'GangUnschedulable')).filter((e) => e.pod.startsWith(loser));
        expect(gapEvents.length).toBeGreaterThan(0);
        console.info(`[s3] ${winner} bound first; ${loser} waits: ${gapEvents[0]?.message}`);

        const t = Date.now();
        await forceDeletePods(core, ns, `${LABEL_POD_GROUP_NAME}=${winner}`);
        await waitFor(async () => (await byGang())[loser === 'gang-a' ? 'a' : 'b'] === 2, 60_000, `${loser} bound after ${winner} left`, 150);
        console.info(`[s3] ${loser} bound ${Date.now() - t} ms after ${winner}'s pods were deleted`);
      } finally {
        await monitor.stop();
      }
      console.info(`[s3] ${monitor.polls} polls, transient partial sightings: ${monitor.transient.length ? monitor.transient.join('; ') : 'none'}`);
      expect(monitor.polls).toBeGreaterThan(20);
      expect(monitor.persistent).toEqual([]);
    });
  });

  it('4. seed 002 8.3: the pod lands on the node whose VG has room; a burst of claims never over-commits a VG', async () => {
    const ns = 's4-lvm';
    await scenario('4a seed 8.3 local-test', ns, async () => {
      const { core, provisioner } = S();
      const edge = (name: string) => node(ns, name).label(LABEL_LOCAL_STORAGE, 'true').label(LABEL_EDGE_WORKER, 'true');
      await createNodes(core, [
        edge('room').capacityReport([{ sizeBytes: 10 * GiB }]),
        edge('no-vg').capacityReport([{ name: 'othervg', sizeBytes: 10 * GiB }]),
        edge('full').capacityReport([{ sizeBytes: 1 * GiB, freeBytes: 20 * MiB }]),
      ]);
      const failuresBefore = provisioner.failures.length;
      await createPvc(core, seedLvmPvc(ns));
      await createPods(core, [seedLvmPod(ns)]);
      const pod = await waitFor(async () => {
        const p = await core.readNamespacedPod({ name: LVM_POD_NAME, namespace: ns });
        return p.spec?.nodeName ? p : undefined;
      }, 60_000, 'local-test bound');
      expect(pod.spec?.nodeName).toBe(`${ns}-room`);
      expect(marked(pod)).toBe(true); // its claim is local LVM: the webhook sent it to the extender
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: LVM_PVC_NAME, namespace: ns });
      expect(pvc.status?.phase).toBe('Bound');
      expect(provisioner.provisioned.get(`${ns}/${LVM_PVC_NAME}`)?.node).toBe(`${ns}-room`);
      expect(await reportedFree(core, `${ns}-room`)).toBe(10 * GiB - 50 * MiB);
      expect(provisioner.failures.length).toBe(failuresBefore);
    });

    const ns2 = 's4-burst';
    await scenario('4b 20 claims onto 5+8+3 GiB', ns2, async () => {
      const { core, provisioner } = S();
      const sizes: Record<string, number> = { [`${ns2}-a`]: 5 * GiB, [`${ns2}-b`]: 8 * GiB, [`${ns2}-c`]: 3 * GiB };
      await createNodes(core, Object.entries(sizes).map(([n, b]) => makeNode(n).label(SCENARIO_LABEL, ns2).label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: b }])));
      const failuresBefore = provisioner.failures.length;
      const count = 20;
      for (let i = 0; i < count; i++) await createPvc(core, makePvc(`data-${i}`).ns(ns2).storage('1Gi'));
      let overCommit = '';
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const [n, size] of Object.entries(sizes)) {
            const used = provisioner.usedBytes(n, DEFAULT_VG_NAME);
            if (used > size && !overCommit) overCommit = `${n}: ${used} bytes provisioned on a ${size}-byte VG`;
          }
          await sleep(50);
        }
      })();
      try {
        await createPods(core, Array.from({ length: count }, (_, i) => makePod(`app-${i}`).ns(ns2).cpu('10m').pvc(`data-${i}`).nodeSelector({ [SCENARIO_LABEL]: ns2 })), count);
        await waitFor(async () => bound(await listPods(core, ns2)).length >= 16, 120_000, '16 pods bound', 250);
        await sleep(3000); // the other 4 must stay out
      } finally {
        watching = false;
        await watcher;
      }
      const pods = await listPods(core, ns2);
      expect(bound(pods)).toHaveLength(16);
      const waiting = pending(pods);
      expect(waiting).toHaveLength(4);
      const failed = await events(core, ns2, 'FailedScheduling');
      for (const p of waiting) {
        const why = failed.filter((e) => e.pod === p.metadata?.name).map((e) => e.message);
        expect(why.some((m) => m.includes('local-lvm') && m.includes(DEFAULT_VG_NAME)), `${p.metadata?.name}: ${why.join(' | ')}`).toBe(true);
      }
      console.info(`[s4b] a pending pod says: ${failed.find((e) => e.pod === waiting[0]?.metadata?.name)?.message}`);
      expect(overCommit).toBe('');
      const pvBytes = await pvBytesByNode(core);
      for (const [n, size] of Object.entries(sizes)) {
        expect(provisioner.usedBytes(n, DEFAULT_VG_NAME)).toBeLessThanOrEqual(size);
        expect(pvBytes.get(n) ?? 0).toBeLessThanOrEqual(size);
        // 16 GiB of room, 16 claims: every VG ends exactly full.
        expect(pvBytes.get(n)).toBe(size);
        expect(await reportedFree(core, n)).toBe(0);
      }
      expect(provisioner.failures.slice(failuresBefore)).toEqual([]);
    });
  });

  it('5. a gang of local-volume pods: nothing binds while only 2 of 3 volumes fit; all 3 once room is added', async () => {
    const ns = 's5-gang-lvm';
    await scenario('5 gang with local volumes', ns, async () => {
      const { core, provisioner } = S();
      const lvmNode = (name: string, bytes: number) => node(ns, name).label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: bytes }]);
      await createNodes(core, [lvmNode('a', 2 * GiB)]);
      const failuresBefore = provisioner.failures.length;
      for (let i = 0; i < 3; i++) await createPvc(core, makePvc(`data-${i}`).ns(ns).storage('1Gi'));
      const monitor = new GangMonitor(core, ns);
      try {
        await createPods(core, [0, 1, 2].map((i) => makePod(`trainer-${i}`).ns(ns).cpu('500m').group('trainer', 3).pvc(`data-${i}`).nodeSelector({ [SCENARIO_LABEL]: ns })));
        await sleep(8000);
        expect(bound(await listPods(core, ns))).toEqual([]);
        expect([...provisioner.provisioned.keys()].filter((k) => k.startsWith(`${ns}/`))).toEqual([]);
        const why = await waitFor(async () => (await events(core, ns, 'GangUnschedulable'))[0], 10_000, 'a GangUnschedulable event');
        console.info(`[s5] before: ${why.message}`);
        expect(why.message).toContain(DEFAULT_VG_NAME);

        const t = Date.now();
        await createNodes(core, [lvmNode('b', 4 * GiB)]);
        const all = await waitFor(async () => {
          const ps = await listPods(core, ns);
          return bound(ps).length === 3 ? ps : undefined;
        }, 60_000, 'all 3 trainers bound', 150);
        console.info(`[s5] all 3 bound ${Date.now() - t} ms after room was added: ${all.map((p) => `${p.metadata?.name}->${p.spec?.nodeName}`).join(', ')}`);
        const times = all.map(scheduledAtMs);
        expect(Math.max(...times) - Math.min(...times)).toBeLessThanOrEqual(2000);
      } finally {
        await monitor.stop();
      }
      expect(monitor.persistent).toEqual([]);
      const pvBytes = await pvBytesByNode(core);
      expect(pvBytes.get(`${ns}-a`) ?? 0).toBeLessThanOrEqual(2 * GiB);
      expect(provisioner.failures.slice(failuresBefore)).toEqual([]);
    });
  });

  it('6. plain pods never reach the extender: the webhook leaves them unmarked and kube-scheduler binds them alone', async () => {
    const ns = 's6-plain';
    await scenario('6 plain pods', ns, async () => {
      const { core } = S();
      await createNodes(core, [0, 1, 2].map((i) => node(ns, `n${i}`).cpu('8')));
      const before = await verbRequests();
      const t = Date.now();
      await createPods(core, Array.from({ length: 100 }, (_, i) => makePod(`web-${i}`).ns(ns).cpu('10m').nodeSelector({ [SCENARIO_LABEL]: ns })));
      const pods = await waitFor(async () => {
        const ps = await listPods(core, ns);
        return bound(ps).length === 100 ? ps : undefined;
      }, 60_000, '100 plain pods bound', 200);
      console.info(`[s6] 100 plain pods bound in ${Date.now() - t} ms`);
      const perNode = new Map<string, number>();
      for (const p of pods) perNode.set(p.spec?.nodeName ?? '', (perNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
      expect([...perNode.keys()].sort()).toEqual([0, 1, 2].map((i) => `${ns}-n${i}`));
      expect(pods.filter(marked)).toEqual([]);
      // The extender's request counters did not move: no filter, no bind for any of the 100.
      expect(await verbRequests()).toEqual(before);
    });
  });
});
