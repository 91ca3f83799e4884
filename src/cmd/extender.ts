// Entry point of the scheduler extender: reads flags and environment, creates the logger, builds
// the app (live cluster or snapshot), listens, and shuts down cleanly on SIGTERM/SIGINT.

import { pino } from 'pino';
import { loadExtenderConfig } from '../config/extender.js';
import { createExtenderApp } from '../extender/assemble.js';

async function main(): Promise<void> {
  const loaded = loadExtenderConfig(process.argv.slice(2), process.env);
  if (loaded.kind === 'invalid') {
    process.stderr.write(`extender: invalid configuration:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    process.exit(2);
  }
  const config = loaded.config;
  const logger = pino({ level: config.logLevel, base: { component: 'extender' } });
  const ext = createExtenderApp(config, logger, { processMetrics: true });
  const address = await ext.listen();
  logger.info({ address }, 'extender listening');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    void ext.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`extender: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
