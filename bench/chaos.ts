// npm run bench:chaos -- [--minutes 30] [--seed N] [--runs 1] [--setup default|secondary] [--faults kind,kind] [--drain-s 180] [--out file.json]
//                         --render results.json[,more.json]   (prints the RESULTS.md section of earlier runs)
//
// Random faults while jobs churn, on the local control plane (bench/chaos/run.ts): the seed is printed
// first; pass it back with --seed to strike the same schedule again. With --runs N, N runs one after
// the other, each with a fresh seed (or seed, seed+1, ... when --seed is given). Prints each run's
// faults by kind, recovery p50/p99 and every violation with its seed and moment, writes the results
// to bench/results/chaos-<date>.json (or --out), and exits 1 if any run saw a violation.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { markdown, summary } from './chaos/report.js';
import { runChaos, type ChaosResult } from './chaos/run.js';
import type { ChaosSetup } from './chaos/cluster.js';
import { FAULT_KINDS, freshSeed, type FaultKind } from './chaos/schedule.js';

const ROOT = resolve(import.meta.dirname, '..');

function parse(argv: string[]): { render: string | undefined; minutes: number; seed: number | undefined; runs: number; setup: ChaosSetup | undefined; kinds: FaultKind[] | undefined; drainS: number; out: string | undefined } {
  const known = new Set(['minutes', 'seed', 'runs', 'setup', 'faults', 'drain-s', 'out', 'render']);
  const kv = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (!known.has(key)) throw new Error(`unknown flag --${key} (known: ${[...known].map((k) => `--${k}`).join(' ')})`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`--${key} needs a value`);
    kv.set(key, v);
  }
  const num = (k: string, def: number) => {
    const v = kv.get(k);
    const n = v === undefined ? def : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k}: a non-negative number, got ${v}`);
    return n;
  };
  const kinds = kv.get('faults')?.split(',').map((s) => s.trim()) as FaultKind[] | undefined;
  const bad = kinds?.filter((k) => !FAULT_KINDS.includes(k));
  if (bad && bad.length > 0) throw new Error(`--faults: unknown ${bad.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
  const seed = kv.has('seed') ? num('seed', 0) : undefined;
  const setup = kv.get('setup') as ChaosSetup | undefined;
  if (setup !== undefined && setup !== 'default' && setup !== 'secondary') throw new Error(`--setup: default or secondary, got ${setup}`);
  return { render: kv.get('render'), minutes: num('minutes', 30), seed, setup, runs: Math.max(1, Math.floor(num('runs', 1))), kinds, drainS: num('drain-s', 180), out: kv.get('out') };
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.render !== undefined) {
    // --render a.json,b.json: the RESULTS.md section of earlier runs, printed.
    for (const file of args.render.split(',')) {
      const r = JSON.parse(readFileSync(file, 'utf8')) as { command: string; results: ChaosResult[] };
      process.stdout.write(`${markdown(r.results, r.command)}\n\n`);
    }
    return;
  }
  const results: ChaosResult[] = [];
  for (let i = 0; i < args.runs; i++) {
    const seed = args.seed !== undefined ? args.seed + i : freshSeed();
    process.stdout.write(`chaos run ${i + 1}/${args.runs}: seed ${seed} (repeat with --seed ${seed})\n`);
    const r = await runChaos({ seed, setup: args.setup, minutes: args.minutes, kinds: args.kinds, drainMs: args.drainS * 1000 });
    results.push(r);
    process.stdout.write(`${summary(r)}\n`);
  }
  const out = args.out ?? join(ROOT, 'bench/results', `chaos-${new Date().toISOString().slice(0, 10)}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ command: `npm run bench:chaos -- ${process.argv.slice(2).join(' ')}`, results }, null, 2)}\n`);
  process.stdout.write(`results: ${out}\n`);
  const bad = results.filter((r) => r.violations.length > 0);
  if (bad.length > 0) {
    process.stdout.write(`violations in ${bad.length} run(s): seeds ${bad.map((r) => r.seed).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:chaos: ${err.stack ?? err.message}\n`);
  process.exit(2);
});
