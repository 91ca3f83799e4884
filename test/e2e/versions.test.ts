// Version-matrix smoke (issue 15, item 5): the same three stories against kube-apiserver +
// kube-scheduler v1.35.4 (what every other e2e test runs) and v1.37.2 (the newest; bench:cluster's
// ours-1.37 side), each with the shipped manifests/scheduler/kube-scheduler-config.yaml, the webhook,
// the extender in-process and the stand-in CSI provisioner (stack.ts):
//   1. a plain pod is bound by kube-scheduler alone (unmarked, no extender verb called);
//   2. a gang of 3 (min-available 3) where only 2 fit stays all Pending with our reason in numbers,
//      then all 3 bind together once a node is added;
//   3. a pod with a WaitForFirstConsumer claim of StorageClass csi-local-lvm goes to the node whose
//      VolumeGroup has room, and one no VolumeGroup fits is refused with the sizes.
// No feature gates and no --runtime-config: those are only for the in-tree gang peers of the bench.
// No skips: without the binaries, build.sh builds them (cold: minutes) or fails saying what to install.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_STORAGE_CLASS, DEFAULT_VG_NAME, LABEL_LOCAL_STORAGE, RESOURCE_SCHEDULING_MARK, ANNOTATION_SELECTED_NODE } from '../../src/wire/keys.js';
import { locateBinaries } from '../../src/localcluster/binaries.js';
import { GiB, makeNode, makePod, makePvc, type NodeBuilder } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureNamespace, ensureStorageClass, listPods, waitFor } from '../../src/localcluster/objects.js';
import { httpGet } from '../../src/localcluster/net.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';
import { GangMonitor } from '../harness/gang-monitor.js';

/** The versions this file runs, and why each. README "Tested Kubernetes versions" names the same. */
const VERSIONS = [
  { k8sVersion: '1.35.4', role: 'the version of every other e2e test' },
  { k8sVersion: '1.37.2', role: 'the newest; bench:cluster ours-1.37' },
] as const;

/** build.sh for a cold version: ~7 min on 2 idle cores, 30 min (1,790 s, v1.37.2) beside a CI run. CI should build both before the tests. */
const BUILD_TIMEOUT_MS = 45 * 60_000;
const SCENARIO_LABEL = 'e2e.edge-gang.io/versions';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const bound = (pods: V1Pod[]) => pods.filter((p) => p.spec?.nodeName);
const marked = (p: V1Pod) => p.spec?.containers?.[0]?.resources?.requests?.[RESOURCE_SCHEDULING_MARK] === '1';
const node = (ns: string, name: string): NodeBuilder => makeNode(`${ns}-${name}`).label(SCENARIO_LABEL, ns);

/** Time the PodScheduled condition turned True. */
function scheduledAtMs(p: V1Pod): number {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'True');
  return c?.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : NaN;
}

async function podEvents(core: CoreV1Api, ns: string, reason: string): Promise<{ pod: string; message: string }[]> {
  const list = await core.listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => e.reason === reason && e.involvedObject.kind === 'Pod').map((e) => ({ pod: e.involvedObject.name ?? '', message: e.message ?? '' }));
}

/** klog's warning (W) and error (E) lines of kube-scheduler's log, without the header's date and pid. */
function klogProblems(text: string): string[] {
  return text.split('\n').filter((l) => /^[WE]\d{4} /.test(l)).map((l) => l.replace(/^([WE])\d{4} [\d:.]+\s+\d+ /, '$1 '));
}

/** What each version's run found, printed once at the end so the two can be compared. */
const summary: string[] = [];

afterAll(() => {
  console.info(['[versions] summary:', ...summary.map((l) => `  ${l}`)].join('\n'));
});

