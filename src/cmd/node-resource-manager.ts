// Entry point of node-resource-manager, the node agent (issue 5). The only place that reads argv and the
// environment, creates the logger, listens and traps signals; agent/assemble.ts wires the adapters.
//
//   npm run node-resource-manager -- --node-name n1                      # DaemonSet: API server, ConfigMap watch
//   npm run node-resource-manager -- --config-file topo.yaml --node-name n1 --node-labels k=v --once   # offline

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildLvm, createNodeAgentDaemon } from '../agent/assemble.js';
import { runOffline } from '../agent/offline.js';
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

const writeStderrLine = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function runOnce(config: NodeResourceManagerConfig, configFile: string): Promise<number> {
  let configText: string;
  try {
    configText = await readFile(configFile, 'utf8');
  } catch (err) {
    process.stderr.write(`node-resource-manager: cannot read ${configFile}: ${(err as Error).message}\n`);
    return 2;
  }
  const outcome = await runOffline(buildLvm(config, writeStderrLine), {
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

async function runDaemon(config: NodeResourceManagerConfig, log: pino.Logger): Promise<number> {
  const daemon = createNodeAgentDaemon(config, log, { testHookLine: writeStderrLine });
  await daemon.listen();
  await daemon.start();
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      void daemon.stop().then(() => resolve(0));
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
