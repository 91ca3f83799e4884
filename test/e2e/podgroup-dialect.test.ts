// The scheduler-plugins gang dialect on the real control plane (etcd + kube-apiserver + kube-scheduler with
// the shipped configuration, the webhook registered, the extender in-process): pods labelled
// scheduling.x-k8s.io/pod-group naming a PodGroup (scheduling.x-k8s.io/v1alpha1), as Kubeflow
// training-operator and Trainer v2 create them with --gang-scheduler-name=scheduler-plugins.
//
// In order, on one stack: without the CRD the dialect is off (said once in the log and in /readyz, and a
// pod naming a PodGroup is refused saying so); the CRD installed later (the one scheduler-plugins ships:
// test/controlplane/build-coscheduling.sh --crd) is found by the periodic discovery, and the refused pod is
// placed once its PodGroup exists; then a gang: none bound until minMember fit, then all together, and
// the PodGroup's status (phase, counts, scheduleStartTime) written as `kubectl get podgroups` shows it;
// last, the CRD deleted turns the dialect off again.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ApiextensionsV1Api, CustomObjectsApi, setHeaderOptions, type CoreV1Api, type V1CustomResourceDefinition, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_SCHEDULER_PLUGINS_POD_GROUP, PODGROUP_API, RESOURCE_SCHEDULING_MARK } from '../../src/wire/keys.js';
import { makeNode, makePod, makePodGroup } from '../../src/localcluster/builders.js';
import { createNodes, createPods, ensureNamespace, listPods, waitFor } from '../../src/localcluster/objects.js';
import { REPO_ROOT } from '../../src/localcluster/paths.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';

const LABEL = 'e2e.edge-gang.io/podgroup-dialect';
const DISCOVERY_MS = 2000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const { group, version, plural } = PODGROUP_API;

let stack: Stack | undefined;
const S = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};
/** Every line the extender logged, as pino JSON objects. */
const logLines: { msg?: string }[] = [];
const logged = (text: string) => logLines.filter((l) => (l.msg ?? '').includes(text));

/** The PodGroup CRD of scheduler-plugins v0.35, from the Go module cache (needs Go: build-coscheduling.sh says so). */
function podGroupCrd(): Promise<V1CustomResourceDefinition> {
  return new Promise((res, rej) => {
    execFile('bash', [join(REPO_ROOT, 'test/controlplane/build-coscheduling.sh'), '--crd'], { timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`test/controlplane/build-coscheduling.sh --crd failed (it needs Go >= 1.25 and the module sigs.k8s.io/scheduler-plugins): ${String(stderr).trim() || err.message}`));
      else res(parseYaml(readFileSync(stdout.trim().split('\n').pop() as string, 'utf8')) as V1CustomResourceDefinition);
    });
  });
}

async function readyz(): Promise<{ status: number; reason: string }> {
  const r = await fetch(`${S().extenderUrl}/readyz`);
  return { status: r.status, reason: ((await r.json()) as { reason: string }).reason };
}

async function schedulerMessages(core: CoreV1Api, ns: string, reason: string): Promise<string[]> {
  return (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === reason).map((e) => e.message ?? '');
}

const custom = () => S().kubeConfig.makeApiClient(CustomObjectsApi);
/** Creates the PodGroup as a client sends it (without the server-owned uid, creationTimestamp, resourceVersion). */
function createPodGroup(pg: Record<string, unknown>): Promise<unknown> {
  const { name, namespace } = pg.metadata as { name: string; namespace: string };
  return custom().createNamespacedCustomObject({ group, version, plural, namespace, body: { ...pg, metadata: { name, namespace } } });
}
const readPodGroup = async (ns: string, name: string) => (await custom().getNamespacedCustomObject({ group, version, plural, namespace: ns, name })) as { status?: Record<string, unknown> };

/** `kubectl get podgroups`: the API server's Table of the CRD's printer columns, by column name. */
async function podGroupTable(ns: string): Promise<Record<string, unknown>[]> {
  const t = (await custom().listNamespacedCustomObject({ group, version, plural, namespace: ns }, setHeaderOptions('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io'))) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  return t.rows.map((r) => Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, r.cells[i]])));
}

async function setPhase(core: CoreV1Api, pods: V1Pod[], phase: 'Running' | 'Succeeded'): Promise<void> {
  for (const p of pods) {
    const name = p.metadata?.name ?? '';
    const namespace = p.metadata?.namespace ?? '';
    const cur = await core.readNamespacedPodStatus({ name, namespace });
    await core.replaceNamespacedPodStatus({ name, namespace, body: { ...cur, status: { ...cur.status, phase } } });
  }
}

