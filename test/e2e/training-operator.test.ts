// The real Kubeflow training-operator v1.8.1 (built from its Go module: test/controlplane/build-training-operator.sh)
// against the local control plane (etcd + kube-apiserver + kube-scheduler with the shipped configuration, the
// webhook registered, the extender in-process), with --gang-scheduler-name=scheduler-plugins: seed 002's TFJob
// (5.3.1: 1 PS + 4 workers with 2 GPUs each, min-available 5) applied as `kubectl apply --server-side` would;
// the operator creates a scheduling.x-k8s.io/v1alpha1 PodGroup and the pods; they stay Pending with the
// extender's reason while GPUs are short, and bind together once enough exist (issue 15, item 4).
//
// Why the TFJob's pod templates set schedulerName: default-scheduler. With gang scheduling on, the operator
// sets every pod's schedulerName to the --gang-scheduler-name ("scheduler-plugins") unless the template names
// one (pkg/controller.v1/control/podgroup_control.go DecoratePodTemplateSpec). No kube-scheduler profile is
// called that here (manifests/scheduler/kube-scheduler-config.yaml has default-scheduler, the profile that
// calls the extender) and our webhook marks only pods for the served scheduler, so such pods would wait
// unscheduled with no reason at all. A template schedulerName is kept (with a Warning Event
// SetPodTemplateSchedulerName on the TFJob), which this test checks.
//
// Adapted from the seed (examples/seed-5.3.1-tfjob.yaml): the seed's pod-group labels are dropped, so the gang
// comes from the operator's PodGroup alone, and min-available becomes runPolicy.schedulingPolicy.minAvailable;
// the template restartPolicy moves to the replica level, where the operator reads it. No kubelet runs: a pod is
// "bound" once spec.nodeName is set, and the pods' phases are set here as a kubelet would report them. No
// kube-controller-manager runs either; the operator needs nothing from one here (kube-apiserver's ServiceAccount
// admission is off in the local control plane, so the pods need no ServiceAccount or token, and no
// namespace is deleted).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, type CoreV1Api, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULER_NAME, GANG_EVENTS, LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME, LABEL_SCHEDULER_PLUGINS_POD_GROUP, PODGROUP_API, RESOURCE_GPU, RESOURCE_SCHEDULING_MARK } from '../../src/wire/keys.js';
import { makeNode } from '../../src/localcluster/builders.js';
import { createNodes, isNotFound, listPods, waitFor } from '../../src/localcluster/objects.js';
import { REPO_ROOT } from '../../src/localcluster/paths.js';
import { sleep } from '../../src/localcluster/processes.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';
import { installCrds, locateTrainingOperator, operatorCrds, podGroupCrd, startTrainingOperator, type OperatorBuild, type TrainingOperator } from '../support/training-operator.js';

const NS = 'default';
const JOB = 'tf-smoke-gpu';
const MIN_AVAILABLE = 5;
const JOB_SELECTOR = `training.kubeflow.org/job-name=${JOB}`;
const TFJOB_API = { group: 'kubeflow.org', version: 'v1', plural: 'tfjobs' } as const;
/** A cold build of the operator takes about 4 minutes on 2 cores; run the build script ahead so no test hook spends it. */
const BUILD_TIMEOUT_MS = 20 * 60_000;
/** How long the pods may take to bind once the GPUs are there (the demo's story takes 1-5 s). */
const BIND_WITHIN_MS = 60_000;

let stack: Stack | undefined;
let operator: TrainingOperator | undefined;
let build: OperatorBuild | undefined;
const S = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};
const O = (): TrainingOperator => {
  if (!operator) throw new Error('the training-operator did not start');
  return operator;
};

type Json = Record<string, any>;
const custom = () => S().kubeConfig.makeApiClient(CustomObjectsApi);
const readPodGroup = async () => (await custom().getNamespacedCustomObject({ ...PODGROUP_API, namespace: NS, name: JOB })) as Json;
const readTfJob = async () => (await custom().getNamespacedCustomObject({ ...TFJOB_API, namespace: NS, name: JOB })) as Json;
const jobPods = () => listPods(S().core, NS, JOB_SELECTOR);
const condition = (p: V1Pod, type: string) => p.status?.conditions?.find((c) => c.type === type);
const jobCondition = (job: Json, type: string) => (job.status?.conditions as Json[] | undefined)?.find((c) => c.type === type && c.status === 'True');

