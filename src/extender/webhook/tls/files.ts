// File mode, the cert-manager alternative: the serving pair is a mounted Secret (--webhook-cert-file,
// --webhook-key-file), the caBundle is cert-manager cainjector's (annotation cert-manager.io/inject-ca-from).
// Files are polled by content: fs.watch misses kubelet's update of a Secret volume, which swaps a `..data`
// symlink instead of writing the files. Nothing in the cluster is touched in this mode.

import { readFile } from 'node:fs/promises';
import { readServing } from './pki.js';
import { filePairProblem, type RequiredNames } from './rules.js';
import type { CertPair } from './types.js';

export type FilePairRead =
  | { kind: 'ok'; pair: CertPair; serial: string; notAfterMs: number }
  | { kind: 'bad'; reason: string };

async function readText(path: string): Promise<string | { error: string }> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    return { error: `${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Reads and checks the pair of files at nowMs. */
export async function readFilePair(certFile: string, keyFile: string, required: RequiredNames, nowMs: number): Promise<FilePairRead> {
  const [cert, key] = await Promise.all([readText(certFile), readText(keyFile)]);
  if (typeof cert !== 'string') return { kind: 'bad', reason: cert.error };
  if (typeof key !== 'string') return { kind: 'bad', reason: key.error };
  const serving = readServing(cert, key, []);
  const problem = filePairProblem(serving, required, nowMs);
  if (problem !== null || serving.kind !== 'ok') return { kind: 'bad', reason: `${certFile}: ${problem ?? 'unreadable'}` };
  return { kind: 'ok', pair: { cert, key }, serial: serving.value.serial, notAfterMs: serving.value.notAfterMs };
}

export interface FileWatchState {
  /** The last good pair; kept while the files are bad. */
  good: FilePairRead & { kind: 'ok' } | null;
  /** cert + key text of the last read, to skip unchanged files. */
  lastSeen: string | null;
  lastError: string | null;
}

/** Re-read once when the pair is bad: the cert may come from before kubelet's swap and the key from after. */
const SWAP_REREAD_MS = 200;

export type PollOutcome = 'unchanged' | 'changed' | 'bad';

/**
 * One poll: reads the files, and when their content changed since the last poll checks them. A good new
 * pair replaces the kept one ('changed'); a bad one leaves it in place ('bad', with lastError set).
 */
export async function pollFiles(state: FileWatchState, certFile: string, keyFile: string, required: RequiredNames, now: () => number): Promise<PollOutcome> {
  const [cert, key] = await Promise.all([readText(certFile), readText(keyFile)]);
  const seen = JSON.stringify([cert, key]);
  if (seen === state.lastSeen) return 'unchanged';
  let read = await readFilePair(certFile, keyFile, required, now());
  if (read.kind === 'bad' && state.lastSeen !== null) {
    await new Promise((r) => setTimeout(r, SWAP_REREAD_MS));
    read = await readFilePair(certFile, keyFile, required, now());
  }
  state.lastSeen = read.kind === 'ok' ? JSON.stringify([read.pair.cert, read.pair.key]) : seen;
  if (read.kind === 'bad') {
    state.lastError = read.reason;
    return 'bad';
  }
  state.lastError = null;
  if (state.good && state.good.pair.cert === read.pair.cert && state.good.pair.key === read.pair.key) return 'unchanged';
  state.good = read;
  return 'changed';
}
