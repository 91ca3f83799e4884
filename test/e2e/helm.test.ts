// The Helm chart (charts/edge-gang-scheduler) beside the kustomize manifests:
//  1. `helm lint --strict` with the default values and every ci/ values file;
//  2. no drift: `helm template` with the values equivalent to each overlay renders exactly the objects
//     `kustomize build` renders for that overlay, compared whole (every field of every object) after removing
//     only what Helm adds: its labels, the config checksum annotation, kustomize's ConfigMap name hash; the
//     scheduler configuration inside the ConfigMaps is compared as parsed YAML (comments differ);
//  3. `helm template` of every values file passes the API server's validation (server-side apply, dry run,
//     fieldValidation=Strict), and bad values are refused with a message;
//  4. the chart's secondary-scheduler install, live: `helm install` into the real kube-apiserver (RBAC on), then
//     the extender sidecar and kube-scheduler run as the installed Deployment says, with the configuration and
//     webhook configuration read back from the cluster, as the Deployment's ServiceAccount, and a gang is bound
//     through them; `helm uninstall` removes it all.
// Helm v3 and kustomize are built from their Go modules into the cache (test/controlplane/build-helm.sh,
// build-kustomize.sh): a few minutes cold, instant when warm; without Go the test fails and says so.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AuthorizationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RawKube, describeObject, parseManifests, type KubeObject } from '../harness/apply.js';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { makeNode, makePod } from '../../src/localcluster/builders.js';
import { createNodes, createPods, waitFor } from '../../src/localcluster/objects.js';
import { startSecondaryScheduler, type SecondarySetup } from '../support/secondary-scheduler.js';
import {
  EXTENDER_CALLS,
  SECONDARY_SCHEDULER_CALLS,
  SECONDARY_SCHEDULER_DENIED,
  SECONDARY_SCHEDULER_USER,
  WEBHOOK_CERT_CALLS,
  serviceAccountGroups,
  type ApiCall,
} from '../manifests/rbac-expectations.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHART = join(ROOT, 'charts/edge-gang-scheduler');
const HELM_SCRIPT = join(ROOT, 'test/controlplane/build-helm.sh');
const KUSTOMIZE_SCRIPT = join(ROOT, 'test/controlplane/build-kustomize.sh');
const RELEASE = 'edge-gang';
/** Each overlay and the chart values that must render the same objects. */
const EQUIVALENT: Record<'secondary-scheduler' | 'default-scheduler', string[]> = {
  'secondary-scheduler': [],
  'default-scheduler': ['-f', join(CHART, 'ci/default-scheduler-values.yaml')],
};
/** Labels only Helm adds (selectors never use them). */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];
const CI_VALUES = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml')).sort();

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${String(stderr).slice(-4000)}`));
      else res(String(stdout));
    });
  });
}

/** The binary a build script printed last (it builds into the cache when absent; fails without Go, saying so). */
async function buildTool(script: string): Promise<string> {
  const out = await run('bash', [script], 30 * 60_000).catch((err: Error) => {
    throw new Error(`${script} could not build the tool (needs Go >= 1.24 and the Go module proxy):\n${err.message}`);
  });
  return out.trim().split('\n').pop() ?? '';
}

type Obj = Record<string, any>;

/** An object as both tools must agree on it: Helm's additions removed, kustomize's name hash removed. */
function normalise(o: KubeObject): Obj {
  const c = structuredClone(o) as Obj;
  const stripLabels = (meta: Obj | undefined) => {
    if (!meta?.labels) return;
    for (const k of HELM_LABELS) delete meta.labels[k];
  };
  stripLabels(c.metadata);
  const tmpl = c.spec?.template?.metadata as Obj | undefined;
  stripLabels(tmpl);
  if (tmpl?.annotations) {
    delete tmpl.annotations['checksum/config'];
    if (Object.keys(tmpl.annotations).length === 0) delete tmpl.annotations;
  }
  const unhash = (name: string) => name.replace(/^(edge-gang-scheduler-config)-[a-z0-9]{10}$/, '$1');
  if (c.kind === 'ConfigMap') {
    c.metadata.name = unhash(c.metadata.name);
    for (const [k, v] of Object.entries(c.data ?? {})) {
      if (k.endsWith('.yaml')) c.data[k] = parseYaml(v as string);
    }
  }
  for (const v of c.spec?.template?.spec?.volumes ?? []) if (v.configMap) v.configMap.name = unhash(v.configMap.name);
  return c;
}

const byId = (objects: KubeObject[]): Map<string, Obj> => new Map(objects.map((o) => [describeObject(normalise(o)), normalise(o)]));

describe('the Helm chart: lint, no drift from kustomize, strict validation, a live secondary-scheduler install', () => {
  // Set up in beforeAll; a failure is kept and thrown by every test that needs the missing piece, so a machine
  // without Go reports failed tests with the reason, not skipped ones.
  let helmTool: string | Error = new Error('helm: beforeAll did not run');
  let kustomizeTool: string | Error = new Error('kustomize: beforeAll did not run');
  let cp: ControlPlane | Error = new Error('control plane: beforeAll did not run');
  let raw: RawKube;
  let core: CoreV1Api;
  let secondary: SecondarySetup | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'gang-helm-'));
  const need = <T>(v: T | Error): T => {
    if (v instanceof Error) throw v;
    return v;
  };
  const plane = (): ControlPlane => need(cp);
  const helm = (): string => need(helmTool);
  const kustomize = (): string => need(kustomizeTool);
  const template = async (args: string[], namespace = 'kube-system'): Promise<KubeObject[]> => {
    const kubeVersion = cp instanceof Error ? [] : ['--kube-version', cp.k8sVersion];
    return parseManifests(await run(helm(), ['template', RELEASE, CHART, '--namespace', namespace, ...kubeVersion, ...args], 60_000));
  };

  beforeAll(async () => {
    let t = Date.now();
    helmTool = await buildTool(HELM_SCRIPT).catch((err: Error) => err);
    const helmMs = Date.now() - t;
    t = Date.now();
    kustomizeTool = await buildTool(KUSTOMIZE_SCRIPT).catch((err: Error) => err);
    if (typeof helmTool === 'string') console.info(`helm ready in ${helmMs} ms (${(await run(helmTool, ['version', '--short'], 10_000)).trim()}), kustomize in ${Date.now() - t} ms`);
    cp = await startControlPlane({ authorization: 'RBAC', users: [{ name: SECONDARY_SCHEDULER_USER, groups: serviceAccountGroups('kube-system') }] }).catch((err: Error) => err);
    if (cp instanceof Error) return;
    raw = new RawKube(cp.apiUrl, cp.tokens.get('admin') as string);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
  }, 40 * 60_000); // a cold Helm build is a few minutes on 2 cores, kustomize's about as long

  afterAll(async () => {
    await secondary?.stop();
    if (!(cp instanceof Error)) await cp.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('helm lint --strict passes with the default values and every ci/ values file', async () => {
    for (const values of [[], ...CI_VALUES.map((f) => ['-f', join(CHART, 'ci', f)])]) {
      const out = await run(helm(), ['lint', CHART, '--strict', '--namespace', 'kube-system', ...values], 60_000);
      expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it.each(Object.keys(EQUIVALENT) as (keyof typeof EQUIVALENT)[])('no drift: helm template equals kustomize build manifests/overlays/%s', async (overlay) => {
    const fromKustomize = byId(parseManifests(await run(kustomize(), ['build', join(ROOT, 'manifests/overlays', overlay)], 60_000)));
    const fromHelm = byId(await template(EQUIVALENT[overlay]));
    // The same objects, by kind, namespace and name ...
    expect([...fromHelm.keys()].sort()).toEqual([...fromKustomize.keys()].sort());
    // ... and each one the same in every field: RBAC rules, container commands and flags, probes, resources,
    // tolerations, nodeSelectors, webhook rules and CEL conditions, the scheduler configuration.
    for (const [id, k] of fromKustomize) expect(fromHelm.get(id), id).toEqual(k);
  });

  it('the comparison does see a difference (a changed value is drift)', async () => {
    const fromKustomize = byId(parseManifests(await run(kustomize(), ['build', join(ROOT, 'manifests/overlays/secondary-scheduler')], 60_000)));
    const fromHelm = byId(await template(['--set', 'scheduler.tolerations[0].key=elsewhere']));
    expect(fromHelm.get('Deployment kube-system/edge-gang-scheduler')).not.toEqual(fromKustomize.get('Deployment kube-system/edge-gang-scheduler'));
  });

  it('every values file renders objects the API server accepts (server-side apply, dry run, strict fields)', async () => {
    plane();
    // cert-manager's kinds, for the cert-manager values (minimal CRDs: the fields the chart sets, typed).
    for (const crd of certManagerCrds()) await raw.apply(crd);
    await waitFor(async () => (await raw.resourceFor('cert-manager.io/v1', 'Certificate').catch(() => null)) !== null, 30_000, 'Certificate CRD served');
    await waitFor(async () => (await raw.resourceFor('cert-manager.io/v1', 'Issuer').catch(() => null)) !== null, 30_000, 'Issuer CRD served');
    // Another namespace than kube-system for the custom values: the chart follows the release namespace.
    await raw.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge-gang' } });
    const failures: string[] = [];
    const kinds = new Set<string>();
    for (const f of ['(defaults)', ...CI_VALUES]) {
      const namespace = f === 'custom-values.yaml' ? 'edge-gang' : 'kube-system';
      const objects = await template(f === '(defaults)' ? [] : ['-f', join(CHART, 'ci', f)], namespace);
      for (const o of objects) {
        kinds.add(String(o.kind));
        try {
          await raw.apply(o, { dryRun: true });
        } catch (err) {
          failures.push(`${f}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect([...kinds].sort()).toEqual([
      'Certificate', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Deployment', 'Issuer',
      'MutatingWebhookConfiguration', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount', 'StorageClass',
    ]);
    // A strict dry run does catch a misspelled field in the chart's kinds (the check above can fail).
    await expect(raw.apply({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'x', namespace: 'kube-system' }, spec: { secretName: 's', issuerRef: { name: 'i' }, dnsName: ['a'] } }, { dryRun: true })).rejects.toThrow(/dnsName/);
  });

  it('cert-manager TLS: a Certificate for the Service, CA injection, the extender reads the mounted files, no self-managed RBAC', async () => {
    const objects = await template(['-f', join(CHART, 'ci/cert-manager-values.yaml')]);
    const ids = objects.map(describeObject);
    expect(ids).toContain('Certificate kube-system/edge-gang-webhook');
    expect(ids).toContain('Issuer kube-system/edge-gang-webhook-selfsigned');
    expect(ids).not.toContain('Role kube-system/edge-gang-webhook-certs');
    expect(ids).not.toContain('ClusterRole edge-gang-webhook-config');
    const cert = objects.find((o) => o.kind === 'Certificate') as Obj;
    expect(cert.spec.dnsNames).toContain('edge-gang-webhook.kube-system.svc');
    const mwc = objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as Obj;
    expect(mwc.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('kube-system/edge-gang-webhook');
    const dep = objects.find((o) => o.kind === 'Deployment') as Obj;
    const ext = dep.spec.template.spec.containers.find((c: Obj) => c.name === 'extender');
    expect(ext.command.join(' ')).toContain('--webhook-tls files --webhook-cert-file /tls/tls.crt --webhook-key-file /tls/tls.key');
    expect(dep.spec.template.spec.volumes).toContainEqual({ name: 'webhook-tls', secret: { secretName: cert.spec.secretName } });
  });

  it('custom values reach the objects: image, kube-scheduler version and name, storage classes, extender flags, namespace', async () => {
    const objects = await template(['-f', join(CHART, 'ci/custom-values.yaml')], 'edge-gang');
    const dep = objects.find((o) => o.kind === 'Deployment') as Obj;
    const [sched, ext] = ['kube-scheduler', 'extender'].map((n) => dep.spec.template.spec.containers.find((c: Obj) => c.name === n));
    expect(sched.image).toBe('registry.k8s.io/kube-scheduler:v1.34.2');
    expect(ext.image).toBe('registry.example.com/edge/edge-gang-scheduler:0.1.1');
    expect(ext.command.join(' ')).toContain('--scheduler-names edge-sched --webhook-port 9443 --webhook-namespace edge-gang --local-storage-classes csi-local-lvm,fast-lvm --lvm-steering all-fitting --scheduler-http-timeout-ms 400000 --log-level debug');
    const cfg = parseYaml((objects.find((o) => o.kind === 'ConfigMap') as Obj).data['kube-scheduler-config.yaml']) as Obj;
    expect(cfg.profiles).toEqual([{ schedulerName: 'edge-sched' }]);
    expect(cfg.leaderElection).toMatchObject({ resourceName: 'edge-sched', resourceNamespace: 'edge-gang' });
    expect(cfg.percentageOfNodesToScore).toBe(100);
    expect(cfg.extenders[0]).toMatchObject({ prioritizeVerb: 'prioritize', weight: 1, httpTimeout: '400s' });
    expect(objects.filter((o) => o.kind === 'StorageClass').map((o) => o.metadata?.name)).toEqual(['fast-lvm']);
    const mwc = objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as Obj;
    const conds = mwc.webhooks.flatMap((w: Obj) => w.matchConditions.map((m: Obj) => m.expression)).join('\n');
    expect(conds).toContain("object.spec.schedulerName == 'edge-sched'");
    expect(conds).toContain("in ['csi-local-lvm', 'fast-lvm']");
    expect(mwc.webhooks.every((w: Obj) => w.clientConfig.service.namespace === 'edge-gang')).toBe(true);
    // Every namespaced object in the release namespace, except the two that must be in kube-system (the API
    // server's client CA reader and the topology ConfigMap's Role, where those live).
    const elsewhere = objects.filter((o) => o.metadata?.namespace && o.metadata.namespace !== 'edge-gang').map(describeObject).sort();
    expect(elsewhere).toEqual(['Role kube-system/node-resource-manager', 'RoleBinding kube-system/edge-gang-scheduler-authentication-reader', 'RoleBinding kube-system/node-resource-manager']);
  });

  it('bad values are refused with a message (values.schema.json, then the templates\' own checks)', async () => {
    helm();
    await expect(template(['--set', 'schedulerSetup=both'])).rejects.toThrow(/at '\/schedulerSetup': value must be one of 'secondary', 'default'/);
    await expect(template(['--set', 'scheduler.nmae=x'])).rejects.toThrow(/at '\/scheduler': additional properties 'nmae' not allowed/);
    await expect(template(['--set', 'extender.lvmSteering=random'])).rejects.toThrow(/at '\/extender\/lvmSteering': value must be one of/);
    await expect(template(['--set', 'schedulerSetup=default', '--set', 'webhook.tls.mode=cert-manager'])).rejects.toThrow(/cert-manager needs schedulerSetup secondary/);
    await expect(template(['--set', 'scheduler.name=default-scheduler'])).rejects.toThrow(/scheduler.name must not be default-scheduler in the secondary setup/);
  });

  it('helm install (secondary scheduler, the defaults) runs live: the extender sidecar and kube-scheduler from the installed objects bind a gang', async () => {
    const t0 = Date.now();
    const out = await run(helm(), ['install', RELEASE, CHART, '--namespace', 'kube-system', '--kubeconfig', plane().kubeconfigPath], 120_000);
    expect(out).toMatch(/STATUS: deployed/);
    const installMs = Date.now() - t0;

    // The installed objects, read back from the cluster.
    const get = async (path: string): Promise<KubeObject> => {
      const r = await raw.request('GET', path);
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as KubeObject;
    };
    const objects = [
      await get('/apis/apps/v1/namespaces/kube-system/deployments/edge-gang-scheduler'),
      await get('/api/v1/namespaces/kube-system/configmaps/edge-gang-scheduler-config'),
      await get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/edge-gang-scheduling-mark'),
    ];
    expect((objects[0] as Obj).metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
    await get('/apis/apps/v1/namespaces/kube-system/daemonsets/node-resource-manager');
    await get('/apis/storage.k8s.io/v1/storageclasses/csi-local-lvm');

    // The chart's RBAC gives the Deployment's ServiceAccount what kube-scheduler and the extender call.
    const wrong: string[] = [];
    for (const c of [...SECONDARY_SCHEDULER_CALLS, ...EXTENDER_CALLS, ...WEBHOOK_CERT_CALLS]) if (!(await sar(SECONDARY_SCHEDULER_USER, c))) wrong.push(`denied: ${c.verb} ${c.resource} (${c.why})`);
    for (const c of SECONDARY_SCHEDULER_DENIED) if (await sar(SECONDARY_SCHEDULER_USER, c)) wrong.push(`allowed: ${c.verb} ${c.resource} ${c.name ?? ''}`);
    expect(wrong).toEqual([]);

    secondary = await startSecondaryScheduler(plane(), objects, { user: SECONDARY_SCHEDULER_USER, tmpDir: tmp, logName: 'helm-kube-scheduler.log', logComponent: 'helm-sidecar' });
    const setup = secondary;
    try {
      expect(setup.lease.metadata?.name).toBe('edge-gang-scheduler');
      await createNodes(core, [makeNode('cloud-1'), makeNode('cloud-2')]);
      const names = ['helm-plain-0', 'helm-gang-0', 'helm-gang-1', 'helm-gang-2'];
      await createPods(core, [
        makePod('helm-plain-0').cpu('100m').scheduler('edge-gang-scheduler'),
        ...[0, 1, 2].map((i) => makePod(`helm-gang-${i}`).cpu('100m').group('helm-gang', 3).scheduler('edge-gang-scheduler')),
      ]);
      const pods = await waitFor(async () => {
        const all = (await core.listNamespacedPod({ namespace: 'default' })).items.filter((p: V1Pod) => names.includes(p.metadata?.name ?? ''));
        return all.length === names.length && all.every((p) => p.spec?.nodeName) ? all : null;
      }, 90_000, 'the gang and the plain pod bound by edge-gang-scheduler');
      // The chart's webhook configuration marked the gang members (not the plain pod) ...
      const marked = pods.filter((p) => p.spec?.containers[0]?.resources?.requests?.['edge-gang.io/managed'] === '1').map((p) => p.metadata?.name).sort();
      expect(marked).toEqual(['helm-gang-0', 'helm-gang-1', 'helm-gang-2']);
      // ... so the extender bound the three members together, and kube-scheduler bound the plain pod itself.
      const metrics = await (await fetch(`${setup.extenderUrl}/metrics`)).text();
      expect(metrics).toMatch(/extender_binds_total\{result="bound"\} 3\b/);
      const events = (await core.listNamespacedEvent({ namespace: 'default' })).items;
      expect(events.some((e) => e.reason === 'GangScheduled' && e.source?.component === 'edge-gang-extender')).toBe(true);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- secondary kube-scheduler log ---\n${setup.logTail()}`);
    }
    console.info(`helm install in ${installMs} ms; gang bound through the chart's secondary scheduler`);

    await secondary.stop();
    secondary = undefined;
    const un = await run(helm(), ['uninstall', RELEASE, '--namespace', 'kube-system', '--kubeconfig', plane().kubeconfigPath], 120_000);
    expect(un).toMatch(/uninstalled/);
    expect((await raw.request('GET', '/apis/apps/v1/namespaces/kube-system/deployments/edge-gang-scheduler')).status).toBe(404);
    expect((await raw.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/edge-gang-extender')).status).toBe(404);
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
});

/**
 * cert-manager's Certificate and Issuer as minimal CRDs: only the fields the chart sets, typed as in
 * cert-manager.io/v1, no unknown fields, so a strict dry run catches a misspelled or mistyped field.
 */
function certManagerCrds(): KubeObject[] {
  const crd = (kind: string, plural: string, spec: Obj): KubeObject => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec } } } }],
    },
  });
  const str = { type: 'string' };
  return [
    crd('Certificate', 'certificates', {
      type: 'object',
      required: ['secretName', 'issuerRef'],
      properties: {
        secretName: str,
        duration: str,
        renewBefore: str,
        dnsNames: { type: 'array', items: str },
        issuerRef: { type: 'object', required: ['name'], properties: { name: str, kind: str, group: str } },
      },
    }),
    crd('Issuer', 'issuers', {
      type: 'object',
      properties: { selfSigned: { type: 'object', properties: { crlDistributionPoints: { type: 'array', items: str } } }, ca: { type: 'object', properties: { secretName: str } } },
    }),
  ];
}
