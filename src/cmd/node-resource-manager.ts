// Entry point of node-resource-manager, the node agent (issue 5). The only place that reads argv and the
// environment, creates the logger, listens and traps signals. Everything else is wired from here.
//
//   npm run node-resource-manager -- --node-name n1                      # DaemonSet: API server, ConfigMap watch
//   npm run node-resource-manager -- --config-file topo.yaml --node-name n1 --node-labels k=v --once   # offline

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { NodeAgent, type AgentLog, type PublisherPort } from '../agent/agent.js';
import { runOffline } from '../agent/offline.js';
import { FileStateCache } from '../agent/state-cache.js';
import { NrmKube, loadNrmKubeConfig } from '../agent/kube.js';
import { LvmClient } from '../agent/lvm/client.js';
import { PauseAfterPvcreateRunner } from '../agent/lvm/pause-hook.js';
import { ExecRunner, type CommandRunner } from '../agent/lvm/runner.js';
import { NrmMetrics, metricsHandler } from '../agent/metrics.js';
import { NRM_OPTIONS, loadNodeResourceManagerConfig, nrmUsage, type NodeResourceManagerConfig } from '../config/node-resource-manager.js';
import { NRM_COMPONENT } from '../wire/keys.js';

function parseCommandLine(argv: string[]): { flags: Record<string, string | boolean | undefined>; help: boolean } | { error: string } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const o of NRM_OPTIONS) if (o.flag !== null) options[o.flag] = { type: o.kind === 'boolean' ? 'boolean' : 'string' };
  try {
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    const { help, ...flags } = values as Record<string, string | boolean | undefined>;
    return { flags, help: help === true };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function buildLvm(config: NodeResourceManagerConfig): LvmClient {
  let runner: CommandRunner = new ExecRunner({ prefix: config.commandPrefix, timeoutMs: config.commandTimeoutMs });
  if (config.testPauseAfterPvcreateMs > 0) {
    runner = new PauseAfterPvcreateRunner(runner, config.testPauseAfterPvcreateMs, (line) => process.stderr.write(`${line}\n`));
  }
  return new LvmClient(runner, { lvmConfig: config.lvmConfig });
}

async function runOnce(config: NodeResourceManagerConfig, configFile: string): Promise<number> {
  let configText: string;
  try {
    configText = await readFile(configFile, 'utf8');
  } catch (err) {
    process.stderr.write(`node-resource-manager: cannot read ${configFile}: ${(err as Error).message}\n`);
    return 2;
  }
  const outcome = await runOffline(buildLvm(config), {
    node: config.nodeName,
    configFile,
    configText,
    labels: config.nodeLabels ?? {},
    dryRun: config.dryRun,
    now: () => new Date(),
  });
  process.stdout.write(`${JSON.stringify(outcome.report, null, 2)}\n`);
  return outcome.exitCode;
}

async function runDaemon(config: NodeResourceManagerConfig, log: AgentLog & pino.Logger): Promise<number> {
  const metrics = new NrmMetrics(config.nodeName);
  const timers: NodeJS.Timeout[] = [];
  let kube: NrmKube | null = null;
  let publisher: PublisherPort | null = null;
  const agentRef: { current: NodeAgent | null } = { current: null };

  if (config.configFile === null) {
    const kc = loadNrmKubeConfig(config.kubeconfig);
    kube = new NrmKube(kc, {
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
    publisher = kube;
  }

  const agent = new NodeAgent({
    lvm: buildLvm(config),
    cache: config.stateDir === null || config.configFile !== null ? null : new FileStateCache(config.stateDir),
    publisher,
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
  if (config.metricsPort > 0) {
    server = createServer(metricsHandler(metrics.registry, () => true));
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(config.metricsPort, config.metricsHost, () => resolve());
    });
    log.info({ host: config.metricsHost, port: config.metricsPort }, 'serving /metrics and /healthz');
  }

  if (config.configFile !== null) {
    // File mode: the file is re-read on every pass; labels come from --node-labels.
    const file = config.configFile;
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
  } else if (kube !== null) {
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

  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      for (const t of timers) clearTimeout(t);
      kube?.stop();
      void agent.idle().then(() => {
        server?.close();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}

async function main(): Promise<number> {
  const cl = parseCommandLine(process.argv.slice(2));
  if ('error' in cl) {
    process.stderr.write(`node-resource-manager: ${cl.error}\n${nrmUsage()}\n`);
    return 2;
  }
  if (cl.help) {
    process.stdout.write(`${nrmUsage()}\n`);
    return 0;
  }
  const loaded = loadNodeResourceManagerConfig({ flags: cl.flags, env: process.env });
  if (loaded.kind === 'invalid') {
    process.stderr.write(`node-resource-manager: invalid configuration:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  const config = loaded.config;
  if (config.once && config.configFile !== null) return runOnce(config, config.configFile);
  // Logs go to stderr: stdout is kept for the --once report.
  const log = pino({ level: config.logLevel, base: { component: NRM_COMPONENT, node: config.nodeName } }, pino.destination(2));
  log.info({ mode: config.configFile === null ? 'api' : 'file', dryRun: config.dryRun, commandPrefix: config.commandPrefix, stateDir: config.stateDir }, 'node-resource-manager starting');
  return runDaemon(config, log);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`node-resource-manager: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
