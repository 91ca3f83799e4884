// NrmKube against a small fake API server on 127.0.0.1: list+watch of the ConfigMap and the Node, the merge patch
// of the capacity annotation, Events on the Node, and retrying while the server is away. The real kube-apiserver
// runs of this adapter belong to the shared harness (test/e2e).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentLog } from '../../../src/agent/agent.js';
import { NrmKube } from '../../../src/agent/adapters/kube.js';
import { ANNOTATION_VG_CAPACITY } from '../../../src/wire/keys.js';

const CM_PATH = '/api/v1/namespaces/kube-system/configmaps';
const silent: AgentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Recorded { method: string; url: string; contentType: string; body: unknown }

class FakeApiServer {
  readonly requests: Recorded[] = [];
  configMapData: Record<string, string> | null = { volumegroup: 'volumegroup: []\n' };
  labels: Record<string, string> = { a: 'b' };
  private watchers: { path: string; res: ServerResponse }[] = [];
  private server: Server | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers = [];
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  configMap(): object | null {
    return this.configMapData === null ? null : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'node-resource-topo', namespace: 'kube-system', resourceVersion: '5' }, data: this.configMapData };
  }

  node(): object {
    return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-1', resourceVersion: '7', labels: this.labels } };
  }

  /** Sends a watch event to the open watches of one collection path. */
  push(path: string, type: string, object: object): void {
    for (const w of this.watchers) if (w.path === path) w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: text ? JSON.parse(text) : null });
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.watchers.push({ path: url.pathname, res });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/namespaces/kube-system/configmaps') {
      const cm = this.configMap();
      return json(200, { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '10' }, items: cm === null ? [] : [cm] });
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/nodes') {
      return json(200, { apiVersion: 'v1', kind: 'NodeList', metadata: { resourceVersion: '10' }, items: [this.node()] });
    }
    if (req.method === 'PATCH' && url.pathname === '/api/v1/nodes/edge-1') return json(200, this.node());
    if (req.method === 'POST' && url.pathname === '/api/v1/namespaces/default/events') return json(201, JSON.parse(text) as object);
    json(404, { kind: 'Status', code: 404 });
  }
}

function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  });
  return kc;
}

const OPTIONS = { nodeName: 'edge-1', configMapNamespace: 'kube-system', configMapName: 'node-resource-topo', watchTimeoutSeconds: 300, requestTimeoutMs: 2_000, retryDelayMs: 50, maxRetryDelayMs: 200 };

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${cond.toString()} ${JSON.stringify(api?.requests.map((r) => r.url))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let api: FakeApiServer | null = null;
let kube: NrmKube | null = null;
afterEach(async () => {
  kube?.stop();
  await api?.stop();
  api = null;
  kube = null;
});

describe('NrmKube', () => {
  it('lists then watches the ConfigMap and the Node, passing on data.volumegroup and the labels', async () => {
    api = new FakeApiServer();
    await api.start();
    let reachable = 0;
    kube = new NrmKube(kubeConfigFor(api.port), OPTIONS, silent, () => { reachable += 1; });
    const texts: (string | null)[] = [];
    const labels: Record<string, string>[] = [];
    kube.watchConfigMap((t) => texts.push(t));
    kube.watchNode((l) => labels.push({ ...l }));
    await until(() => texts.length === 1 && labels.length === 1);
    expect(texts).toEqual(['volumegroup: []\n']);
    expect(labels).toEqual([{ a: 'b' }]);
    expect(reachable).toBeGreaterThanOrEqual(2);
    const listCm = api.requests.find((r) => r.url.startsWith('/api/v1/namespaces/kube-system/configmaps?'));
    expect(decodeURIComponent(listCm?.url ?? '')).toContain('fieldSelector=metadata.name=node-resource-topo');

    await until(() => api !== null && api.requests.filter((r) => r.url.includes('watch=true')).length === 2);
    api.push(CM_PATH, 'MODIFIED', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'node-resource-topo', resourceVersion: '11' }, data: { volumegroup: 'volumegroup:\n- x\n' } });
    api.push('/api/v1/nodes', 'MODIFIED', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-1', resourceVersion: '12', labels: { a: 'c' } } });
    api.push(CM_PATH, 'DELETED', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'node-resource-topo', resourceVersion: '13' } });
    await until(() => texts.length === 3 && labels.length === 2);
    expect(texts.slice(1)).toEqual(['volumegroup:\n- x\n', null]);
    expect(labels[1]).toEqual({ a: 'c' });
  });

  it('publishes the capacity report as a JSON merge patch of the annotation', async () => {
    api = new FakeApiServer();
    await api.start();
    kube = new NrmKube(kubeConfigFor(api.port), OPTIONS, silent);
    const report = { version: 1 as const, node: 'edge-1', updatedAt: '2025-01-01T00:00:00.000Z', vgs: [], refused: [] };
    await kube.publishCapacity(report);
    const patch = api.requests.find((r) => r.method === 'PATCH');
    expect(patch?.contentType).toBe('application/merge-patch+json');
    expect(patch?.body).toEqual({ metadata: { annotations: { [ANNOTATION_VG_CAPACITY]: JSON.stringify(report) } } });
  });

  it('records Events on the Node, as kubectl describe node finds them', async () => {
    api = new FakeApiServer();
    await api.start();
    kube = new NrmKube(kubeConfigFor(api.port), OPTIONS, silent);
    await kube.recordEvent({ type: 'Warning', reason: 'DeviceHasSignature', message: 'x'.repeat(2000) });
    const ev = api.requests.find((r) => r.method === 'POST')?.body as Record<string, unknown>;
    expect(ev).toMatchObject({
      involvedObject: { kind: 'Node', name: 'edge-1', uid: 'edge-1', apiVersion: 'v1' },
      type: 'Warning', reason: 'DeviceHasSignature', source: { component: 'node-resource-manager', host: 'edge-1' }, count: 1,
    });
    expect((ev.message as string).length).toBe(1024);
  });

  it('throws from publishing while the server is away, and the watch comes back when it returns', async () => {
    api = new FakeApiServer();
    await api.start();
    const port = api.port;
    await api.stop();
    kube = new NrmKube(kubeConfigFor(port), OPTIONS, silent);
    await expect(kube.publishCapacity({ version: 1, node: 'edge-1', updatedAt: new Date().toISOString(), vgs: [], refused: [] })).rejects.toThrow();
    const texts: (string | null)[] = [];
    kube.watchConfigMap((t) => texts.push(t));
    await new Promise((r) => setTimeout(r, 300));
    expect(texts).toEqual([]);
    api = new FakeApiServer();
    await api.start(port);
    await until(() => texts.length === 1);
    expect(texts).toEqual(['volumegroup: []\n']);
  });

  it('a publish that gets through ends the watches\' retry delay: they list again at once', async () => {
    api = new FakeApiServer();
    await api.start();
    const port = api.port;
    await api.stop();
    kube = new NrmKube(kubeConfigFor(port), { ...OPTIONS, retryDelayMs: 60_000, maxRetryDelayMs: 60_000 }, silent);
    const texts: (string | null)[] = [];
    kube.watchConfigMap((t) => texts.push(t));
    await new Promise((r) => setTimeout(r, 300)); // the first list failed; the loop now waits 60 s
    api = new FakeApiServer();
    await api.start(port);
    expect(texts).toEqual([]);
    await kube.recordEvent({ type: 'Normal', reason: 'VolumeGroupCreated', message: 'back' });
    await until(() => texts.length === 1, 3_000);
    expect(texts).toEqual(['volumegroup: []\n']);
  });
});