describe('the scheduler-plugins PodGroup dialect on a live cluster', () => {
  beforeAll(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) logLines.push(JSON.parse(l)); done(); } });
    stack = await startStack({
      extenderArgs: ['--podgroup-discovery-ms', String(DISCOVERY_MS), '--podgroup-status-ms', '500'],
      extenderLogger: pino({ level: 'info', base: { component: 'extender' } }, sink),
      progress: (l) => console.info(`[stack] ${l}`),
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('without the CRD: the dialect is off, said once in the log and in /readyz; a pod naming a PodGroup is refused saying why', async () => {
    const { core } = S();
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.reason).toMatch(/PodGroup dialect off: the API server does not serve scheduling.x-k8s.io\/v1alpha1 \(CRD podgroups.scheduling.x-k8s.io not installed\)/);
    const ns = 'pg-early';
    await ensureNamespace(core, ns);
    await createNodes(core, [makeNode(`${ns}-n0`).label(LABEL, ns)]);
    await createPods(core, [makePod('early-0').ns(ns).cpu('100m').podGroup('early').nodeSelector(LABEL, ns)]);
    const [pod] = await listPods(core, ns);
    expect(pod?.spec?.containers[0]?.resources?.requests?.[RESOURCE_SCHEDULING_MARK]).toBe('1'); // the webhook marked it: the extender decides
    const refused = await waitFor(async () => (await schedulerMessages(core, ns, 'FailedScheduling')).find((m) => m.includes('cannot be read')), 30_000, 'FailedScheduling naming the missing CRD');
    expect(refused).toContain('PodGroup "early" (label scheduling.x-k8s.io/pod-group on early-0) cannot be read: the cluster does not serve scheduling.x-k8s.io/v1alpha1 podgroups');
    await sleep(2.5 * DISCOVERY_MS); // discovery asked again, at least twice
    expect(logged('PodGroup dialect off')).toHaveLength(1);
    expect((await listPods(core, ns))[0]?.spec?.nodeName).toBeFalsy();
  });

  it('the CRD installed later is found by the periodic discovery; the refused pod is placed once its PodGroup exists', async () => {
    const { core, kubeConfig } = S();
    const crd = await podGroupCrd();
    await kubeConfig.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: { ...crd, metadata: { name: crd.metadata?.name, annotations: crd.metadata?.annotations } } });
    const on = await waitFor(async () => {
      const r = await readyz();
      return r.status === 200 && r.reason.includes('PodGroup dialect on') ? r : undefined;
    }, 60_000, '/readyz saying the PodGroup dialect is on', 250);
    expect(on.reason).toMatch(/^caches synced; PodGroup dialect on/);
    expect(logged('PodGroup dialect on')).toHaveLength(1);
    await createPodGroup(makePodGroup('early', 1, { ns: 'pg-early' }));
    // The PodGroup's arrival touches its refused member (requeued-at): kube-scheduler tries it again now.
    await waitFor(async () => (await listPods(core, 'pg-early'))[0]?.spec?.nodeName, 60_000, 'early-0 bound once its PodGroup exists', 250);
  });

  it('pods naming a PodGroup are one gang: none bound until minMember fit, then all together; the PodGroup status tells', async () => {
    const { core } = S();
    const ns = 'pg-gang';
    await ensureNamespace(core, ns);
    await createNodes(core, [0, 1].map((i) => makeNode(`${ns}-gpu-${i}`).gpus(2).label(LABEL, ns)));
    await createPodGroup(makePodGroup('trainer', 3, { ns, scheduleTimeoutSeconds: 60 }));
    await createPods(core, [0, 1, 2].map((i) => makePod(`trainer-worker-${i}`).ns(ns).gpu(2).label(LABEL_SCHEDULER_PLUGINS_POD_GROUP, 'trainer').nodeSelector(LABEL, ns)));
    const gap = 'gang pg-gang/trainer: needs 6 nvidia.com/gpu for 3 pods, 4 free';
    await waitFor(async () => (await schedulerMessages(core, ns, 'GangUnschedulable')).some((m) => m === gap), 30_000, `GangUnschedulable "${gap}"`);
    await sleep(3000);
    expect((await listPods(core, ns)).filter((p) => p.spec?.nodeName)).toEqual([]);
    const pending = await waitFor(async () => ((await readPodGroup(ns, 'trainer')).status?.phase === 'Pending' ? readPodGroup(ns, 'trainer') : undefined), 15_000, 'PodGroup phase Pending');
    expect(pending.status?.scheduleStartTime).toMatch(/^\d{4}-\d\d-\d\dT/);

    await createNodes(core, [makeNode(`${ns}-gpu-2`).gpus(2).label(LABEL, ns)]);
    const all = await waitFor(async () => {
      const ps = await listPods(core, ns);
      return ps.every((p) => p.spec?.nodeName) ? ps : undefined;
    }, 90_000, 'all 3 members bound', 200);
    const times = all.map((p) => Date.parse(String(p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True')?.lastTransitionTime)));
    expect(Math.max(...times) - Math.min(...times)).toBeLessThanOrEqual(2000);
    await waitFor(async () => (await readPodGroup(ns, 'trainer')).status?.phase === 'Scheduling', 15_000, 'PodGroup phase Scheduling once minMember are bound');

    // No kubelet here: the pods' phases are set as a kubelet would report them.
    await setPhase(core, all, 'Running');
    await waitFor(async () => {
      const [row] = await podGroupTable(ns);
      return row?.Phase === 'Running' && row?.Running === 3 ? row : undefined;
    }, 15_000, 'kubectl get podgroups: Running, 3 running');
    await setPhase(core, all, 'Succeeded');
    const done = await waitFor(async () => {
      const [row] = await podGroupTable(ns);
      return row?.Phase === 'Finished' && row?.Succeeded === 3 ? row : undefined;
    }, 15_000, 'kubectl get podgroups: Finished, 3 succeeded');
    expect(done).toMatchObject({ Name: 'trainer', Phase: 'Finished', MinMember: 3, Succeeded: 3 });
  });

  it('the CRD removed: the dialect turns off again, said once more, and the extender stays ready', async () => {
    const crd = await podGroupCrd();
    await S().kubeConfig.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
    const off = await waitFor(async () => {
      const r = await readyz();
      return r.status === 200 && r.reason.includes('PodGroup dialect off') ? r : undefined;
    }, 60_000, '/readyz saying the PodGroup dialect is off again', 250);
    expect(off.reason).toMatch(/CRD podgroups.scheduling.x-k8s.io not installed/);
    expect(logged('PodGroup dialect off')).toHaveLength(2);
  });
});
