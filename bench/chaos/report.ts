// A chaos run in words: one summary line, the faults by kind with recovery times, every violation.

import { quantile } from '../cluster-util.js';
import type { ChaosResult } from './run.js';

export const percentile = (xs: readonly number[], p: number): number | null => quantile(xs, p / 100);

const ms = (x: number | null) => (x === null ? '–' : `${(x / 1000).toFixed(1)} s`);

export function summary(r: ChaosResult): string {
  const lines = [
    `seed ${r.seed} (${r.setup} setup): ${r.minutes} min, ${r.faults.length} faults, ${r.violations.length} violations, recovery p50 ${ms(r.recoveryP50Ms)} p99 ${ms(r.recoveryP99Ms)}; ` +
      `jobs submitted ${r.workload.submitted}, ran ${r.workload.ran}, deleted ${r.workload.deleted} (${r.workload.deletedPending} while pending), drain ${r.workload.drainS.toFixed(0)} s; ` +
      `longest partly bound gang ${r.checker.maxPartialS.toFixed(0)} s; load ${r.loadAverage.start.map((x) => x.toFixed(2)).join('/')} → ${r.loadAverage.end.map((x) => x.toFixed(2)).join('/')}`,
    ...Object.entries(r.byKind).map(([k, v]) => `  ${k}: ${v.count}, recovery p50 ${ms(v.recoveryP50Ms)} p99 ${ms(v.recoveryP99Ms)}`),
    ...r.violations.map((v) => `  VIOLATION t=${v.atS} s (${v.at}) ${v.invariant}: ${v.detail}`),
  ];
  return lines.join('\n');
}


/** The RESULTS.md section for a set of runs: one line per run, faults by kind over all runs. */
export function markdown(results: readonly ChaosResult[], command: string): string {
  const kinds = new Map<string, number[]>();
  const counts = new Map<string, number>();
  for (const r of results) {
    for (const f of r.faults) {
      counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
      if (f.recoveryMs !== null) kinds.set(f.kind, [...(kinds.get(f.kind) ?? []), f.recoveryMs]);
    }
  }
  const all = results.flatMap((r) => r.faults.map((f) => f.recoveryMs).filter((x): x is number => x !== null));
  const violations = results.reduce((a, r) => a + r.violations.length, 0);
  const lines = [
    `Command: \`${command}\`. Recovery: from the end of a burst of faults (the component back) until a canary gang of 2 and a plain pod are bound (and, after a node-agent fault, its capacity report is fresh again); a burst's time counts for each of its faults.`,
    '',
    '| run | seed | setup | minutes | faults | violations | jobs ran | recovery p50 | recovery p99 | longest partly bound gang | load average start → end |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.map((r, i) => `| ${i + 1} | ${r.seed} | ${r.setup} | ${r.minutes} | ${r.faults.length} | ${r.violations.length} | ${r.workload.ran} | ${ms(r.recoveryP50Ms)} | ${ms(r.recoveryP99Ms)} | ${r.checker.maxPartialS.toFixed(0)} s | ${r.loadAverage.start.map((x) => x.toFixed(1)).join('/')} → ${r.loadAverage.end.map((x) => x.toFixed(1)).join('/')} |`),
    '',
    `All runs: ${results.reduce((a, r) => a + r.faults.length, 0)} faults, ${violations} violations, recovery p50 ${ms(percentile(all, 50))}, p99 ${ms(percentile(all, 99))}.`,
    '',
    '| fault | struck | recovery p50 | recovery p99 |',
    '|---|---:|---:|---:|',
    ...[...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `| ${k} | ${n} | ${ms(percentile(kinds.get(k) ?? [], 50))} | ${ms(percentile(kinds.get(k) ?? [], 99))} |`),
  ];
  const v = results.flatMap((r) => r.violations.map((x) => `- seed ${r.seed}, t=${x.atS} s: ${x.invariant}: ${x.detail}`));
  if (v.length > 0) lines.push('', 'Violations:', ...v);
  return lines.join('\n');
}

/** A results file of bench:chaos: the command, its runs, and notes written after (what a run found). */
export interface ChaosResultsFile {
  command: string;
  results: ChaosResult[];
  notes?: string[];
}

/** The RESULTS.md section of every chaos results file (bench/cluster-report.ts renders it with the rest). */
export function chaosSection(files: readonly ChaosResultsFile[]): string[] {
  if (files.length === 0) return [];
  const L = [
    '## Chaos: random faults while jobs churn (`npm run bench:chaos`)',
    '',
    'What runs, what is checked and what recovery means: README, Reliability ("Chaos"); the code is `bench/chaos/`. ' +
      'A burst\'s recovery time counts once for each of its faults, so a slow burst shows under every kind in it. ' +
      'A kube-scheduler leader killed, or losing its lease while kube-apiserver is down, is replaced only when its lease expires ' +
      '(15 s, the shipped leaseDuration); kube-scheduler exits when it cannot renew, and the chaos supervisor starts it again as kubelet would.',
    '',
  ];
  for (const f of files) {
    L.push(markdown(f.results, f.command), '');
    for (const n of f.notes ?? []) L.push(n, '');
  }
  return L;
}
