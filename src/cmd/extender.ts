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
import { GangRuntimeImpl } from '../adapters/gang-runtime.js';
import { GangEventRecorder } from '../adapters/kube/events.js';
import type { GangEvent } from '../core/gang.js';

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
  let recordEvents: (e: GangEvent[]) => void = () => {};
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
    const recorder = new GangEventRecorder(kc, state, logger);
    recordEvents = (e) => recorder.record(e);
    binder = live.binder;
    readiness = live.readiness;
    stopCluster = live.stop;
  }
  let gangPhases = (): Record<string, number> => ({});
  const metrics = createExtenderMetrics(() => state.sizes(), true, () => gangPhases());
  const gang = new GangRuntimeImpl(state, {
    clock,
    headAfterMs: config.gangHeadAfterMs,
    onBarrierTimeout: () => metrics.gangBarrierTimeouts.inc(),
    onEvents: (events) => {
      for (const e of events) {
        if (e.kind === 'unschedulable') metrics.gangPlanFailures.inc();
        if (e.kind === 'bound' && e.quorumToBoundMs !== null) metrics.gangQuorumToBound.observe(e.quorumToBoundMs / 1000);
        logger.info({ gang: e.gang, event: e.kind, pods: e.podUids.length }, e.reason);
      }
      recordEvents(events);
    },
  });
  gangPhases = () => gang.planner.phaseCounts();
  const app = buildServer({
    state, binder, readiness, clock, logger, metrics, gang,
    bodyLimitBytes: config.bodyLimitBytes, keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    ...(config.tlsCertFile ? {
      https: {
        cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile),
        ...(config.tlsClientCaFile ? { ca: readFileSync(config.tlsClientCaFile) } : {}),
      },
    } : {}),
  });
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address }, 'extender listening');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    gang.stop();
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
