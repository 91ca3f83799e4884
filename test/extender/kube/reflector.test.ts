// Reflector health against a small fake API server on 127.0.0.1: the list comes from a stub, the
// watch is a real HTTP request through @kubernetes/client-node's Watch. Readiness of the extender is
// the conjunction of every reflector's `healthy`, so a watch that is not running must never leave it true.

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Reflector, type Sink } from '../../../src/extender/kube/reflector.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type WatchMode = 'serve' | 'status-500' | 'end-at-once';

class FakeWatchServer {
  mode: WatchMode = 'serve';
  watchRequests = 0;
  /** Set by goAway(): lists fail too, as they would against a stopped API server. */
  gone = false;
  readonly open: ServerResponse[] = [];
  private server: Server | null = null;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (!req.url?.includes('watch=true')) {
        res.writeHead(404).end();
        return;
      }
      this.watchRequests++;
      if (this.mode === 'status-500') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"kind":"Status","code":500}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } })}\n`);
      if (this.mode === 'end-at-once') res.end();
      else this.open.push(res);
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server?.address() as AddressInfo).port;
  }

  /** Stops listening (new watches are refused), then ends the open watch streams cleanly. */
  async goAway(): Promise<void> {
    this.gone = true;
    const closed = new Promise((r) => this.server?.close(r));
    for (const res of this.open.splice(0)) res.end();
    this.server?.closeAllConnections();
    await closed;
  }

  async stop(): Promise<void> {
    for (const res of this.open.splice(0)) res.destroy();
    this.server?.closeAllConnections();
    if (this.server?.listening) await new Promise((r) => this.server?.close(r));
  }
}

function kubeConfig(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

const sink: Sink = { replace: () => {}, upsert: () => {}, remove: () => {} };
const logger = pino({ level: 'silent' });

let server: FakeWatchServer | undefined;
let reflector: Reflector | undefined;
afterEach(async () => {
  reflector?.stop();
  reflector = undefined;
  await server?.stop();
  server = undefined;
});

async function start(mode: WatchMode): Promise<{ srv: FakeWatchServer; r: Reflector }> {
  const srv = new FakeWatchServer();
  srv.mode = mode;
  await srv.start();
  server = srv;
  const r = new Reflector(kubeConfig(srv.port), {
    name: 'pods', path: '/api/v1/pods', logger, sink,
    list: async () => {
      if (srv.gone) throw new Error('connect ECONNREFUSED');
      return { items: [], metadata: { resourceVersion: '1' } };
    },
  });
  reflector = r;
  r.start();
  return { srv, r };
}

describe('Reflector health', () => {
  it('is healthy while its watch runs', async () => {
    const { srv, r } = await start('serve');
    await expect.poll(() => r.healthy, { timeout: 5000 }).toBe(true);
    expect(r.synced).toBe(true);
    expect(srv.watchRequests).toBe(1);
  });

  it('a watch the server refuses (non-200) leaves it unhealthy, not healthy', async () => {
    const { srv, r } = await start('status-500');
    await expect.poll(() => srv.watchRequests, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    // Sample until the first relist is due (500 ms back-off): healthy must never turn true.
    for (let i = 0; i < 8; i++) {
      expect(r.healthy, `sample ${i}: ${r.lastError}`).toBe(false);
      await sleep(50);
    }
    expect(r.synced).toBe(true);
    expect(r.lastError).toMatch(/watch pods/);
  });

  it('a watch the server ends cleanly, with the server then gone, leaves it unhealthy', async () => {
    const { srv, r } = await start('serve');
    await expect.poll(() => r.healthy, { timeout: 5000 }).toBe(true);
    await srv.goAway(); // clean end of the stream; the re-watch is refused
    // Well before the first relist (500 ms back-off) would find out through a failed list.
    await sleep(100);
    for (let i = 0; i < 6; i++) {
      expect(r.healthy, `sample ${i}: ${r.lastError}`).toBe(false);
      await sleep(50);
    }
    expect(r.lastError).toMatch(/watch pods: .*ECONNREFUSED/);
  });
});
