// Assembles the extender from a validated configuration: state, cluster source (live or snapshot),
// gang runtime, metrics, events and the HTTP server. Used by cmd/extender.ts, the demo and the
// end-to-end tests, so all three run the same thing. Never reads the environment.

import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ExtenderConfig } from '../config/extender.js';
import { ClusterState } from '../core/state.js';
import type { GangEvent } from '../core/gang/planner.js';
import { buildServer, type Binder, type Readiness } from './http/routes.js';
import { createExtenderMetrics, type ExtenderMetrics } from './metrics.js';
import { startLiveCluster } from './kube/cluster.js';
import { loadSnapshotFile, snapshotBinder, snapshotClock } from './snapshot.js';
import { GangRuntimeImpl } from './barrier.js';
import { GangEventRecorder } from './kube/events.js';

export interface ExtenderApp {
  app: FastifyInstance;
  state: ClusterState;
  gang: GangRuntimeImpl;
  metrics: ExtenderMetrics;
  readiness: () => Readiness;
  /** Listens on config.host:config.port; resolves to the address. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface ExtenderAppOptions {
  /** A KubeConfig to use instead of loading config.kubeconfig (tests). */
  kubeConfig?: KubeConfig;
  /** Register Node's default process metrics (once per process). */
  processMetrics?: boolean;
}

export function createExtenderApp(config: ExtenderConfig, logger: Logger, opts: ExtenderAppOptions = {}): ExtenderApp {
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
    let kc = opts.kubeConfig;
    if (!kc) {
      kc = new KubeConfig();
      if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
      else kc.loadFromDefault();
    }
    const live = startLiveCluster(kc, state, logger);
    const recorder = new GangEventRecorder(kc, state, logger);
    recordEvents = (e) => recorder.record(e);
    binder = live.binder;
    readiness = live.readiness;
    stopCluster = live.stop;
  }
  let gangPhases = (): Record<string, number> => ({});
  const metrics = createExtenderMetrics(() => state.sizes(), opts.processMetrics ?? false, () => gangPhases());
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
  let closed = false;
  return {
    app, state, gang, metrics, readiness,
    listen: () => app.listen({ host: config.host, port: config.port }),
    async close() {
      if (closed) return;
      closed = true;
      gang.stop();
      stopCluster();
      await app.close();
    },
  };
}
