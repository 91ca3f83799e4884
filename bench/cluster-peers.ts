// The sides of `npm run bench:cluster` (bench/cluster.ts): which control plane each runs on, which
// scheduler configuration and binary, which gang objects it needs and how its pods refer to them.
//
//   ours          kube-scheduler v1.35.4 + our extender, the shipped manifests/scheduler/kube-scheduler-config.yaml
//   ours-1.37     the same against kube-apiserver + kube-scheduler v1.37.2 (opt-in)
//   vanilla       kube-scheduler v1.35.4, default profile (W1, W5)
//   coscheduling  kube-scheduler v1.35.4 + scheduler-plugins Coscheduling, PodGroup CRD (scheduling.x-k8s.io/v1alpha1)
//   gang-1.35     in-tree gang scheduling, v1.35.4 alpha: gates GenericWorkload + GangScheduling, a
//                 scheduling.k8s.io/v1alpha1 Workload per gang (spec.podGroups[].policy.gang.minCount),
//                 pods with spec.workloadRef {name, podGroup}
//   gang-1.37     in-tree gang scheduling, v1.37.2 beta: gate GenericWorkload, a scheduling.k8s.io/v1beta1
//                 Workload (spec.podGroupTemplates[]) and PodGroup (spec.workloadRef {workloadName,
//                 templateName}, spec.schedulingPolicy.gang.minCount) per gang, pods with
//                 spec.schedulingGroup.podGroupName
//
// Field names are from k8s.io/api v0.35.4 and v0.37.2 (scheduling/v1alpha1, scheduling/v1beta1 and core/v1
// types.go). The GangScheduling plugin is in the default profile once its gate is on, in both versions
// (pkg/scheduler/apis/config/v1/default_plugins.go: v1.35.4 adds it for GangScheduling, v1.37.2 for
// GenericWorkload; 1.37 has no GangScheduling gate any more), so both use the vanilla configuration.
// In v1.37.2 the default-on PodGroupProtection admission plugin stamps the finalizer
// scheduling.k8s.io/podgroup-protection on every PodGroup; only kube-controller-manager removes it, and
// none runs here, so the bench never deletes a PodGroup (each run gets a fresh etcd).

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { ControlPlane } from '../src/localcluster/controlplane.js';
import { httpGet } from '../src/localcluster/net.js';
import { inBatches, waitFor } from '../src/localcluster/objects.js';
import type { Side } from './cluster-report.js';
import { NS, REPO, log } from './cluster-util.js';

export const K8S_BASE = '1.35.4';
export const K8S_NEXT = '1.37.2';
export const SP_VERSION = process.env.SCHEDULER_PLUGINS_VERSION ?? 'v0.35.4-devel';
const PEER_BUILD = join(REPO, 'test/controlplane/build-coscheduling.sh');

/** How a side's gang members are tied together. */
export type GangApi = 'extender' | 'coscheduling' | 'workload-v1alpha1' | 'podgroup-v1beta1' | 'none';

export interface SideSpec {
  side: Side;
  /** Our extender as a child process and the shipped scheduler configuration. */
  ours: boolean;
  k8sVersion: string;
  /** On kube-apiserver and kube-scheduler. */
  featureGates: Record<string, boolean>;
  apiServerArgs: string[];
  gangApi: GangApi;
  /** Gangs wait at Permit inside kube-scheduler: report scheduler_permit_wait_duration_seconds. */
  permit: boolean;
}

export const SIDES: Record<Side, SideSpec> = {
  ours: { side: 'ours', ours: true, k8sVersion: K8S_BASE, featureGates: {}, apiServerArgs: [], gangApi: 'extender', permit: false },
  'ours-1.37': { side: 'ours-1.37', ours: true, k8sVersion: K8S_NEXT, featureGates: {}, apiServerArgs: [], gangApi: 'extender', permit: false },
  vanilla: { side: 'vanilla', ours: false, k8sVersion: K8S_BASE, featureGates: {}, apiServerArgs: [], gangApi: 'none', permit: false },
  coscheduling: { side: 'coscheduling', ours: false, k8sVersion: K8S_BASE, featureGates: {}, apiServerArgs: [], gangApi: 'coscheduling', permit: true },
  'gang-1.35': {
    side: 'gang-1.35', ours: false, k8sVersion: K8S_BASE,
    featureGates: { GenericWorkload: true, GangScheduling: true },
    apiServerArgs: ['--runtime-config=scheduling.k8s.io/v1alpha1=true'],
    gangApi: 'workload-v1alpha1', permit: true,
  },
  'gang-1.37': {
    side: 'gang-1.37', ours: false, k8sVersion: K8S_NEXT,
    featureGates: { GenericWorkload: true },
    apiServerArgs: ['--runtime-config=scheduling.k8s.io/v1beta1=true'],
    gangApi: 'podgroup-v1beta1', permit: true,
  },
};
export const ALL_SIDES = Object.keys(SIDES) as Side[];
export const isOurs = (side: Side): boolean => SIDES[side]?.ours ?? false;

