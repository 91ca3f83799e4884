// The one assembly of the extender, from a validated configuration: state, cluster source (live,
// snapshot file, or objects in memory), gang planner and barrier, the service, metrics, events and
// the HTTP server. cmd/extender.ts, the local cluster (demo), the tests and the benches all build
// it here, so they all run the same thing. Never reads the environment.

import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ExtenderConfig } from '../config/extender.js';
import { ClusterState } from '../core/state.js';
import { GangPlanner } from '../core/gang/planner.js';
import { buildServer, closeWithin } from './http/routes.js';
import { createExtenderMetrics, type ExtenderMetrics } from './metrics.js';
import { startLiveCluster } from './kube/cluster.js';
import { GangEventRecorder } from './kube/events.js';
import { loadSnapshotObjects, snapshotBinder, snapshotClock, snapshotObjects, type SnapshotLoad } from './snapshot.js';
import { toPodGroup } from './convert.js';
import { BindBarrier } from './barrier.js';
import { ExtenderService } from './service.js';
import type { Binder, Clock, EventSink, Readiness, Requeuer, Ungater } from './ports.js';
import type { PodRef } from '../core/gang/planner.js';
import { PodRequeuer } from './kube/requeue.js';
import { GateRemover } from './kube/ungate.js';
import type { RunningWebhook } from './webhook/run.js';
import type { CertStatus } from './webhook/tls/types.js';

export interface ExtenderApp {
  app: FastifyInstance;
  state: ClusterState;
  service: ExtenderService;
  planner: GangPlanner;
  barrier: BindBarrier;
  metrics: ExtenderMetrics;
  readiness: () => Readiness;
  /** Listens on config.host:config.port (and starts the webhook when configured); resolves to the verbs' address. */
  listen(): Promise<string>;
  /** The webhook's https address and certificate status once listening; null when it is off. */
  webhook(): { address: string; status: CertStatus } | null;
  close(): Promise<void>;
}

export interface ExtenderAppOptions {
  /** A KubeConfig to use instead of loading config.kubeconfig (tests). */
  kubeConfig?: KubeConfig;
  /** Register Node's default process metrics (once per process). */
  processMetrics?: boolean;
  /** Serve these Kubernetes objects, as snapshot mode serves a file's (tests, benches). */
  objects?: Record<string, unknown>[];
  /** Replace the source's binder, clock, readiness, requeuer or Event sink (tests). */
  binder?: Binder;
  clock?: Clock;
  readiness?: () => Readiness;
  requeuer?: Requeuer;
  ungater?: Ungater;
  events?: EventSink;
  /** Run the barrier sweep on a timer (default); tests may call service.tick themselves. */
  timers?: boolean;
}

interface Source {
  kubeConfig: KubeConfig | null;
  binder: Binder;
  readiness: () => Readiness;
  clock: Clock;
  events: EventSink;
  requeuer: Requeuer;
  ungater: Ungater;
  stop: () => void;
}

const NO_EVENTS: EventSink = { publish: () => undefined };
const NO_REQUEUES: Requeuer = { requeue: () => undefined };
const NO_UNGATES: Ungater = { ungate: () => undefined };
/** How long open requests may finish on close before their connections are dropped. */
const CLOSE_GRACE_MS = 2000;

/**
 * PodGroups of a snapshot, for as long as loadSnapshotObjects (snapshot.ts) does not load them itself:
 * they are then reported there as ignored, and loaded here.
 */
function loadPodGroups(state: ClusterState, objects: Record<string, unknown>[], load: SnapshotLoad): void {
  const ignored = load.ignored.PodGroup ?? 0;
  if (ignored === 0) return;
  let n = 0;
  for (const o of objects) {
    const pg = o.kind === 'PodGroup' ? toPodGroup(o) : null;
    if (!pg) continue;
    state.setPodGroup(pg);
    n++;
  }
  if (n === ignored) delete load.ignored.PodGroup;
  else load.ignored.PodGroup = ignored - n;
  if (n > 0) load.counts.PodGroup = (load.counts.PodGroup ?? 0) + n;
}

function snapshotSource(state: ClusterState, config: ExtenderConfig, logger: Logger, given?: Record<string, unknown>[]): Source {
  const objects = given ?? snapshotObjects(readFileSync(config.snapshot, 'utf8'));
  const load = loadSnapshotObjects(state, objects);
  loadPodGroups(state, objects, load);
  const what = given ? `${objects.length} objects in memory` : `snapshot ${config.snapshot}`;
  logger.info({ snapshot: what, ...load }, 'serving from snapshot');
  const clock = snapshotClock(state);
  return { kubeConfig: null, binder: snapshotBinder(state, clock), readiness: () => ({ ready: true, reason: what }), clock, events: NO_EVENTS, requeuer: NO_REQUEUES, ungater: NO_UNGATES, stop: () => undefined };
}