// One describe per version (not describe.each: its $field titles quote strings), so every test's name says the version.
for (const { k8sVersion, role } of VERSIONS) describe(`kube-apiserver + kube-scheduler v${k8sVersion} (${role}), shipped scheduler configuration`, () => {
  const tag = `[v${k8sVersion}]`;
  let startedMs = Date.now();
  let stack: Stack | undefined;
  const S = (): Stack => {
    if (!stack) throw new Error(`the stack on v${k8sVersion} did not start (see beforeAll's error)`);
    return stack;
  };
  let schedulerLog = '';
  const durations: string[] = [];
  let verbs = 'gang verbs: not reached';

  /** extender_requests_total per verb, summed over outcomes. */
  async function verbRequests(): Promise<Record<string, number>> {
    const text = await (await fetch(`${S().extenderUrl}/metrics`)).text();
    const out: Record<string, number> = { filter: 0, prioritize: 0, bind: 0 };
    for (const m of text.matchAll(/^extender_requests_total\{verb="(\w+)",outcome="\w+"\} (\d+)/gm)) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
    return out;
  }

  async function timed(name: string, ns: string, body: () => Promise<void>): Promise<void> {
    const t = Date.now();
    await ensureNamespace(S().core, ns);
    try {
      await body();
    } finally {
      durations.push(`${name} ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  }

  beforeAll(async () => {
    const t = Date.now();
    startedMs = t;
    // A cold cache builds the version here (build.sh); a warm one answers at once. Fails naming Go when it is missing.
    const bins = await locateBinaries({ k8sVersion, timeoutMs: BUILD_TIMEOUT_MS });
    const locateMs = Date.now() - t;
    console.info(`${tag} control plane binaries in ${bins.binDir} (${(locateMs / 1000).toFixed(1)} s${locateMs > 60_000 ? ', built cold' : ''})`);
    stack = await startStack({
      k8sVersion,
      extenderArgs: ['--barrier-timeout-ms', '20000'],
      extenderLogLevel: process.env.E2E_EXTENDER_LOG_LEVEL ?? 'warn',
      progress: (l) => console.info(`${tag} [stack] ${l}`),
    });
    console.info(`${tag} stack up in ${(stack.timings.totalMs / 1000).toFixed(1)} s`, stack.timings);
    await ensureStorageClass(stack.storage);
  }, BUILD_TIMEOUT_MS + 10 * 60_000);

  afterAll(async () => {
    if (stack) {
      try {
        schedulerLog = readFileSync(join(stack.cp.logsDir, 'kube-scheduler.log'), 'utf8');
      } catch (err) {
        schedulerLog = `(kube-scheduler.log unreadable: ${(err as Error).message})`;
      }
    }
    await stack?.stop();
    const problems = klogProblems(schedulerLog);
    const total = ((Date.now() - startedMs) / 1000).toFixed(1);
    summary.push(`v${k8sVersion}: ${total} s wall (stack ${((stack?.timings.totalMs ?? 0) / 1000).toFixed(1)} s; ${durations.join(', ')}; ${verbs}); kube-scheduler W/E lines: ${problems.length}`);
    for (const p of problems) summary.push(`  v${k8sVersion} kube-scheduler: ${p.slice(0, 400)}`);
  });

  it(`runs v${k8sVersion}: kube-apiserver's /version and kube-scheduler's start line say so`, async () => {
    const { cp } = S();
    expect(cp.k8sVersion).toBe(k8sVersion);
    const res = await httpGet(`${cp.apiUrl}/version`, cp.tokens.get('admin'));
    expect(res.status, `GET ${cp.apiUrl}/version: ${res.body}`).toBe(200);
    const info = JSON.parse(res.body) as { gitVersion?: string; major?: string; minor?: string };
    expect(info.gitVersion).toBe(`v${k8sVersion}`);
    expect(`${info.major}.${info.minor}`).toBe(k8sVersion.split('.').slice(0, 2).join('.'));
    const log = readFileSync(join(cp.logsDir, 'kube-scheduler.log'), 'utf8');
    const start = log.split('\n').find((l) => l.includes('Starting Kubernetes Scheduler')) ?? '';
    expect(start, 'kube-scheduler.log: the "Starting Kubernetes Scheduler" line').toContain(`v${k8sVersion}`);
    console.info(`${tag} kube-apiserver gitVersion ${info.gitVersion}; kube-scheduler: ${start.replace(/^I\d{4} [\d:.]+\s+\d+ /, '')}`);
  });

  it('binds a plain pod with kube-scheduler alone: no mark, no extender verb', async () => {
    const ns = 'v-plain';
    await timed('plain', ns, async () => {
      const { core } = S();
      await createNodes(core, [node(ns, 'n0').cpu('4')]);
      const before = await verbRequests();
      await createPods(core, [makePod('web').ns(ns).cpu('100m').nodeSelector({ [SCENARIO_LABEL]: ns })]);
      const pod = await waitFor(async () => {
        const p = await core.readNamespacedPod({ name: 'web', namespace: ns });
        return p.spec?.nodeName ? p : undefined;
      }, 60_000, `plain pod ${ns}/web bound by kube-scheduler v${k8sVersion}`);
      expect(pod.spec?.nodeName).toBe(`${ns}-n0`);
      expect(marked(pod)).toBe(false);
      expect(await verbRequests()).toEqual(before);
    });
  });

  it('holds a gang of 3 (min-available 3) all Pending with the gap while 2 fit, then binds all 3 together', async () => {
    const ns = 'v-gang';
    await timed('gang', ns, async () => {
      const { core } = S();
      await createNodes(core, [node(ns, 'gpu-0').gpus(2), node(ns, 'gpu-1').gpus(2)]);
      const before = await verbRequests();
      const monitor = new GangMonitor(core, ns);
      try {
        await createPods(core, [0, 1, 2].map((i) => makePod(`trainer-${i}`).ns(ns).cpu('500m').gpu(2).group('trainer', 3).nodeSelector({ [SCENARIO_LABEL]: ns })));
        const gap = `gang ${ns}/trainer: needs 6 nvidia.com/gpu for 3 pods, 4 free`;
        const seen = await waitFor(async () => {
          const fs = (await podEvents(core, ns, 'FailedScheduling')).filter((e) => e.message.includes(gap));
          const gs = (await podEvents(core, ns, 'GangUnschedulable')).filter((e) => e.message.includes(gap));
          return fs.length > 0 && new Set(gs.map((e) => e.pod)).size === 3 ? { fs, gs } : undefined;
        }, 60_000, `a FailedScheduling event and a GangUnschedulable event on each of the 3 members naming "${gap}"`);
        console.info(`${tag} gang refused: ${seen.fs[0]?.message}`);
        await sleep(3000); // nothing may bind while only 2 fit
        const pods = await listPods(core, ns);
        expect(pods).toHaveLength(3);
        expect(bound(pods)).toEqual([]);
        expect(pods.filter(marked)).toHaveLength(3); // the webhook sent every member to the extender

        const added = Date.now();
        await createNodes(core, [node(ns, 'gpu-2').gpus(2)]);
        const all = await waitFor(async () => {
          const ps = await listPods(core, ns);
          return bound(ps).length === 3 ? ps : undefined;
        }, 90_000, `all 3 members of ${ns}/trainer bound after gpu-2 was added`, 150);
        console.info(`${tag} gang: all 3 bound ${Date.now() - added} ms after the node was added: ${all.map((p) => `${p.metadata?.name}->${p.spec?.nodeName}`).join(', ')}`);
        expect(new Set(all.map((p) => p.spec?.nodeName)).size).toBe(3);
        const times = all.map(scheduledAtMs);
        expect(times.every((t) => Number.isFinite(t))).toBe(true);
        expect(Math.max(...times) - Math.min(...times)).toBeLessThanOrEqual(2000);
      } finally {
        await monitor.stop();
      }
      expect(monitor.persistent).toEqual([]);
      // Filter and bind both went through the extender on this version.
      const after = await verbRequests();
      verbs = `gang verbs: filter ${(after.filter ?? 0) - (before.filter ?? 0)}, bind ${(after.bind ?? 0) - (before.bind ?? 0)}`;
      expect((after.filter ?? 0) - (before.filter ?? 0)).toBeGreaterThanOrEqual(3);
      expect((after.bind ?? 0) - (before.bind ?? 0)).toBeGreaterThanOrEqual(3);
    });
  });

  it(`places a pod with a WaitForFirstConsumer ${DEFAULT_LOCAL_STORAGE_CLASS} claim where its VolumeGroup has room; refuses one no VG fits, naming the sizes`, async () => {
    const ns = 'v-lvm';
    await timed('local-lvm', ns, async () => {
      const { core, storage, provisioner } = S();
      const sc = await storage.readStorageClass({ name: DEFAULT_LOCAL_STORAGE_CLASS });
      expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
      const edge = (name: string) => node(ns, name).label(LABEL_LOCAL_STORAGE, 'true');
      await createNodes(core, [
        edge('small').capacityReport([{ sizeBytes: 1 * GiB }]),
        edge('room').capacityReport([{ sizeBytes: 10 * GiB }]),
        edge('no-vg').capacityReport([{ name: 'othervg', sizeBytes: 10 * GiB }]),
      ]);
      const failuresBefore = provisioner.failures.length;
      const sel = { [SCENARIO_LABEL]: ns };

      await createPvc(core, makePvc('data-0').ns(ns).storage('5Gi'));
      await sleep(1000);
      const waiting = await core.readNamespacedPersistentVolumeClaim({ name: 'data-0', namespace: ns });
      expect(waiting.status?.phase).toBe('Pending'); // WaitForFirstConsumer: nothing happens before a pod
      expect(waiting.metadata?.annotations?.[ANNOTATION_SELECTED_NODE]).toBeUndefined();

      await createPods(core, [makePod('app-0').ns(ns).cpu('100m').pvc('data-0').nodeSelector(sel)]);
      const pod = await waitFor(async () => {
        const p = await core.readNamespacedPod({ name: 'app-0', namespace: ns });
        return p.spec?.nodeName ? p : undefined;
      }, 60_000, `local-LVM pod ${ns}/app-0 bound`);
      expect(pod.spec?.nodeName).toBe(`${ns}-room`);
      expect(marked(pod)).toBe(true);
      const pvc = await waitFor(async () => {
        const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-0', namespace: ns });
        return c.status?.phase === 'Bound' ? c : undefined;
      }, 30_000, `claim ${ns}/data-0 Bound`);
      expect(pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE]).toBe(`${ns}-room`);
      expect(provisioner.provisioned.get(`${ns}/data-0`)?.node).toBe(`${ns}-room`);

      // room has 5Gi left, small's VG is 1Gi, no-vg has no volumegroup1: an 8Gi claim fits nowhere.
      await createPvc(core, makePvc('data-1').ns(ns).storage('8Gi'));
      await createPods(core, [makePod('app-1').ns(ns).cpu('100m').pvc('data-1').nodeSelector(sel)]);
      const wants = [
        `local-lvm: ${DEFAULT_VG_NAME}: requested 8Gi, free 5Gi`,
        `local-lvm: ${DEFAULT_VG_NAME}: requested 8Gi, VG size 1Gi`,
        `local-lvm: VolumeGroup ${DEFAULT_VG_NAME} not found on node (has othervg)`,
      ];
      let last = 'none';
      const refused = await waitFor(async () => {
        const mine = (await podEvents(core, ns, 'FailedScheduling')).filter((e) => e.pod === 'app-1');
        last = mine.map((e) => e.message).join(' | ') || 'none';
        return mine.find((e) => wants.every((w) => e.message.includes(w)));
      }, 60_000, `a FailedScheduling event on ${ns}/app-1 naming ${wants.map((w) => `"${w}"`).join(', ')}`).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; its FailedScheduling events: ${last}`);
      });
      console.info(`${tag} local-LVM refused: ${refused.message}`);
      await sleep(2000);
      expect((await core.readNamespacedPod({ name: 'app-1', namespace: ns })).spec?.nodeName).toBeUndefined();
      expect(provisioner.provisioned.has(`${ns}/data-1`)).toBe(false);
      expect(provisioner.failures.slice(failuresBefore)).toEqual([]);
    });
  });
});
