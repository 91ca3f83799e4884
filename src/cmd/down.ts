// `npm run down`: stops the local cluster `npm run up` runs (src/localcluster/session.ts), from another
// terminal; cleans up after an `up` that is gone.

import { runDown, sessionPaths } from '../localcluster/session.js';

runDown(sessionPaths(), (line) => process.stdout.write(`${line}\n`)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`down: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
