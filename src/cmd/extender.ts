// Entry point of the scheduler extender: reads flags and environment, creates the logger, builds
// the state (live cluster or snapshot), listens, and shuts down cleanly on SIGTERM/SIGINT.

import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { loadExtenderConfig } from '../config/extender.js';
import { ClusterState } from '../core/state.js';
import { buildServer, type Binder, type Readiness } from '../adapters/http/server.js';
import { createExtenderMetrics } from '../adapters/http/metrics.js';
import { startLiveCluster } from '../adapters/kube/cluster.js';
import { loadSnapshotFile, snapshotBinder, snapshotClock } from '../adapters/kube/snapshot.js';

async function main(): Promise<void> {
  const loaded = loadExtenderConfig(process.argv.slice(2), process.env);
  if (loaded.kind === 'invalid') {
    process.stderr.write(`extender: invalid configuration:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    process.exit(2);
  }
  const config = loaded.config;
  const logger = pino({ level: config.logLevel, base: { component: 'extender' } });
  const state = new ClusterState(config.core);
  let binder: Binder;
  let readiness: () => Readiness;
  let stopCluster = () => {};
  let clock: () => number = Date.now;
  if (config.snapshot) {
    const load = loadSnapshotFile(state, config.snapshot);
    logger.info({ snapshot: config.snapshot, ...load }, 'serving from snapshot');
    binder = snapshotBinder;
    readiness = () => ({ ready: true, reason: `snapshot ${config.snapshot}` });
    clock = snapshotClock(state);
  } else {
    const kc = new KubeConfig();
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
    const live = startLiveCluster(kc, state, logger);
    binder = live.binder;
    readiness = live.readiness;
    stopCluster = live.stop;
  }
  const metrics = createExtenderMetrics(() => state.sizes(), true);
  const app = buildServer({
    state, binder, readiness, clock, logger, metrics,
    bodyLimitBytes: config.bodyLimitBytes, keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    ...(config.tlsCertFile ? {
      https: {
        cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile),
        ...(config.tlsClientCaFile ? { ca: readFileSync(config.tlsClientCaFile) } : {}),
      },
    } : {}),
  });
  const sweep = setInterval(() => state.expireReservations(clock()), 1000);
  sweep.unref();
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address }, 'extender listening');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    clearInterval(sweep);
    stopCluster();
    void app.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`extender: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
