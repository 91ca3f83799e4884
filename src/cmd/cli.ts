#!/usr/bin/env node
// The operator CLI (package bin `edge-gang`): argument dispatch only; the commands live in src/cli.
//
//   edge-gang decide --snapshot cluster.yaml --manifest job.yaml [--json]   the what-if (src/cli/decide.ts)
//   edge-gang status [--kubeconfig FILE] [--extender URL] [--json]          gangs and VGs (src/cli/status.ts)

import { runDecide } from '../cli/decide.js';
import { runStatus } from '../cli/status.js';
import { UsageError } from '../cli/args.js';

const write = (s: string) => void process.stdout.write(s);

function usage(msg?: string): never {
  if (msg) process.stderr.write(`edge-gang: ${msg}\n`);
  process.stderr.write(
    'usage: edge-gang decide --snapshot FILE --manifest FILE [--json] [extender flags]\n' +
      '       edge-gang status [--kubeconfig FILE] [--extender URL] [--json]\n',
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const command = args.shift();
  try {
    if (command === 'status') return await runStatus(args, write);
    if (command === 'decide') return runDecide(args, write);
  } catch (err) {
    if (err instanceof UsageError) usage(err.message);
    throw err;
  }
  usage(command ? `unknown command ${command}` : 'no command');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`edge-gang: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
