// The shipped manifests agree with the code they deploy: roles grant exactly the calls the programs make,
// flags and environment parse with the programs' own config loaders, the two scheduler setups use the same
// extender entry, Services reach the pods' metrics ports, and docs/metrics.md lists every metric and Event.
// The API server's own validation of every manifest is in test/e2e/manifests.test.ts.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseTopologyConfig } from '../../src/agent/topology.js';
import { loadExtenderConfig } from '../../src/config/extender.js';
import { loadNodeResourceManagerConfig } from '../../src/config/node-resource-manager.js';
import { GANG_EVENT_REASONS } from '../../src/cli/status.js';
import * as keys from '../../src/wire/keys.js';
import { EXTENDER_CALLS, EXTENDER_DENIED, NRM_CALLS, NRM_DENIED, WEBHOOK_CERT_CALLS, WEBHOOK_CERT_DENIED, type ApiCall } from './rbac-expectations.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(ROOT, p), 'utf8');
type Obj = Record<string, any>;
const docs = (p: string): Obj[] => parseAllDocuments(read(p)).map((d) => d.toJS() as Obj).filter(Boolean);
const one = (p: string, kind: string, name?: string): Obj => {
  const found = docs(p).filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found, `${kind} ${name ?? ''} in ${p}`).toHaveLength(1);
  return found[0] as Obj;
};

// --- RBAC -------------------------------------------------------------------------------------------------

interface Grant {
  group: string;
  resource: string;
  verb: string;
  /** '*' for a ClusterRole (bound cluster-wide). */
  namespace: string;
  /** null: any name. */
  names: string[] | null;
}

function grants(roles: Obj[]): Grant[] {
  const out: Grant[] = [];
  for (const r of roles) {
    const namespace = r.kind === 'ClusterRole' ? '*' : String(r.metadata?.namespace);
    for (const rule of r.rules ?? []) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) {
        out.push({ group, resource, verb, namespace, names: rule.resourceNames ?? null });
      }
    }
  }
  return out;
}

const callResource = (c: ApiCall) => (c.subresource ? `${c.resource}/${c.subresource}` : c.resource);
/** RBAC's rule match: exact group, resource (with subresource), verb; namespace; resourceNames when set. */
const covers = (g: Grant, c: ApiCall) =>
  g.group === c.group && g.resource === callResource(c) && g.verb === c.verb &&
  (g.namespace === '*' || g.namespace === c.namespace) &&
  (g.names === null || (c.name !== undefined && g.names.includes(c.name)));

function expectExactly(roles: Obj[], calls: readonly ApiCall[], denied: readonly ApiCall[]): void {
  const gs = grants(roles);
  for (const g of gs) {
    expect(g.group === '*' || g.resource === '*' || g.verb === '*', `wildcard in ${JSON.stringify(g)}`).toBe(false);
  }
  for (const c of calls) expect(gs.some((g) => covers(g, c)), `a rule allows ${c.verb} ${callResource(c)} (${c.why})`).toBe(true);
  for (const g of gs) expect(calls.some((c) => covers(g, c)), `grant ${g.verb} ${g.resource} in ${g.namespace} is used by the program`).toBe(true);
  for (const c of denied) expect(gs.some((g) => covers(g, c)), `no rule allows ${c.verb} ${callResource(c)} ${c.name ?? ''}`).toBe(false);
}

