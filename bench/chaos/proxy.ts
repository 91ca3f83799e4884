// A loopback TCP proxy that can be cut: while cut, every open connection is dropped and every new one
// is closed at once, as a network partition or a Service with no ready endpoint looks to a client.
// With several upstreams it dials them in order and takes the first that accepts (a Service over
// replicas). TLS passes through untouched.

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface CutProxy {
  port: number;
  /** host:port to dial instead of the upstream. */
  address: string;
  readonly isCut: boolean;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCutProxy(upstreams: readonly { host: string; port: number }[], port = 0): Promise<CutProxy> {
  let isCut = false;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const dial = (client: Socket, i: number): void => {
    const target = upstreams[i];
    if (!target || client.destroyed) {
      client.destroy();
      return;
    }
    const up = connect(target.port, target.host);
    let connected = false;
    up.once('connect', () => {
      connected = true;
      track(up);
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
    up.on('error', () => {
      if (!connected) dial(client, i + 1);
      else client.destroy();
    });
    up.once('close', () => {
      if (connected) client.destroy();
    });
    client.once('close', () => up.destroy());
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    track(client);
    client.on('error', () => client.destroy());
    dial(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('cut proxy: no address');
  return {
    port: addr.port,
    address: `127.0.0.1:${addr.port}`,
    get isCut() {
      return isCut;
    },
    cut() {
      isCut = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
