import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStateCache, LAST_CONFIG_FILE, LAST_LABELS_FILE, writeFileAtomic } from '../../../src/agent/adapters/state-cache.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nrm-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileStateCache', () => {
  it('loads nothing from an empty (or absent) directory', async () => {
    expect(await new FileStateCache(join(dir, 'absent')).load()).toEqual({ configText: null, labels: null });
  });

  it('round-trips the configuration text and labels, creating the directory', async () => {
    const cache = new FileStateCache(join(dir, 'state'));
    await cache.saveConfig('volumegroup: []\n');
    await cache.saveLabels({ a: 'b' });
    expect(await cache.load()).toEqual({ configText: 'volumegroup: []\n', labels: { a: 'b' } });
    expect(await readFile(join(dir, 'state', LAST_CONFIG_FILE), 'utf8')).toBe('volumegroup: []\n');
    expect((await readdir(join(dir, 'state'))).sort()).toEqual([LAST_CONFIG_FILE, LAST_LABELS_FILE].sort());
  });

  it('refuses a labels file that is not a map of strings', async () => {
    await writeFile(join(dir, LAST_LABELS_FILE), '{"a": 1}');
    await expect(new FileStateCache(dir).load()).rejects.toThrow(/not a JSON map of strings/);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file whole and leaves no temporary file, also under concurrent writers', async () => {
    const path = join(dir, 'f');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(path, `content-${i}\n`.repeat(1000))));
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^(content-\d+\n)+$/);
    expect(new Set(text.split('\n').filter((l) => l !== '')).size).toBe(1);
    expect(await readdir(dir)).toEqual(['f']);
  });
});
