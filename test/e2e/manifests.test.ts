// The shipped manifests against a real kube-apiserver with RBAC on:
//  1. every manifest file, and the `kustomize build` of each overlay, passes the API server's validation
//     (server-side apply, dry run, strict field validation);
//  2. the extender runs under the ClusterRole from the manifests (applied for real) with the shipped
//     kube-scheduler configuration, and plain, gang and local-volume pods are bound; the audit log shows no
//     request of ours was forbidden; SubjectAccessReviews show each role allows exactly the calls made;
//  3. node-resource-manager's API adapter works under its role (the topology ConfigMap by name only);
//  4. the secondary-scheduler overlay runs: kube-scheduler v1.35 with the overlay's configuration, as its
//     ServiceAccount, leader election on, the extender sidecar serving edge-gang-scheduler;
//  5. `edge-gang status` reports the gang and the VolumeGroup.
// Pure checks of the same files (flags, roles vs code, docs) are in test/manifests/.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdmissionregistrationV1Api, AuthorizationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { createExtenderApp, type ExtenderApp } from '../../src/extender/assemble.js';
import { collectStatus, renderStatus } from '../../src/cli/status.js';
import { NrmKube } from '../../src/agent/adapters/kube.js';
import type { AgentLog } from '../../src/agent/agent.js';
import { loadExtenderConfig } from '../../src/config/extender.js';
import { ANNOTATION_VG_CAPACITY, LABEL_LOCAL_STORAGE, TOPO_CONFIGMAP_NAME, TOPO_CONFIGMAP_NAMESPACE } from '../../src/wire/keys.js';
import { parseCapacityReport } from '../../src/wire/capacity.js';
import { RawKube, describeObject, parseManifests, type KubeObject } from '../harness/apply.js';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { startSecondaryScheduler, type SecondarySetup } from '../support/secondary-scheduler.js';
import { GiB, makeCapacityReport, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, waitFor } from '../../src/localcluster/objects.js';
import { startFakeProvisioner, type FakeProvisioner } from '../../src/localcluster/provisioner.js';
import { registerLocalWebhook, waitForCaBundle } from '../../src/localcluster/webhook.js';
import { SHIPPED_SCHEDULER_CONFIG } from '../../src/localcluster/paths.js';
import {
  EXTENDER_CALLS,
  WEBHOOK_CERT_CALLS,
  WEBHOOK_CERT_DENIED,
  EXTENDER_DENIED,
  EXTENDER_USER,
  NRM_CALLS,
  NRM_DENIED,
  NRM_USER,
  SECONDARY_SCHEDULER_CALLS,
  SECONDARY_SCHEDULER_DENIED,
  SECONDARY_SCHEDULER_USER,
  serviceAccountGroups,
  type ApiCall,
} from '../manifests/rbac-expectations.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KUSTOMIZE_SCRIPT = join(ROOT, 'test/controlplane/build-kustomize.sh');
const TFJOB_CRD = join(ROOT, 'test/fixtures/kubeflow-tfjob-crd.yaml');
const OVERLAYS = ['secondary-scheduler', 'default-scheduler'] as const;
/** Files that are configuration for a program, not API objects: checked by starting that program (or test/manifests/policy.test.ts). */
const NOT_API_OBJECTS = new Set(['Kustomization', 'KubeSchedulerConfiguration', 'Policy']);

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${String(stderr).slice(-4000)}`));
      else res(String(stdout));
    });
  });
}

function manifestFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['manifests', 'examples']) {
    for (const f of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) {
      if (/\.(ya?ml|json)$/.test(f)) out.push(join(dir, f));
    }
  }
  return out.sort();
}

function filesObjects(file: string): KubeObject[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return file.endsWith('.json') ? [JSON.parse(text) as KubeObject] : parseManifests(text);
}

/** A TFJob's replica pod templates as Pods, so the API server validates them as it will when the operator creates them. */
function tfJobPods(job: KubeObject): KubeObject[] {
  const specs = ((job.spec as Record<string, unknown>)?.tfReplicaSpecs ?? {}) as Record<string, { template?: { metadata?: Record<string, unknown>; spec?: unknown } }>;
  return Object.entries(specs).map(([type, s]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${job.metadata?.name}-${type.toLowerCase()}-0`,
      namespace: job.metadata?.namespace ?? 'default',
      labels: (s.template?.metadata?.labels ?? {}) as Record<string, string>,
    },
    spec: s.template?.spec,
  }));
}