// ---------------------------------------------------------------------------------------------------
// Scheduler configurations

export interface Configs {
  vanilla: string;
  coscheduling: string;
}

export function writeConfigs(dir: string): Configs {
  const vanilla = join(dir, 'vanilla.yaml');
  writeFileSync(vanilla, stringifyYaml({ apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration', profiles: [{ schedulerName: 'default-scheduler' }] }));
  const coscheduling = join(dir, 'coscheduling.yaml');
  const on = { enabled: [{ name: 'Coscheduling' }] };
  writeFileSync(coscheduling, stringifyYaml({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    profiles: [{
      schedulerName: 'default-scheduler',
      plugins: { queueSort: { enabled: [{ name: 'Coscheduling' }], disabled: [{ name: 'PrioritySort' }] }, preFilter: on, postFilter: on, permit: on, reserve: on },
      pluginConfig: [{ name: 'Coscheduling', args: { permitWaitingTimeSeconds: 10 } }],
    }],
  }));
  return { vanilla, coscheduling };
}

// ---------------------------------------------------------------------------------------------------
// Coscheduling (scheduler-plugins)

export interface Peer {
  binary: string;
  crd: V1CustomResourceDefinition;
  cached: boolean;
  buildS: number;
}

function runScript(args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile('bash', args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${args.join(' ')} failed: ${err.message}\n${String(stderr).slice(-3000)}`));
      else res({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function preparePeer(): Promise<Peer> {
  const t = Date.now();
  log(`building/locating the Coscheduling kube-scheduler (scheduler-plugins ${SP_VERSION}); a cold build takes minutes`);
  const b = await runScript([PEER_BUILD], 90 * 60_000);
  const binary = b.stdout.trim().split('\n').pop() as string;
  const crdPath = (await runScript([PEER_BUILD, '--crd'], 10 * 60_000)).stdout.trim().split('\n').pop() as string;
  const crd = parseYaml(readFileSync(crdPath, 'utf8')) as V1CustomResourceDefinition;
  return { binary, crd, cached: !b.stderr.includes('built in'), buildS: (Date.now() - t) / 1000 };
}

export async function installPodGroupCrd(cp: ControlPlane, crd: V1CustomResourceDefinition): Promise<void> {
  const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
  const body = { ...crd, metadata: { name: crd.metadata?.name, annotations: crd.metadata?.annotations } };
  await ext.createCustomResourceDefinition({ body });
  await waitFor(async () => {
    const c = await ext.readCustomResourceDefinition({ name: crd.metadata?.name as string });
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
  }, 60_000, 'PodGroup CRD established');
  // Discovery of the new group takes a moment; a list proves it.
  const co = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await waitFor(async () => {
    await co.listNamespacedCustomObject({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: NS, plural: 'podgroups' });
    return true;
  }, 60_000, 'podgroups served');
}

export async function createPodGroups(cp: ControlPlane, names: string[], minMember: number): Promise<void> {
  const co = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await inBatches(names, 50, (name) =>
    co.createNamespacedCustomObject({
      group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: NS, plural: 'podgroups',
      body: { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name, namespace: NS }, spec: { minMember, scheduleTimeoutSeconds: 10 } },
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// In-tree gang scheduling (scheduling.k8s.io)

/** The one pod group of every bench Workload. */
const POD_GROUP = 'workers';
const GROUP = 'scheduling.k8s.io';

/** The gang objects of one gang, in creation order (Workload first: a PodGroup refers to it). */
function inTreeObjects(gangApi: GangApi, name: string, minCount: number): { version: string; plural: string; body: Record<string, unknown> }[] {
  const metadata = { name, namespace: NS };
  if (gangApi === 'workload-v1alpha1') {
    return [{ version: 'v1alpha1', plural: 'workloads', body: { apiVersion: `${GROUP}/v1alpha1`, kind: 'Workload', metadata, spec: { podGroups: [{ name: POD_GROUP, policy: { gang: { minCount } } }] } } }];
  }
  const gang = { gang: { minCount } };
  return [
    { version: 'v1beta1', plural: 'workloads', body: { apiVersion: `${GROUP}/v1beta1`, kind: 'Workload', metadata, spec: { podGroupTemplates: [{ name: POD_GROUP, schedulingPolicy: gang }] } } },
    { version: 'v1beta1', plural: 'podgroups', body: { apiVersion: `${GROUP}/v1beta1`, kind: 'PodGroup', metadata, spec: { workloadRef: { workloadName: name, templateName: POD_GROUP }, schedulingPolicy: gang } } },
  ];
}

/** What a gang member's spec gets on an in-tree side (not in the client's V1PodSpec type). */
export function inTreePodSpecFields(gangApi: GangApi, gang: string): Record<string, unknown> {
  if (gangApi === 'workload-v1alpha1') return { workloadRef: { name: gang, podGroup: POD_GROUP } };
  if (gangApi === 'podgroup-v1beta1') return { schedulingGroup: { podGroupName: gang } };
  return {};
}

const get = (o: unknown, path: string[]): unknown => path.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);

/** Creates the Workloads (and v1beta1 PodGroups) and checks that the API server kept minCount. */
export async function createInTreeGangs(cp: ControlPlane, gangApi: GangApi, names: string[], minCount: number): Promise<void> {
  const co = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  const minCountPath = gangApi === 'workload-v1alpha1' ? ['spec', 'podGroups', '0', 'policy', 'gang', 'minCount'] : ['spec', 'schedulingPolicy', 'gang', 'minCount'];
  await inBatches(names, 50, async (name) => {
    for (const o of inTreeObjects(gangApi, name, minCount)) {
      await co.createNamespacedCustomObject({ group: GROUP, version: o.version, namespace: NS, plural: o.plural, body: o.body });
    }
  });
  const first = names[0];
  if (first === undefined) return;
  const last = inTreeObjects(gangApi, first, minCount).at(-1) as { version: string; plural: string };
  const back = await co.getNamespacedCustomObject({ group: GROUP, version: last.version, namespace: NS, plural: last.plural, name: first });
  const got = get(back, minCountPath);
  if (got !== minCount) throw new Error(`${GROUP}/${last.version} ${last.plural}/${first}: the API server did not keep ${minCountPath.join('.')} (${String(got)}): ${JSON.stringify(back).slice(0, 600)}`);
  const finalizers = get(back, ['metadata', 'finalizers']);
  if (Array.isArray(finalizers) && finalizers.length > 0) log(`${last.plural}/${first} carries finalizers ${finalizers.join(', ')} (no kube-controller-manager here: never deleted)`);
}

/**
 * Creates pods from raw manifests: the typed client (@kubernetes/client-node's ObjectSerializer)
 * drops spec fields its V1PodSpec does not know, such as workloadRef and schedulingGroup.
 */
export async function createPodsRaw(cp: ControlPlane, pods: Record<string, unknown>[], concurrency = 50): Promise<void> {
  const token = cp.tokens.get('admin') as string;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });
  const url = new URL(`${cp.apiUrl}/api/v1/namespaces/${NS}/pods`);
  try {
    await inBatches(pods, concurrency, (pod) => new Promise<void>((res, rej) => {
      const body = JSON.stringify(pod);
      const req = httpsRequest(url, {
        method: 'POST', agent, timeout: 30_000,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      }, (resp) => {
        let text = '';
        resp.setEncoding('utf8');
        resp.on('data', (c: string) => (text += c));
        resp.on('end', () => ((resp.statusCode ?? 0) < 300 ? res() : rej(new Error(`POST pods: ${resp.statusCode}: ${text.slice(0, 500)}`))));
        resp.on('error', rej);
      });
      req.on('timeout', () => req.destroy(new Error('POST pods: timeout')));
      req.on('error', rej);
      req.end(body);
    }));
  } finally {
    agent.destroy();
  }
}

/** Reads one pod back and fails loudly when the API server dropped its gang reference (a gate or API off). */
export async function verifyInTreePod(cp: ControlPlane, gangApi: GangApi, podName: string, gang: string): Promise<void> {
  const { status, body } = await httpGet(`${cp.apiUrl}/api/v1/namespaces/${NS}/pods/${podName}`, cp.tokens.get('admin'), 10_000);
  if (status !== 200) throw new Error(`GET pod ${podName}: ${status} ${body.slice(0, 300)}`);
  const spec = (JSON.parse(body) as { spec?: Record<string, unknown> }).spec ?? {};
  const want = inTreePodSpecFields(gangApi, gang);
  for (const [k, v] of Object.entries(want)) {
    if (JSON.stringify(spec[k]) !== JSON.stringify(v)) {
      throw new Error(`pod ${podName}: kube-apiserver v${cp.k8sVersion} did not keep spec.${k} (sent ${JSON.stringify(v)}, got ${JSON.stringify(spec[k])}); is the GenericWorkload gate on?`);
    }
  }
}