/** Seed 002's TFJob, adapted as the header says. */
function seedTfJob(): Json {
  const job = parseYaml(readFileSync(join(REPO_ROOT, 'examples/seed-5.3.1-tfjob.yaml'), 'utf8')) as Json;
  for (const replica of Object.values(job.spec.tfReplicaSpecs as Record<string, Json>)) {
    const meta = replica.template.metadata as Json;
    expect(meta.labels[LABEL_POD_GROUP_MIN_AVAILABLE]).toBe(String(MIN_AVAILABLE)); // the seed's number, now minAvailable
    delete meta.labels[LABEL_POD_GROUP_NAME];
    delete meta.labels[LABEL_POD_GROUP_MIN_AVAILABLE];
    delete meta.creationTimestamp;
    replica.restartPolicy = replica.template.spec.restartPolicy;
    delete replica.template.spec.restartPolicy;
    replica.template.spec.schedulerName = DEFAULT_SCHEDULER_NAME;
  }
  job.metadata.namespace = NS;
  job.spec.runPolicy = { schedulingPolicy: { minAvailable: MIN_AVAILABLE } };
  return job;
}

/** `kubectl apply --server-side`: an apply patch with kubectl's field manager. */
function serverSideApply(obj: Json): Promise<KubernetesObject> {
  return KubernetesObjectApi.makeApiClient(S().kubeConfig).patch(obj as KubernetesObject, undefined, undefined, 'kubectl', false, PatchStrategy.ServerSideApply);
}

async function events(core: CoreV1Api, reason: string, kind?: string): Promise<{ name: string; message: string }[]> {
  return (await core.listNamespacedEvent({ namespace: NS }))
    .items.filter((e) => e.reason === reason && (!kind || e.involvedObject.kind === kind))
    .map((e) => ({ name: e.involvedObject.name ?? '', message: e.message ?? '' }));
}

/** Sets every pod's phase (and its tensorflow container's state) as a kubelet would report it. */
async function setPhase(core: CoreV1Api, pods: V1Pod[], phase: 'Running' | 'Succeeded'): Promise<void> {
  for (const p of pods) {
    const name = p.metadata?.name ?? '';
    const cur = await core.readNamespacedPodStatus({ name, namespace: NS });
    const container = cur.spec?.containers[0];
    const now = new Date();
    const state = phase === 'Running' ? { running: { startedAt: now } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } };
    await core.replaceNamespacedPodStatus({
      name,
      namespace: NS,
      body: {
        ...cur,
        status: {
          ...cur.status,
          phase,
          containerStatuses: [{ name: container?.name ?? 'tensorflow', image: container?.image ?? '', imageID: '', ready: phase === 'Running', restartCount: 0, state }],
        },
      },
    });
  }
}

/**
 * Every bind seen, by pod, with the time this test first saw it: polled all along, so "none bound while GPUs
 * are short" holds between the explicit checks too.
 */