describe('RBAC: each program gets exactly the calls it makes', () => {
  it('extender ClusterRole', () => {
    expectExactly([one('manifests/base/extender/clusterrole.yaml', 'ClusterRole', 'edge-gang-extender')], EXTENDER_CALLS, EXTENDER_DENIED);
  });

  it('webhook certificate Role + ClusterRole (its one Secret and its one webhook configuration)', () => {
    const roles = docs('manifests/base/webhook/rbac.yaml').filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    expect(roles.map((r) => `${r.kind} ${r.metadata.name}`)).toEqual(['Role edge-gang-webhook-certs', 'ClusterRole edge-gang-webhook-config']);
    expectExactly(roles, WEBHOOK_CERT_CALLS, WEBHOOK_CERT_DENIED);
  });

  it('node-resource-manager ClusterRole + Role (the topology ConfigMap by name only)', () => {
    const all = docs('manifests/base/node-resource-manager/rbac.yaml');
    const roles = all.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    expect(roles.map((r) => `${r.kind} ${r.metadata.name}`)).toEqual(['ClusterRole node-resource-manager', 'Role node-resource-manager']);
    expectExactly(roles, NRM_CALLS, NRM_DENIED);
    const role = roles.find((r) => r.kind === 'Role') as Obj;
    expect(role.metadata.namespace).toBe(keys.TOPO_CONFIGMAP_NAMESPACE);
    expect(role.rules[0].resourceNames).toEqual([keys.TOPO_CONFIGMAP_NAME]);
  });

  it('every binding names its ServiceAccount and a role that exists in the manifests or is built in', () => {
    const files = [
      'manifests/base/node-resource-manager/rbac.yaml',
      'manifests/overlays/default-scheduler/rbac.yaml',
      'manifests/overlays/secondary-scheduler/rbac.yaml',
    ];
    const roleNames = new Set([
      ...[...files, 'manifests/base/extender/clusterrole.yaml'].flatMap((f) => docs(f).filter((o) => /Role$/.test(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`)),
      'ClusterRole/system:kube-scheduler',
      'ClusterRole/system:volume-scheduler',
      'Role/extension-apiserver-authentication-reader',
    ]);
    const sas = new Set([
      'manifests/base/node-resource-manager/serviceaccount.yaml',
      'manifests/overlays/default-scheduler/serviceaccount.yaml',
      'manifests/overlays/secondary-scheduler/serviceaccount.yaml',
    ].flatMap((f) => docs(f).filter((o) => o.kind === 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)));
    const bindings = files.flatMap(docs).filter((o) => /Binding$/.test(o.kind));
    expect(bindings.length).toBeGreaterThanOrEqual(8);
    for (const b of bindings) {
      expect(roleNames.has(`${b.roleRef.kind}/${b.roleRef.name}`), `${b.metadata.name} -> ${b.roleRef.kind}/${b.roleRef.name}`).toBe(true);
      for (const s of b.subjects) expect(sas.has(`${s.namespace}/${s.name}`), `${b.metadata.name} subject ${s.name}`).toBe(true);
    }
  });
});

// --- scheduler setups -------------------------------------------------------------------------------------

describe('secondary scheduler overlay', () => {
  const dep = one('manifests/overlays/secondary-scheduler/deployment.yaml', 'Deployment');
  const pod = dep.spec.template.spec;
  const container = (name: string) => pod.containers.find((c: Obj) => c.name === name) as Obj;
  const cfg = parseYaml(read('manifests/overlays/secondary-scheduler/kube-scheduler-config.yaml')) as Obj;

  it('runs the upstream kube-scheduler v1.35.4 with the overlay configuration', () => {
    expect(container('kube-scheduler').image).toBe('registry.k8s.io/kube-scheduler:v1.35.4');
    const mount = container('kube-scheduler').volumeMounts.find((m: Obj) => m.name === 'config');
    const flag = container('kube-scheduler').command.find((a: string) => a.startsWith('--config='));
    expect(flag).toBe(`--config=${mount.mountPath}/kube-scheduler-config.yaml`);
    const kustomization = parseYaml(read('manifests/overlays/secondary-scheduler/kustomization.yaml')) as Obj;
    const generated = kustomization.configMapGenerator.find((g: Obj) => g.name === pod.volumes[0].configMap.name);
    expect(generated.files).toEqual(['kube-scheduler-config.yaml']);
  });

  it('profile, extender --scheduler-names and the opt-in example agree on edge-gang-scheduler', () => {
    expect(cfg.profiles.map((p: Obj) => p.schedulerName)).toEqual(['edge-gang-scheduler']);
    const args = container('extender').command.slice(2) as string[];
    const parsed = loadExtenderConfig(args, {});
    expect(parsed.kind).toBe('ok');
    if (parsed.kind !== 'ok') return;
    expect(parsed.config.core.schedulerNames).toEqual(['edge-gang-scheduler']);
    expect(`${parsed.config.host}:${parsed.config.port}`).toBe(new URL(cfg.extenders[0].urlPrefix).host);
    expect(container('extender').command.slice(0, 2)).toEqual(['node', 'dist/cmd/extender.js']);
    const job = one('examples/gang-job-secondary-scheduler.yaml', 'Job');
    expect(job.spec.template.spec.schedulerName).toBe('edge-gang-scheduler');
  });

  it('leader election on, with its own lease', () => {
    expect(cfg.leaderElection).toMatchObject({ leaderElect: true, resourceName: 'edge-gang-scheduler', resourceNamespace: 'kube-system' });
    expect(cfg.clientConnection?.kubeconfig ?? '').toBe('');
  });

  it('sits on cloud management nodes (seeds 000/001)', () => {
    expect(pod.nodeSelector).toEqual({ [keys.LABEL_EDGE_WORKER]: 'false' });
    expect(pod.tolerations).toContainEqual({ key: 'node-role.alibabacloud.com/addon', operator: 'Exists', effect: 'NoSchedule' });
    expect(pod.serviceAccountName).toBe('edge-gang-scheduler');
  });
});

describe('default scheduler overlay', () => {
  const staticPod = one('manifests/static-pods/edge-gang-extender.yaml', 'Pod');
  const shipped = parseYaml(read('manifests/scheduler/kube-scheduler-config.yaml')) as Obj;

  it('the static extender serves the shipped profile on the address of its extenders entry', () => {
    const ext = staticPod.spec.containers.find((c: Obj) => c.name === 'extender');
    const parsed = loadExtenderConfig(ext.command.slice(2), {});
    expect(parsed.kind).toBe('ok');
    if (parsed.kind !== 'ok') return;
    expect(parsed.config.core.schedulerNames).toEqual(shipped.profiles.map((p: Obj) => p.schedulerName));
    expect(`${parsed.config.host}:${parsed.config.port}`).toBe(new URL(shipped.extenders[0].urlPrefix).host);
    expect(staticPod.spec.hostNetwork).toBe(true);
    expect(parsed.config.kubeconfig).toBe(ext.volumeMounts[0].mountPath);
  });

  it('ships manifests/scheduler/kube-scheduler-config.yaml itself as the ConfigMap', () => {
    const k = parseYaml(read('manifests/scheduler/kustomization.yaml')) as Obj;
    expect(k.configMapGenerator[0].files).toEqual(['kube-scheduler-config.yaml']);
    const overlay = parseYaml(read('manifests/overlays/default-scheduler/kustomization.yaml')) as Obj;
    expect(overlay.resources).toContain('../../scheduler');
  });
});

// --- node-resource-manager ----------------------------------------------------------------------------------

describe('node-resource-manager DaemonSet', () => {
  const ds = one('manifests/base/node-resource-manager/daemonset.yaml', 'DaemonSet');
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];

  it('its environment is a valid agent configuration (node name from the downward API, nsenter prefix)', () => {
    const env: Record<string, string> = {};
    for (const e of c.env) {
      if (e.valueFrom) {
        expect(e.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
        env[e.name] = 'edge-1';
      } else env[e.name] = e.value;
    }
    const loaded = loadNodeResourceManagerConfig({ flags: {}, env });
    expect(loaded.kind).toBe('ok');
    if (loaded.kind !== 'ok') return;
    expect(loaded.config.nodeName).toBe('edge-1');
    expect(loaded.config.commandPrefix).toEqual(['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--']);
    expect(c.ports[0].containerPort).toBe(loaded.config.metricsPort);
    const mounts = Object.fromEntries(c.volumeMounts.map((m: Obj) => [m.mountPath, m.name]));
    expect(mounts[loaded.config.stateDir as string]).toBe('state');
    expect(c.command).toEqual(['node', 'dist/cmd/node-resource-manager.js']);
  });

  it('privileged, host PID, /dev /run/lvm /etc/lvm and the state dir from the host', () => {
    expect(pod.hostPID).toBe(true);
    expect(c.securityContext.privileged).toBe(true);
    const hostPaths = Object.fromEntries(pod.volumes.map((v: Obj) => [v.name, v.hostPath.path]));
    const mounted = c.volumeMounts.map((m: Obj) => `${hostPaths[m.name]}:${m.mountPath}`).sort();
    expect(mounted).toEqual(['/dev:/dev', '/etc/lvm:/etc/lvm', '/run/lvm:/run/lvm', '/var/lib/node-resource-manager:/var/lib/node-resource-manager']);
  });

  it('runs on local-storage nodes and tolerates every taint (edge nodes, unreachable)', () => {
    expect(pod.nodeSelector).toEqual({ [keys.LABEL_LOCAL_STORAGE]: 'true' });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
  });
});

describe('seed 002 section 8.3 objects', () => {
  it('the example topology ConfigMap parses with the agent\'s own parser into the seed\'s VolumeGroup', () => {
    const text = read('examples/seed-8.3-node-resource-topo.yaml');
    const cm = one('examples/seed-8.3-node-resource-topo.yaml', 'ConfigMap');
    expect(cm.metadata).toEqual({ name: keys.TOPO_CONFIGMAP_NAME, namespace: keys.TOPO_CONFIGMAP_NAMESPACE });
    expect(Object.keys(cm.data)).toEqual([keys.TOPO_CONFIGMAP_KEY]);
    const parsed = parseTopologyConfig(text);
    expect(parsed.kind).toBe('ok');
    if (parsed.kind !== 'ok') return;
    expect(parsed.warnings).toEqual([]);
    expect(parsed.config.entries).toEqual([
      { index: 0, name: 'volumegroup1', key: 'kubernetes.io/storagetype', operator: 'In', value: 'lvm', devices: ['/dev/sdb1', '/dev/sdb2', '/dev/sdc'] },
    ]);
  });

  it('the StorageClass is the one the extender counts as local LVM', () => {
    const sc = one('manifests/base/node-resource-manager/storageclass.yaml', 'StorageClass');
    expect(sc).toMatchObject({
      metadata: { name: keys.DEFAULT_LOCAL_STORAGE_CLASS },
      provisioner: keys.DEFAULT_LOCAL_PROVISIONER,
      parameters: { [keys.STORAGE_CLASS_VG_PARAMETER]: keys.DEFAULT_VG_NAME },
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
    });
  });
});

// --- metrics ------------------------------------------------------------------------------------------------

describe('metrics Services', () => {
  const cases: [string, string, Obj][] = [
    ['manifests/overlays/secondary-scheduler/service.yaml', 'edge-gang-extender', one('manifests/overlays/secondary-scheduler/deployment.yaml', 'Deployment').spec.template],
    ['manifests/overlays/default-scheduler/service.yaml', 'edge-gang-extender', one('manifests/static-pods/edge-gang-extender.yaml', 'Pod')],
    ['manifests/base/node-resource-manager/service.yaml', 'node-resource-manager', one('manifests/base/node-resource-manager/daemonset.yaml', 'DaemonSet').spec.template],
  ];
  it.each(cases)('%s selects the pods and a container port, named metrics', (file, name, template) => {
    const svc = one(file, 'Service');
    expect(svc.metadata.labels['app.kubernetes.io/name']).toBe(name);
    const [port] = svc.spec.ports;
    expect(port.name).toBe('metrics');
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(template.metadata.labels[k]).toBe(v);
    const ports = template.spec.containers.flatMap((c: Obj) => c.ports ?? []);
    const target = typeof port.targetPort === 'string' ? ports.find((p: Obj) => p.name === port.targetPort) : { containerPort: port.targetPort };
    expect(target?.containerPort ?? (template.spec.hostNetwork ? port.targetPort : undefined)).toBe(port.port);
  });
});

describe('metrics-proxy: only read-only paths reach the extender', () => {
  const script = (o: Obj) => (o.spec.template?.spec ?? o.spec).containers.find((c: Obj) => c.name === 'metrics-proxy').command[2] as string;
  const fromDeployment = script(one('manifests/overlays/secondary-scheduler/deployment.yaml', 'Deployment'));
  let upstream: Server;
  let proxy: ChildProcess;
  let proxyPort = 0;
  const hits: string[] = [];

  const get = (method: string, path: string) =>
    new Promise<{ status: number; body: string }>((res, rej) => {
      const req = request({ host: '127.0.0.1', port: proxyPort, method, path }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', rej);
      req.end();
    });

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`upstream ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    proxyPort = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    proxy = spawn(process.execPath, ['-e', fromDeployment], {
      env: { PATH: process.env.PATH, PROXY_PORT: String(proxyPort), PROXY_HOST: '127.0.0.1', PROXY_UPSTREAM_PORT: String((upstream.address() as AddressInfo).port) },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      try {
        await get('GET', '/healthz');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  afterAll(async () => {
    proxy?.kill('SIGKILL');
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  it('the static pod runs the same script', () => {
    expect(script(one('manifests/static-pods/edge-gang-extender.yaml', 'Pod'))).toBe(fromDeployment);
  });

  it.each(['/metrics', '/healthz', '/readyz'])('forwards GET %s', async (path) => {
    expect(await get('GET', path)).toEqual({ status: 200, body: `upstream ${path}` });
  });

  it.each([
    ['POST', '/filter'],
    ['POST', '/bind'],
    ['POST', '/prioritize'],
    ['GET', '/debug/gangs'],
    ['POST', '/metrics'],
    ['GET', '/metrics/../bind'],
  ])('refuses %s %s without reaching the extender', async (method, path) => {
    const before = hits.length;
    expect((await get(method, path)).status).toBe(404);
    expect(hits.length).toBe(before);
  });
});

describe('docs/metrics.md', () => {
  const doc = read('docs/metrics.md');
  const metricNames = (file: string) => [...read(file).matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1] as string);

  it.each([['src/extender/metrics.ts'], ['src/extender/webhook/metrics.ts'], ['src/agent/adapters/metrics.ts']])('lists every metric of %s', (file) => {
    const names = metricNames(file);
    expect(names.length).toBeGreaterThan(2);
    for (const n of names) expect(doc, n).toContain(`\`${n}\``);
  });

  it('lists every gang Event reason, and status.ts knows the same reasons as the extender records', () => {
    const fromEvents = [...read('src/wire/keys.ts').matchAll(/reason: '(Gang[A-Za-z]+)'/g)].map((m) => m[1]);
    expect([...fromEvents].sort()).toEqual([...GANG_EVENT_REASONS].sort());
    for (const r of fromEvents) expect(doc).toContain(`\`${r}\``);
  });

  it('lists every node-resource-manager Event reason', () => {
    const reasons = [...Object.entries(keys).filter(([k]) => k.startsWith('EVENT_REASON_')).map(([, v]) => v as string), ...keys.DEVICE_REFUSAL_REASONS];
    expect(reasons.length).toBeGreaterThan(15);
    for (const r of reasons) expect(doc, r).toContain(`\`${r}\``);
  });
});
