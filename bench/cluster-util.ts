// Small shared pieces of `npm run bench:cluster` (bench/cluster.ts and its modules).

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NS = 'default';
/** The bench's own label: which gang a pod belongs to, on every side (the watch reads it). */
export const GANG_LABEL = 'bench/gang';
/** scheduler-plugins' pod-group label (Coscheduling). */
export const PG_LABEL = 'scheduling.x-k8s.io/pod-group';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const log = (msg: string) => process.stderr.write(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Nearest-rank quantile of the values (unsorted in, not modified); null when empty. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** "N× message" lines, most frequent first; digits in the keys are replaced by N. */
export function countKeys(keys: Iterable<string>, top = 5, width = 200): string[] {
  const m = new Map<string, number>();
  for (const k of keys) {
    const key = k.replace(/\d+/g, 'N').slice(0, width);
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `${n}× ${k}`);
}