/** Pending members of a gang whose PodGroup changed: kube-scheduler may hold them as unschedulable since our last refusal. */
function pendingMembers(state: ClusterState, key: string, serves: (name: string) => boolean): PodRef[] {
  const out: PodRef[] = [];
  for (const uid of state.groups.get(key) ?? []) {
    const p = state.pods.get(uid);
    if (p && !p.nodeName && !p.deleting && !p.terminal && serves(p.schedulerName)) out.push({ uid, namespace: p.namespace, name: p.name });
  }
  return out;
}

function liveSource(state: ClusterState, config: ExtenderConfig, logger: Logger, metrics: ExtenderMetrics, given?: KubeConfig): Source {
  const onRequeue = (result: 'patched' | 'failed' | 'shed'): void => { metrics.gangRequeues.inc({ result }); };
  let kc = given;
  if (!kc) {
    kc = new KubeConfig();
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  }
  const requeuer = new PodRequeuer(kc, logger, onRequeue);
  const servesScheduler = (name: string): boolean => config.core.schedulerNames.includes(name);
  const live = startLiveCluster(kc, state, logger, config.bind.bindingTimeoutMs, {
    ...config.podGroups, servesScheduler,
    onChange: (key) => requeuer.requeue(pendingMembers(state, key, servesScheduler)),
  });
  return { kubeConfig: kc, binder: live.binder, readiness: live.readiness, clock: Date.now, events: new GangEventRecorder(kc, state, logger), requeuer,
    ungater: new GateRemover(live.pods, logger, (result) => { metrics.gangGatesRemoved.inc({ result }); }), stop: live.stop };
}

function httpsOf(config: ExtenderConfig): { https?: { cert: Buffer; key: Buffer; ca?: Buffer } } {
  if (!config.tlsCertFile) return {};
  return {
    https: {
      cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile),
      ...(config.tlsClientCaFile ? { ca: readFileSync(config.tlsClientCaFile) } : {}),
    },
  };
}

export function createExtenderApp(config: ExtenderConfig, logger: Logger, opts: ExtenderAppOptions = {}): ExtenderApp {
  const state = new ClusterState(config.core);
  const planner = new GangPlanner(state);
  const metrics = createExtenderMetrics(() => state.sizes(), opts.processMetrics ?? false, () => planner.phaseCounts());
  const source = opts.objects || config.snapshot ? snapshotSource(state, config, logger, opts.objects) : liveSource(state, config, logger, metrics, opts.kubeConfig);
  const clock = opts.clock ?? source.clock;
  const readiness = opts.readiness ?? source.readiness;
  let service: ExtenderService | null = null;
  const requeuer = opts.requeuer ?? source.requeuer;
  const barrier = new BindBarrier(state, planner, {
    clock, sweepEveryMs: config.bind.sweepMs, timers: opts.timers ?? true,
    onEvents: (events) => service?.emit(events),
    onRequeues: (pods) => requeuer.requeue(pods),
    onUngates: (batches) => (opts.ungater ?? source.ungater).ungate(batches),
    onBarrierTimeout: () => metrics.gangBarrierTimeouts.inc(),
  });
  service = new ExtenderService({
    state, planner, barrier, binder: opts.binder ?? source.binder, readiness, events: opts.events ?? source.events, requeuer, clock, metrics, logger,
    bindLagGraceMs: config.bind.lagGraceMs,
  });
  const app = buildServer(service, { logger, metrics, bodyLimitBytes: config.bodyLimitBytes, keepAliveTimeoutMs: config.keepAliveTimeoutMs, ...httpsOf(config) });
  let closed = false;
  let webhook: RunningWebhook | null = null;
  return {
    app, state, service, planner, barrier, metrics, readiness,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      if (config.webhook) {
        // Loaded only when configured: the certificate code (node-forge) is not needed by snapshot mode or the what-if.
        const { startWebhook } = await import('./webhook/run.js');
        webhook = await startWebhook(config.webhook, { state, readiness, logger, registry: metrics.registry, kubeConfig: source.kubeConfig });
      }
      return address;
    },
    webhook: () => (webhook ? { address: webhook.address, status: webhook.status() } : null),
    async close() {
      if (closed) return;
      closed = true;
      barrier.stop();
      source.stop();
      await webhook?.close();
      await closeWithin(app, CLOSE_GRACE_MS);
    },
  };
}
