// Test-only helpers of the real-LVM tests. The lab itself (loop devices, the run's VG prefix, cleanup)
// is src/localcluster/loop-lab.ts, because `npm run demo` uses it too.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 of a file or block device, to prove the agent did not write to it. */
export function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (b) => h.update(b)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}
