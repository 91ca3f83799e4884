// A loopback TCP proxy that delays every byte the server sends by a fixed time: a client behind it
// sees the API server's answers and watch events late, as a client with a lagging watch does. It
// does not look inside the stream (TLS passes through), so everything the client reads is late:
// lists, watches, responses to its writes. Chunks keep their order (equal delays fire in order).

import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface LagProxy {
  /** host:port to dial instead of the server. */
  address: string;
  /** Bytes forwarded server → client so far. */
  bytesDelayed(): number;
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

export async function startLagProxy(upstream: { host: string; port: number }, delayMs: number): Promise<LagProxy> {
  let delay = delayMs;
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(upstream.port, upstream.host);
    sockets.add(client);
    sockets.add(up);
    client.pipe(up);
    up.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      setTimeout(() => { if (!client.destroyed) client.write(chunk); }, delay);
    });
    const end = (): void => {
      setTimeout(() => { client.destroy(); up.destroy(); sockets.delete(client); sockets.delete(up); }, delay);
    };
    up.on('end', end);
    up.on('error', end);
    client.on('error', () => up.destroy());
    client.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('lag proxy: no address');
  return {
    address: `127.0.0.1:${addr.port}`,
    bytesDelayed: () => bytes,
    setDelayMs: (ms) => { delay = ms; },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The same credentials, with the cluster's server replaced by `address` (host:port; the scheme is kept). */
export function kubeConfigVia(kc: KubeConfig, address: string): KubeConfig {
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) => {
      const u = new URL(c.server);
      return { ...c, server: `${u.protocol}//${address}` };
    }),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}
