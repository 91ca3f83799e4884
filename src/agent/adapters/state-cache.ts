// node-resource-manager's on-disk cache of the last good configuration and the node's labels, so the agent keeps
// reconciling across restarts while the API server is unreachable (issue 5, edge autonomy). Written atomically:
// a temporary file in the same directory, fsync, rename over the old one, fsync the directory.

import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CachedState, StateCachePort } from '../agent.js';
import type { NodeLabels } from '../desired.js';

export const LAST_CONFIG_FILE = 'last-config.yaml';
export const LAST_LABELS_FILE = 'last-labels.json';

/** Writes `text` to `path` so a reader sees either the old or the new content, never a torn file. */
let tmpCounter = 0;

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  tmpCounter += 1;
  const tmp = `${path}.tmp-${process.pid}-${tmpCounter}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export class FileStateCache implements StateCachePort {
  constructor(private readonly dir: string) {}

  async load(): Promise<CachedState> {
    const configText = await readOptional(join(this.dir, LAST_CONFIG_FILE));
    const labelsText = await readOptional(join(this.dir, LAST_LABELS_FILE));
    let labels: NodeLabels | null = null;
    if (labelsText !== null) {
      const raw: unknown = JSON.parse(labelsText);
      if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && Object.values(raw).every((v) => typeof v === 'string')) {
        labels = raw as NodeLabels;
      } else {
        throw new Error(`${join(this.dir, LAST_LABELS_FILE)} is not a JSON map of strings`);
      }
    }
    return { configText, labels };
  }

  async saveConfig(text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, LAST_CONFIG_FILE), text);
  }

  async saveLabels(labels: NodeLabels): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, LAST_LABELS_FILE), `${JSON.stringify(labels, null, 2)}\n`);
  }
}