const firstBound = new Map<string, { node: string; atMs: number }>();
let watching = true;
let watchLoop: Promise<void> | undefined;
function watchBinds(): void {
  watchLoop = (async () => {
    while (watching) {
      try {
        for (const p of await jobPods()) {
          const name = p.metadata?.name ?? '';
          if (p.spec?.nodeName && !firstBound.has(name)) firstBound.set(name, { node: p.spec.nodeName, atMs: Date.now() });
        }
      } catch {
        // the API server is going away at the end; the explicit checks report real failures
      }
      await sleep(200);
    }
  })();
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const messageOf = (p: V1Pod) => condition(p, 'PodScheduled')?.message ?? '';

/** Checks at several moments that every pod is Pending and unbound, with an extender reason matching `reason` on its PodScheduled condition. */
async function expectAllPendingWith(reason: RegExp, moments: number, gapMs: number): Promise<void> {
  for (let i = 0; i < moments; i++) {
    if (i > 0) await sleep(gapMs);
    const pods = await jobPods();
    expect(pods).toHaveLength(MIN_AVAILABLE);
    for (const p of pods) {
      expect(p.spec?.nodeName, `${p.metadata?.name} bound at check ${i + 1}`).toBeFalsy();
      expect(p.status?.phase).toBe('Pending');
      expect(condition(p, 'PodScheduled')?.status).toBe('False');
      expect(messageOf(p)).toMatch(reason);
    }
    expect([...firstBound.keys()]).toEqual([]);
  }
}

/** Waits until every pod's PodScheduled condition matches `reason` (kube-scheduler writes it after the extender's filter). */
async function waitAllRefusedWith(reason: RegExp, timeoutMs: number): Promise<V1Pod[]> {
  let last: string[] = [];
  try {
    return await waitFor(async () => {
      const pods = await jobPods();
      last = pods.map((p) => `${p.metadata?.name}: ${p.spec?.nodeName ? `bound to ${p.spec.nodeName}` : messageOf(p) || '(no PodScheduled condition)'}`);
      return pods.length === MIN_AVAILABLE && pods.every((p) => reason.test(messageOf(p))) ? pods : undefined;
    }, timeoutMs, `all ${MIN_AVAILABLE} pods' PodScheduled condition to match ${reason}`, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen:\n  ${last.join('\n  ')}`);
  }
}

describe('Kubeflow training-operator v1.8.1 (--gang-scheduler-name=scheduler-plugins) on a live cluster', () => {
  // A setup failure is kept and thrown by every test (as test/e2e/image.test.ts does), so a machine without Go
  // or the module reports failed tests naming what to install, not skipped ones.
  let setupError: unknown = null;
  beforeAll(async () => {
    try {
      // First, so a machine without Go fails here, before a control plane starts.
      build = await locateTrainingOperator(BUILD_TIMEOUT_MS);
      const pgCrd = await podGroupCrd();
      stack = await startStack({
        extenderArgs: ['--podgroup-discovery-ms', '1000', '--podgroup-status-ms', '500'],
        progress: (l) => console.info(`[stack] ${l}`),
      });
      const { kubeConfig, cp } = stack;
      // scheduler-plugins' PodGroup CRD (the operator checks it is served before it registers its controllers),
      // then the operator's own CRDs from its module.
      await installCrds(kubeConfig, [pgCrd, ...operatorCrds(build.crdDir)]);
      await waitFor(async () => {
        const r = await fetch(`${S().extenderUrl}/readyz`);
        return ((await r.json()) as { reason: string }).reason.includes('PodGroup dialect on');
      }, 60_000, "the extender's /readyz saying the PodGroup dialect is on", 250);
      const t0 = Date.now();
      operator = await startTrainingOperator({ kubeConfig, kubeconfigPath: cp.kubeconfigPath, build, gangSchedulerName: 'scheduler-plugins' });
      console.info(`[training-operator] ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${build.binary})`);
    } catch (err) {
      setupError = err;
    }
  }, BUILD_TIMEOUT_MS + 5 * 60_000);

  beforeEach(() => {
    if (setupError !== null) throw setupError;
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && operator) console.error(`[training-operator] log tail:\n${operator.component.logTail()}`);
  });

  afterAll(async () => {
    watching = false;
    await watchLoop;
    await operator?.stop();
    await stack?.stop();
  });

  it('the operator is ready: its rotator kept the seeded certificates and injected the CA; its TFJob webhook answers on loopback', async () => {
    const { kubeConfig, core } = S();
    const op = O();
    const log = op.log();
    expect(log).toContain('no cert refresh needed');
    expect(log).toContain('CA certs are injected to webhooks');
    const secret = await core.readNamespacedSecret({ name: op.secretName, namespace: 'kubeflow' });
    expect(Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString()).toBe(op.caPem);
    const vwc = await kubeConfig.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: op.webhookConfigurationName });
    const tfjobHook = vwc.webhooks?.find((w) => w.name === 'validator.tfjob.training-operator.kubeflow.org');
    expect(tfjobHook?.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/validate-kubeflow-org-v1-tfjob$/);
    for (const w of vwc.webhooks ?? []) expect(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString()).toBe(op.caPem);

    // The webhook is live (failurePolicy Fail): a TFJob without a "tensorflow" container is refused by it.
    const bad = seedTfJob();
    bad.metadata.name = 'tf-invalid';
    bad.spec.tfReplicaSpecs.Worker.template.spec.containers[0].name = 'trainer';
    const refused = await serverSideApply(bad).then(() => 'accepted', (err: Error) => String((err as { body?: unknown }).body ?? err.message));
    expect(refused).toContain('admission webhook \\"validator.tfjob.training-operator.kubeflow.org\\" denied the request');
    expect(refused).toContain('must have at least one container with name tensorflow');
  });

  it('the seed TFJob applied: the operator creates the PodGroup (minMember 5, minResources) and 5 pods owned by the TFJob, labelled for the PodGroup, for the served scheduler', async () => {
    const { core } = S();
    // The seed's cluster: 4 GPUs.
    await createNodes(core, [makeNode('gpu-0').gpus(2), makeNode('gpu-1').gpus(2)]);
    watchBinds();
    const applied = (await serverSideApply(seedTfJob())) as Json;
    const uid = applied.metadata.uid as string;

    const pg = await waitFor(() => readPodGroup(), 60_000, `PodGroup ${NS}/${JOB} created by the operator`, 250);
    expect(pg.spec).toMatchObject({ minMember: MIN_AVAILABLE, minResources: { cpu: '1', [RESOURCE_GPU]: '8' } });
    expect(pg.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'kubeflow.org/v1', kind: 'TFJob', name: JOB, uid, controller: true })]);

    const pods = await waitFor(async () => {
      const ps = await jobPods();
      return ps.length === MIN_AVAILABLE ? ps : undefined;
    }, 60_000, `the operator's ${MIN_AVAILABLE} pods of TFJob ${JOB}`, 250);
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual([`${JOB}-ps-0`, ...[0, 1, 2, 3].map((i) => `${JOB}-worker-${i}`)]);
    for (const p of pods) {
      expect(p.metadata?.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'kubeflow.org/v1', kind: 'TFJob', name: JOB, uid, controller: true })]);
      expect(p.metadata?.labels?.[LABEL_SCHEDULER_PLUGINS_POD_GROUP]).toBe(JOB);
      expect(p.metadata?.labels?.[LABEL_POD_GROUP_NAME]).toBeUndefined(); // the gang is the PodGroup's alone
      expect(p.spec?.schedulerName).toBe(DEFAULT_SCHEDULER_NAME);
      // Our webhook marked it, so kube-scheduler asks the extender about it.
      expect(p.spec?.containers[0]?.resources?.requests?.[RESOURCE_SCHEDULING_MARK]).toBe('1');
    }
    const warned = await waitFor(async () => (await events(core, 'SetPodTemplateSchedulerName', 'TFJob')).find((e) => e.name === JOB), 30_000, 'the Warning SetPodTemplateSchedulerName on the TFJob');
    expect(warned.message).toBe('Another scheduler is specified when gang-scheduling is enabled and it will not be overwritten');
  });

  it('on 4 GPUs for 8: every pod stays Pending with the extender reason in numbers, none bound at any check', async () => {
    const { core } = S();
    const gap = `gang ${NS}/${JOB}: PodGroup minResources needs 8 ${RESOURCE_GPU}, 4 free on the 2 schedulable nodes`;
    // The extender's word on every member: the GangUnschedulable Event (`kubectl describe pod`), posted on all
    // members when the plan fails.
    await waitFor(async () => {
      const named = (await events(core, GANG_EVENTS.unschedulable.reason, 'Pod')).filter((e) => e.message === gap).map((e) => e.name);
      return new Set(named).size === MIN_AVAILABLE;
    }, 60_000, `GangUnschedulable "${gap}" on all ${MIN_AVAILABLE} pods`, 250);
    // kube-scheduler's PodScheduled condition holds the reason of each pod's last try. The operator creates the
    // pods one by one, so a pod tried before the fifth existed was refused by the quorum gate ("2 of 5 members
    // exist", unresolvable); the extender calls those back once when the first plan fails, so every pod ends
    // with the current gap.
    const ours = new RegExp(escapeRe(gap));
    await waitAllRefusedWith(ours, 60_000);
    await expectAllPendingWith(ours, 4, 2000);
    const pg = await waitFor(async () => ((await readPodGroup()).status?.phase === 'Pending' ? readPodGroup() : undefined), 15_000, 'PodGroup phase Pending');
    expect(pg.status.scheduleStartTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('8 GPUs but fragmented (gpu-2 with 3, gpu-3 with 1): the whole-gang plan places only 3 workers, so still none is bound', async () => {
    const { core } = S();
    await createNodes(core, [makeNode('gpu-2').gpus(3), makeNode('gpu-3').gpus(1)]);
    // minResources (8 GPUs) now fits the total; the plan is what refuses, naming the member that fits nowhere.
    // The new nodes are a cluster event: kube-scheduler tries every pod again, so all now say the current reason.
    const reason = new RegExp(`gang ${NS}/${JOB}: no placement for ${MIN_AVAILABLE} members: 4 placed; ${JOB}-worker-\\d fits no node \\(insufficient nvidia\\.com/gpu: requested 2, free 1\\)`);
    await waitAllRefusedWith(reason, 60_000);
    await expectAllPendingWith(reason, 3, 2000);
  });

  it('gpu-3 reports a second GPU: all 5 bound together within the bound time, one worker per node', async () => {
    const { core } = S();
    const node = await core.readNodeStatus({ name: 'gpu-3' });
    const gpus = { [RESOURCE_GPU]: '2' };
    const addedAt = Date.now();
    await core.replaceNodeStatus({ name: 'gpu-3', body: { ...node, status: { ...node.status, capacity: { ...node.status?.capacity, ...gpus }, allocatable: { ...node.status?.allocatable, ...gpus } } } });
    const pods = await waitFor(async () => {
      const ps = await jobPods();
      return ps.length === MIN_AVAILABLE && ps.every((p) => p.spec?.nodeName) ? ps : undefined;
    }, BIND_WITHIN_MS, `all ${MIN_AVAILABLE} pods bound within ${BIND_WITHIN_MS / 1000} s of the GPU appearing`, 100);
    const tookMs = Date.now() - addedAt;
    console.info(`[gang] all ${MIN_AVAILABLE} bound ${(tookMs / 1000).toFixed(1)} s after gpu-3's second GPU appeared`);
    // No bind before the GPU appeared (the poller watched all along), and all binds within a moment of each other.
    for (const [name, b] of firstBound) expect(b.atMs, `${name} bound before the GPU appeared`).toBeGreaterThanOrEqual(addedAt);
    const scheduledAt = pods.map((p) => Date.parse(String(condition(p, 'PodScheduled')?.lastTransitionTime)));
    // The API server's own record of each bind (RFC 3339, whole seconds) is not before the GPU appeared either.
    for (const at of scheduledAt) expect(at).toBeGreaterThanOrEqual(Math.floor(addedAt / 1000) * 1000);
    expect(Math.max(...scheduledAt) - Math.min(...scheduledAt)).toBeLessThanOrEqual(2000);
    for (const p of pods) expect(condition(p, 'PodScheduled')?.status).toBe('True');
    const workers = pods.filter((p) => p.metadata?.name?.includes('-worker-'));
    expect(new Set(workers.map((p) => p.spec?.nodeName)).size).toBe(4);
    // kube-scheduler's Scheduled Event on each (its event broadcaster writes them a moment after the binds).
    const names = pods.map((p) => p.metadata?.name ?? '').sort();
    await waitFor(async () => JSON.stringify([...new Set((await events(core, 'Scheduled', 'Pod')).map((e) => e.name))].sort()) === JSON.stringify(names), 15_000, `a Scheduled Event on each of ${names.join(', ')}`);
  });

  it('status as far as it goes without a kubelet: PodGroup Scheduling; as a kubelet reports Running then Succeeded, the TFJob and PodGroup follow, and the operator removes its PodGroup', async () => {
    const { core } = S();
    await waitFor(async () => (await readPodGroup()).status?.phase === 'Scheduling', 15_000, 'PodGroup phase Scheduling once minMember are bound');
    const created = await waitFor(async () => jobCondition(await readTfJob(), 'Created'), 15_000, 'TFJob condition Created');
    expect(created.reason).toBe('TFJobCreated');

    const pods = await jobPods();
    await setPhase(core, pods, 'Running');
    const running = await waitFor(async () => {
      const job = await readTfJob();
      return jobCondition(job, 'Running') && job.status?.replicaStatuses?.Worker?.active === 4 && job.status?.replicaStatuses?.PS?.active === 1 ? job : undefined;
    }, 30_000, 'TFJob condition Running with 4 active workers and 1 active PS');
    expect(jobCondition(running, 'Running')?.reason).toBe('TFJobRunning');
    await waitFor(async () => {
      const s = (await readPodGroup()).status as Json | undefined;
      return s?.phase === 'Running' && s.running === MIN_AVAILABLE;
    }, 15_000, 'PodGroup phase Running with 5 running');

    await setPhase(core, await jobPods(), 'Succeeded');
    const done = await waitFor(async () => jobCondition(await readTfJob(), 'Succeeded'), 30_000, 'TFJob condition Succeeded');
    expect(done.reason).toBe('TFJobSucceeded');
    // A finished job's PodGroup is deleted by the operator (pkg/controller.v1/common/job.go, "JobTerminated").
    await waitFor(async () => readPodGroup().then(() => false, (err: unknown) => isNotFound(err)), 30_000, 'the operator deleting PodGroup tf-smoke-gpu');
  });
});
