// `npm run demo`: the entry point of the demo (src/localcluster/demo.ts). It creates the output and the
// extender's logger, traps Ctrl-C and SIGTERM, and stops everything the demo started on success, error,
// Ctrl-C and SIGTERM.

import { pino } from 'pino';
import { Demo } from '../localcluster/demo.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

const demo = new Demo({ out, extenderLogger: pino({ level: 'error', base: { component: 'extender' } }, pino.destination(2)) });

let exiting = false;
async function shutdown(code: number, message?: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (message) process.stderr.write(`${message}\n`);
  await demo.stopHelpers();
  // A second Ctrl-C or a hung stop must not keep the demo alive; the control plane's exit hook kills what is left.
  const force = setTimeout(() => process.exit(code), 20_000);
  force.unref();
  await demo.stopCluster();
  if (code === 0) out('DEMO OK: everything it started has stopped.');
  else process.stderr.write(`DEMO FAILED (exit ${code}); everything it started has stopped.\n`);
  process.exit(code);
}

process.on('SIGINT', () => {
  if (exiting) return;
  out('\nInterrupted (Ctrl-C): stopping everything ...');
  void shutdown(130);
});
process.on('SIGTERM', () => void shutdown(143, 'Terminated: stopping everything ...'));

demo.run().then(
  () => shutdown(0),
  (err: unknown) => shutdown(1, `\ndemo failed: ${err instanceof Error ? err.message : String(err)}`),
);
