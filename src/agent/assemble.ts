// Assembles node-resource-manager from a validated configuration: the LVM client behind the command runner,
// the API server (ConfigMap and Node watches, publisher) or the topology file, the disk cache, metrics and the
// /metrics server, and the timers that trigger passes. The one place the agent's ports meet its adapters; used by
// cmd/node-resource-manager.ts. Never reads argv or the environment, never traps signals.

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { NodeResourceManagerConfig } from '../config/node-resource-manager.js';
import { NodeAgent, type AgentLog } from './agent.js';
import type { LvmPort } from './reconcile.js';
import { NrmKube, loadNrmKubeConfig } from './adapters/kube.js';
import { LvmClient } from './adapters/lvm/client.js';
import { PauseAfterPvcreateRunner } from './adapters/lvm/pause-hook.js';
import { ExecRunner, type CommandRunner } from './adapters/lvm/runner.js';
import { NrmMetrics, metricsHandler } from './adapters/metrics.js';
import { FileStateCache } from './adapters/state-cache.js';

export interface AssembleOptions {
  /** Where the pvcreate pause test hook says that it paused (cmd/: stderr, so stdout stays clean). */
  readonly testHookLine: (line: string) => void;
  /** An LVM to use instead of the command-line client built from the configuration (tests). */
  readonly lvm?: LvmPort;
}

/** The LVM client the configuration asks for: command prefix, time limit, `--config`, the test pause hook. */
export function buildLvm(config: NodeResourceManagerConfig, testHookLine: (line: string) => void): LvmClient {
  let runner: CommandRunner = new ExecRunner({ prefix: config.commandPrefix, timeoutMs: config.commandTimeoutMs });
  if (config.testPauseAfterPvcreateMs > 0) {
    runner = new PauseAfterPvcreateRunner(runner, config.testPauseAfterPvcreateMs, testHookLine);
  }
  return new LvmClient(runner, { lvmConfig: config.lvmConfig });
}

export interface NodeAgentDaemon {
  readonly agent: NodeAgent;
  readonly metrics: NrmMetrics;
  /** Serves /metrics and /healthz when metricsPort > 0; rejects when the port cannot be bound. */
  listen(): Promise<void>;
  /** Starts the configuration sources (the file, or the ConfigMap and Node watches) and the timers. */
  start(): Promise<void>;
  /** Stops the timers and watches, waits for the running pass, closes the /metrics server. */
  stop(): Promise<void>;
}

/** API mode: the kube adapter; a list that succeeds while the agent thinks the API is down ends the outage. */
function createKube(config: NodeResourceManagerConfig, log: AgentLog, agentRef: { current: NodeAgent | null }): NrmKube {
  return new NrmKube(loadNrmKubeConfig(config.kubeconfig), {
    nodeName: config.nodeName,
    configMapNamespace: config.configMapNamespace,
    configMapName: config.configMapName,
    watchTimeoutSeconds: config.watchTimeoutSeconds,
    requestTimeoutMs: 10_000,
    retryDelayMs: 1_000,
    maxRetryDelayMs: 30_000,
  }, log, () => {
    if (agentRef.current !== null && agentRef.current.isApiReachable() !== true) void agentRef.current.apiIsBack();
  });
}

/** File mode: the file is re-read on every pass; labels come from --node-labels. */
async function startFileMode(agent: NodeAgent, config: NodeResourceManagerConfig, file: string, log: AgentLog, timers: NodeJS.Timeout[]): Promise<void> {
  const readAndReconcile = async (trigger: string): Promise<void> => {
    try {
      agent.offerConfig(await readFile(file, 'utf8'), 'file');
    } catch (err) {
      log.error({ err, file }, 'cannot read the topology file; the last good configuration stays in force');
    }
    await agent.requestReconcile(trigger);
  };
  agent.offerLabels(config.nodeLabels ?? {}, 'file');
  await readAndReconcile('start');
  timers.push(setInterval(() => void readAndReconcile('periodic'), config.resyncIntervalMs));
}

async function startApiMode(agent: NodeAgent, kube: NrmKube, config: NodeResourceManagerConfig, log: AgentLog, timers: NodeJS.Timeout[]): Promise<void> {
  const cached = await agent.readCache();
  kube.watchConfigMap((text) => agent.offerConfig(text, 'api'));
  kube.watchNode((labels) => agent.offerLabels(labels, 'api'));
  // Edge autonomy: if the API server does not answer in time, reconcile from the cache (and keep doing so).
  timers.push(setTimeout(() => {
    if (agent.currentConfig() === null || agent.currentLabels() === null) {
      log.info({ haveCachedConfig: cached.configText !== null, haveCachedLabels: cached.labels !== null }, 'no live configuration yet: using the cached one');
      agent.applyCacheFallback(cached);
    }
  }, config.initialSyncTimeoutMs));
  timers.push(setInterval(() => {
    // A live configuration that turned out invalid at start leaves nothing in force: the cache can fill in.
    if (agent.currentConfig() === null) agent.applyCacheFallback(cached);
    void agent.requestReconcile('periodic');
  }, config.resyncIntervalMs));
  timers.push(setInterval(() => {
    if (agent.hasPending()) void agent.publish();
  }, Math.min(config.publishRetryIntervalMs, config.heartbeatIntervalMs)));
}

/** Builds the daemon; nothing runs, watches or listens until listen() and start(). */
export function createNodeAgentDaemon(config: NodeResourceManagerConfig, log: AgentLog, opts: AssembleOptions): NodeAgentDaemon {
  const metrics = new NrmMetrics(config.nodeName);
  const timers: NodeJS.Timeout[] = [];
  const agentRef: { current: NodeAgent | null } = { current: null };
  const kube = config.configFile === null ? createKube(config, log, agentRef) : null;
  const agent = new NodeAgent({
    lvm: opts.lvm ?? buildLvm(config, opts.testHookLine),
    cache: config.stateDir === null || config.configFile !== null ? null : new FileStateCache(config.stateDir),
    publisher: kube,
    metrics,
    log,
    now: () => new Date(),
  }, {
    nodeName: config.nodeName,
    dryRun: config.dryRun,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    failureRetryMs: config.failureRetryMs,
    maxQueuedEvents: config.maxQueuedEvents,
  });
  agentRef.current = agent;
  let server: Server | null = null;

  return {
    agent,
    metrics,
    async listen() {
      if (config.metricsPort <= 0) return;
      const s = createServer(metricsHandler(metrics.registry, () => true));
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(config.metricsPort, config.metricsHost, () => resolve());
      });
      log.info({ host: config.metricsHost, port: config.metricsPort }, 'serving /metrics and /healthz');
    },
    async start() {
      if (config.configFile !== null) await startFileMode(agent, config, config.configFile, log, timers);
      else if (kube !== null) await startApiMode(agent, kube, config, log, timers);
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      kube?.stop();
      await agent.idle();
      // Not awaited: the process exits next, and a keep-alive scrape must not hold it.
      server?.close();
    },
  };
}
