// `npm run up`: the entry point of the local cluster kept running (src/localcluster/up.ts). It creates
// the output and the extender's logger and traps Ctrl-C and SIGTERM (`npm run down` sends SIGTERM):
// either stops everything it started, in order, and removes the loop devices.

import { pino } from 'pino';
import { Up } from '../localcluster/up.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

const up = new Up({ out, extenderLogger: pino({ level: 'error', base: { component: 'extender' } }, pino.destination(2)) });

let exiting = false;
async function shutdown(code: number, message?: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (message) out(message);
  // A hung stop must not keep it alive; the control plane's exit hook kills what is left.
  const force = setTimeout(() => process.exit(code), 30_000);
  force.unref();
  await up.stop();
  out(code === 0 ? 'stopped: everything `npm run up` started has stopped.' : `up failed (exit ${code}); everything it started has stopped.`);
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0, '\nInterrupted (Ctrl-C): stopping everything ...'));
process.on('SIGTERM', () => void shutdown(0, 'Terminated (npm run down?): stopping everything ...'));

up.start().then(
  (r) => {
    if (r === 'refused') process.exit(1);
  },
  (err: unknown) => shutdown(1, `\nup failed: ${err instanceof Error ? err.message : String(err)}`),
);