const sa = (user: string) => ({ name: user, groups: serviceAccountGroups('kube-system') });
const silentAgentLog: AgentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const boundCount = async (core: CoreV1Api, names: string[]): Promise<number> => {
  const pods = (await core.listNamespacedPod({ namespace: 'default' })).items;
  return pods.filter((p: V1Pod) => names.includes(p.metadata?.name ?? '') && p.spec?.nodeName).length;
};

describe('shipped manifests on a real API server with RBAC', () => {
  let cp: ControlPlane | undefined;
  let raw: RawKube;
  let core: CoreV1Api;
  let kustomize = '';
  let kustomizeBuildMs = 0;
  const built = new Map<string, KubeObject[]>();
  let ext: ExtenderApp | undefined;
  let extenderUrl = '';
  let provisioner: FakeProvisioner | undefined;
  let secondary: SecondarySetup | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'gang-manifests-'));
  const auditLog = join(tmp, 'audit.log');
  const plane = (): ControlPlane => {
    if (!cp) throw new Error('control plane did not start');
    return cp;
  };

  beforeAll(async () => {
    // kustomize from its Go module, cached next to the control plane binaries (instant when warm).
    let t = Date.now();
    kustomize = (await run('bash', [KUSTOMIZE_SCRIPT], 30 * 60_000)).trim().split('\n').pop() ?? '';
    const kustomizeReadyMs = Date.now() - t;
    t = Date.now();
    for (const o of OVERLAYS) built.set(o, parseManifests(await run(kustomize, ['build', join(ROOT, 'manifests/overlays', o)], 60_000)));
    kustomizeBuildMs = Date.now() - t;
    console.info(`kustomize: ready in ${kustomizeReadyMs} ms, both overlays built in ${kustomizeBuildMs} ms`);

    // Audit every request of the programs' identities, to prove none was forbidden.
    const auditPolicy = join(tmp, 'audit-policy.yaml');
    writeFileSync(auditPolicy, stringifyYaml({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata', users: [EXTENDER_USER, NRM_USER, SECONDARY_SCHEDULER_USER] }, { level: 'None' }],
    }));
    cp = await startControlPlane({
      authorization: 'RBAC',
      users: [sa(EXTENDER_USER), sa(NRM_USER), sa(SECONDARY_SCHEDULER_USER)],
      extraApiServerArgs: [`--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-mode=blocking'],
    });
    console.info(`control plane up in ${cp.timings.totalMs} ms`);
    raw = new RawKube(cp.apiUrl, cp.tokens.get('admin') as string);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await secondary?.stop();
    await ext?.close();
    await provisioner?.stop();
    await cp?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('every manifest file passes server-side validation (dry run, strict fields)', async () => {
    // The TFJob example needs its CRD: a minimal one as a test fixture, applied for real.
    for (const crd of parseManifests(readFileSync(TFJOB_CRD, 'utf8'))) await raw.apply(crd);
    await waitFor(async () => (await raw.resourceFor('kubeflow.org/v1', 'TFJob').catch(() => null)) !== null, 30_000, 'TFJob CRD served');

    const failures: string[] = [];
    const skipped: string[] = [];
    let applied = 0;
    for (const file of manifestFiles()) {
      for (const o of filesObjects(file)) {
        if (NOT_API_OBJECTS.has(String(o.kind))) {
          skipped.push(`${file}: ${o.kind}`);
          continue;
        }
        const objects = o.kind === 'TFJob' ? [o, ...tfJobPods(o)] : [o];
        for (const obj of objects) {
          try {
            await raw.apply(obj, { dryRun: true });
            applied++;
          } catch (err) {
            failures.push(`${file}: ${(err as Error).message}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(skipped).toEqual([
      'manifests/base/extender/kustomization.yaml: Kustomization',
      'manifests/base/node-resource-manager/kustomization.yaml: Kustomization',
      'manifests/base/webhook/kustomization.yaml: Kustomization',
      'manifests/legacy/scheduler-policy.json: Policy',
      'manifests/overlays/default-scheduler/kustomization.yaml: Kustomization',
      'manifests/overlays/secondary-scheduler/kube-scheduler-config.yaml: KubeSchedulerConfiguration',
      'manifests/overlays/secondary-scheduler/kustomization.yaml: Kustomization',
      'manifests/scheduler/kube-scheduler-config.yaml: KubeSchedulerConfiguration',
      'manifests/scheduler/kustomization.yaml: Kustomization',
    ]);
    expect(applied).toBeGreaterThanOrEqual(30);
  });

  it('a strict dry run does catch a misspelled field (the check above can fail)', async () => {
    const bad = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: 'kube-system' }, automountServiceAccountTokn: false };
    await expect(raw.apply(bad, { dryRun: true })).rejects.toThrow(/automountServiceAccountTokn/);
  });

  it.each(OVERLAYS)('kustomize build manifests/overlays/%s passes server-side validation', async (overlay) => {
    const objects = built.get(overlay) ?? [];
    const failures: string[] = [];
    for (const o of objects) {
      try {
        await raw.apply(o, { dryRun: true });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    expect(failures).toEqual([]);
    const names = objects.map(describeObject);
    expect(names).toContain('DaemonSet kube-system/node-resource-manager');
    expect(names).toContain('ClusterRole edge-gang-extender');
    expect(names).toContain('StorageClass csi-local-lvm');
    if (overlay === 'secondary-scheduler') {
      expect(names).toContain('Deployment kube-system/edge-gang-scheduler');
      const cm = objects.find((o) => o.kind === 'ConfigMap') as KubeObject & { data: Record<string, string> };
      const dep = objects.find((o) => o.kind === 'Deployment') as any;
      // The generated name carries a content hash, and the Deployment mounts exactly that ConfigMap.
      expect(cm.metadata?.name).toMatch(/^edge-gang-scheduler-config-[a-z0-9]+$/);
      expect(dep.spec.template.spec.volumes[0].configMap.name).toBe(cm.metadata?.name);
    } else {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'edge-gang-kube-scheduler-config') as KubeObject & { data: Record<string, string> };
      expect(cm.data['kube-scheduler-config.yaml']).toBe(readFileSync(SHIPPED_SCHEDULER_CONFIG, 'utf8'));
    }
  });

  it('the extender runs under its ClusterRole: plain, gang and local-volume pods are all bound', async () => {
    // The default-scheduler overlay for real: ServiceAccount, ClusterRole, binding, StorageClass, ...
    for (const o of built.get('default-scheduler') ?? []) await raw.apply(o);
    // The overlay's webhook configuration calls a Service; here the same webhooks call the extender on loopback.
    const webhook = await registerLocalWebhook(plane().kubeConfig);

    const loaded = loadExtenderConfig(['--host', '127.0.0.1', '--port', '0', ...webhook.extenderArgs], {});
    if (loaded.kind !== 'ok') throw new Error(loaded.errors.join('; '));
    ext = createExtenderApp(loaded.config, pino({ level: 'warn', base: { component: 'extender' } }), { kubeConfig: plane().kubeConfigFor(EXTENDER_USER).kubeConfig });
    extenderUrl = await ext.listen();
    const app = ext;
    // Ready means every reflector listed and is watching: list+watch of all five kinds were allowed.
    await waitFor(() => app.readiness().ready, 60_000, `extender readiness (${app.readiness().reason})`);
    // Its certificate manager created the Secret and patched the caBundle under the overlay's webhook roles.
    await waitForCaBundle(plane().kubeConfig);

    await plane().startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: new URL(extenderUrl).host });
    provisioner = await startFakeProvisioner(plane().kubeConfig);

    await createNodes(core, [
      makeNode('edge-1').label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: 100 * GiB, freeBytes: 100 * GiB }]),
      makeNode('cloud-1'),
    ]);
    await createPvc(core, makePvc('data-0').storage('10Gi'));
    const names = ['plain-0', 'gang-a-0', 'gang-a-1', 'lvm-0'];
    await createPods(core, [
      makePod('plain-0').cpu('100m'),
      makePod('gang-a-0').cpu('100m').group('gang-a', 2),
      makePod('gang-a-1').cpu('100m').group('gang-a', 2),
      makePod('lvm-0').cpu('100m').pvc('data-0'),
    ]);
    await waitFor(async () => (await boundCount(core, names)) === names.length, 90_000, 'all four pods bound');
    const lvm = await core.readNamespacedPod({ name: 'lvm-0', namespace: 'default' });
    expect(lvm.spec?.nodeName).toBe('edge-1');

    // The extender bound the three marked pods itself (bindVerb), through pods/binding under its role; the
    // plain pod carries no mark, so kube-scheduler bound it alone (managedResources).
    const metrics = await (await fetch(`${extenderUrl}/metrics`)).text();
    expect(metrics).toMatch(/extender_binds_total\{result="bound"\} 3\b/);
    expect(metrics).not.toMatch(/extender_binds_total\{result="failed"\}/);
    // ... and recorded its Events (events create under its role).
    await waitFor(
      async () => (await core.listNamespacedEvent({ namespace: 'default' })).items.some((e) => e.reason === 'GangScheduled' && e.source?.component === 'edge-gang-extender'),
      15_000,
      'GangScheduled Event from the extender',
    );
    expect(app.readiness().ready).toBe(true);
  });

  it('edge-gang status shows the gang and the VolumeGroup, from pods+Events, from the extender, and as the CLI', async () => {
    const fromCluster = await collectStatus({ kubeConfig: plane().kubeConfig });
    expect(fromCluster.errors).toEqual([]);
    expect(fromCluster.gangSource).toBe('cluster');
    expect(fromCluster.gangs).toEqual([expect.objectContaining({ gang: 'default/gang-a', phase: 'running', members: 2, minAvailable: 2, bound: 2 })]);
    expect(fromCluster.gangs[0]?.lastReason).toMatch(/^GangScheduled: /);
    const edge1 = fromCluster.nodes?.find((n) => n.node === 'edge-1');
    expect(edge1).toMatchObject({ report: 'ok', vgs: [{ name: 'volumegroup1', sizeBytes: 100 * GiB }] });
    expect(fromCluster.nodes?.map((n) => n.node)).toEqual(['edge-1']);

    const fromExtender = await collectStatus({ kubeConfig: plane().kubeConfig, extenderUrl });
    expect(fromExtender.gangSource).toBe('extender');
    expect(fromExtender.gangs).toEqual([expect.objectContaining({ gang: 'default/gang-a', members: 2, minAvailable: 2, bound: 2 })]);

    const out = await run(join(ROOT, 'node_modules/.bin/tsx'), ['src/cmd/cli.ts', 'status', '--kubeconfig', plane().kubeconfigPath, '--extender', extenderUrl], 60_000);
    expect(out).toContain('GANGS (from the extender)');
    expect(out).toMatch(/default\/gang-a\s+running\s+2\s+2\s+2/);
    expect(out).toMatch(/edge-1\s+volumegroup1\s+100Gi\s+100Gi\s+\[#{20}\] 100% free\s+\d+s ago/);
    console.info(renderStatus(fromCluster, Date.now()));
  });

  async function sar(user: string, c: ApiCall): Promise<boolean> {
    const authz = plane().kubeConfig.makeApiClient(AuthorizationV1Api);
    const r = await authz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user,
          groups: serviceAccountGroups('kube-system'),
          resourceAttributes: { group: c.group, resource: c.resource, subresource: c.subresource, verb: c.verb, namespace: c.namespace, name: c.name },
        },
      },
    });
    return r.status?.allowed === true;
  }

  async function expectAccess(user: string, allowed: readonly ApiCall[], denied: readonly ApiCall[]): Promise<void> {
    const wrong: string[] = [];
    const show = (c: ApiCall) => `${c.verb} ${c.group ? `${c.group}/` : ''}${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.name ? ` ${c.name}` : ''}${c.namespace ? ` in ${c.namespace}` : ''}`;
    for (const c of allowed) if (!(await sar(user, c))) wrong.push(`denied but used: ${show(c)} (${c.why})`);
    for (const c of denied) if (await sar(user, c)) wrong.push(`allowed but never used: ${show(c)}`);
    expect(wrong).toEqual([]);
  }

  it('SubjectAccessReview: the extender is allowed each call it makes, and not look-alikes', async () => {
    await expectAccess(EXTENDER_USER, EXTENDER_CALLS, EXTENDER_DENIED);
    await expectAccess(EXTENDER_USER, WEBHOOK_CERT_CALLS, WEBHOOK_CERT_DENIED);
  });

  it('node-resource-manager\'s API adapter works under its role; the role reads only the topology ConfigMap', async () => {
    // The manifests were applied for real above (default-scheduler overlay); add the seed's ConfigMap.
    for (const o of parseManifests(readFileSync(join(ROOT, 'examples/seed-8.3-node-resource-topo.yaml'), 'utf8'))) await raw.apply(o);
    await expectAccess(NRM_USER, NRM_CALLS, NRM_DENIED);

    const kube = new NrmKube(plane().kubeConfigFor(NRM_USER).kubeConfig, {
      nodeName: 'edge-1',
      configMapNamespace: TOPO_CONFIGMAP_NAMESPACE,
      configMapName: TOPO_CONFIGMAP_NAME,
      watchTimeoutSeconds: 30,
      requestTimeoutMs: 10_000,
      retryDelayMs: 200,
      maxRetryDelayMs: 1000,
    }, silentAgentLog);
    try {
      let topo: string | null = null;
      let labels: Record<string, string> | null = null;
      kube.watchConfigMap((text) => (topo = text));
      kube.watchNode((l) => (labels = l));
      await waitFor(() => topo !== null && labels !== null, 20_000, 'ConfigMap and Node seen through list+watch by name');
      expect(topo).toContain('name: volumegroup1');
      expect(labels).toMatchObject({ [LABEL_LOCAL_STORAGE]: 'true' });

      const report = makeCapacityReport('edge-1', [{ sizeBytes: 100 * GiB, freeBytes: 90 * GiB }]);
      await kube.publishCapacity(report);
      const node = await core.readNode({ name: 'edge-1' });
      const parsed = parseCapacityReport(node.metadata?.annotations?.[ANNOTATION_VG_CAPACITY] ?? '');
      expect(parsed.kind === 'ok' && parsed.report.vgs[0]?.freeBytes).toBe(90 * GiB);
      await kube.recordEvent({ type: 'Normal', reason: 'TopologyConfigApplied', message: 'manifests e2e' });
    } finally {
      kube.stop();
    }
    // Listing every ConfigMap (no name) is refused: resourceNames hold for list/watch only by field selector.
    const nrm = new RawKube(plane().apiUrl, plane().tokens.get(NRM_USER) as string);
    expect((await nrm.request('GET', '/api/v1/namespaces/kube-system/configmaps')).status).toBe(403);
    expect((await nrm.request('GET', `/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3D${TOPO_CONFIGMAP_NAME}`)).status).toBe(200);
  });

  it('the secondary-scheduler overlay runs: kube-scheduler as its ServiceAccount with leader election, the extender sidecar binds', async () => {
    await plane().stopScheduler();
    await ext?.close();
    ext = undefined;
    const objects = built.get('secondary-scheduler') ?? [];
    // The loopback webhook configuration of the previous step gives way to the overlay's own first.
    await plane().kubeConfig.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: 'edge-gang-scheduling-mark' });
    for (const o of objects) await raw.apply(o);
    await expectAccess(SECONDARY_SCHEDULER_USER, SECONDARY_SCHEDULER_CALLS, SECONDARY_SCHEDULER_DENIED);

    // The sidecar and kube-scheduler as the Deployment runs them, the overlay's webhook configuration on loopback
    // (test/support/secondary-scheduler.ts).
    secondary = await startSecondaryScheduler(plane(), objects, { user: SECONDARY_SCHEDULER_USER, tmpDir: tmp });
    extenderUrl = secondary.extenderUrl;
    const setup = secondary;
    try {
      expect(setup.lease.spec?.holderIdentity).toBeTruthy();
      const names = ['sec-plain-0', 'sec-gang-0', 'sec-gang-1'];
      await createPods(core, [
        makePod('sec-plain-0').cpu('100m').scheduler('edge-gang-scheduler'),
        makePod('sec-gang-0').cpu('100m').group('sec-gang', 2).scheduler('edge-gang-scheduler'),
        makePod('sec-gang-1').cpu('100m').group('sec-gang', 2).scheduler('edge-gang-scheduler'),
      ]);
      await waitFor(async () => (await boundCount(core, names)) === names.length, 60_000, 'pods of edge-gang-scheduler bound');
      const metrics = await (await fetch(`${extenderUrl}/metrics`)).text();
      // The two gang members through the sidecar; the plain pod carries no mark and kube-scheduler bound it itself.
      expect(metrics).toMatch(/extender_binds_total\{result="bound"\} 2\b/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- secondary kube-scheduler log ---\n${setup.logTail()}`);
    }
  });

  it('the audit log shows no forbidden request from the extender, the agent or the secondary scheduler', () => {
    const entries = readFileSync(auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as {
      stage: string;
      verb: string;
      requestURI: string;
      user: { username: string };
      objectRef?: { resource?: string; subresource?: string };
      responseStatus?: { code?: number };
    });
    const done = entries.filter((e) => e.stage === 'ResponseComplete');
    const forbidden = done.filter((e) => e.responseStatus?.code === 403).map((e) => `${e.user.username} ${e.verb} ${e.requestURI}`);
    // The one deliberate refusal: the agent's identity listing every ConfigMap (previous test).
    expect(forbidden).toEqual([`${NRM_USER} list /api/v1/namespaces/kube-system/configmaps`]);
    const count = (user: string, pred: (e: (typeof done)[number]) => boolean) => done.filter((e) => e.user.username === user && pred(e)).length;
    // The three marked pods (the plain one was bound by kube-scheduler itself: managedResources).
    expect(count(EXTENDER_USER, (e) => e.objectRef?.subresource === 'binding' && e.responseStatus?.code === 201)).toBe(3);
    // The webhook's certificate manager created its Secret and patched the caBundle under the webhook roles.
    expect(count(EXTENDER_USER, (e) => e.objectRef?.resource === 'secrets' && e.verb === 'create' && e.responseStatus?.code === 201)).toBe(1);
    expect(count(EXTENDER_USER, (e) => e.objectRef?.resource === 'mutatingwebhookconfigurations' && e.verb === 'patch' && e.responseStatus?.code === 200)).toBeGreaterThanOrEqual(1);
    expect(count(SECONDARY_SCHEDULER_USER, (e) => e.objectRef?.subresource === 'binding' && e.responseStatus?.code === 201)).toBe(3);
    expect(count(SECONDARY_SCHEDULER_USER, (e) => e.objectRef?.resource === 'leases' && e.verb === 'create')).toBe(1);
    // Delegated authentication looked up the API server's client CA ConfigMap and was authorized (through the
    // reader RoleBinding); this test API server has no client CA, so the answer is 404, not 403.
    expect(count(SECONDARY_SCHEDULER_USER, (e) => e.objectRef?.resource === 'configmaps' && e.verb === 'get' && [200, 404].includes(e.responseStatus?.code ?? 0))).toBeGreaterThanOrEqual(1);
    expect(count(NRM_USER, (e) => e.objectRef?.resource === 'nodes' && e.verb === 'patch' && e.responseStatus?.code === 200)).toBe(1);
    console.info(`audit: ${done.length} requests by the three identities checked`);
  });
});
