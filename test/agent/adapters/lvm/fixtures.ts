// Loads a captured fixture (test/agent/adapters/lvm/fixtures/README.md). Returns a fresh string each time.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): string {
  return readFileSync(join(DIR, name), 'utf8');
}
