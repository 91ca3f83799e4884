// A short chaos run (bench/chaos/run.ts) inside `npm test`: two minutes of random faults on every
// component while jobs churn, on the real control plane with two kube-scheduler + extender replicas
// under leader election (and, as root, node-resource-manager on loop devices). A fresh seed every
// time, printed first: CHAOS_SEED=<seed> repeats its fault schedule. `npm run bench:chaos` is the long form.

import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos/run.js';
import { freshSeed } from '../../bench/chaos/schedule.js';
import { summary } from '../../bench/chaos/report.js';

const seed = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : freshSeed();
const MINUTES = Number(process.env.CHAOS_MINUTES ?? '2');

describe('chaos: random faults while jobs churn', () => {
  it(`seed ${seed}: every invariant holds and the cluster recovers after every fault`, async () => {
    process.stdout.write(`chaos seed ${seed} (repeat: CHAOS_SEED=${seed} npx vitest run --project e2e test/e2e/chaos.test.ts, or npm run bench:chaos -- --seed ${seed} --minutes ${MINUTES})\n`);
    const r = await runChaos({ seed, minutes: MINUTES, drainMs: 150_000, log: (l) => process.stdout.write(`  ${l}\n`) });
    process.stdout.write(`${summary(r)}\n`);
    expect(r.faults.length, 'faults struck').toBeGreaterThan(0);
    expect(r.workload.ran, 'jobs that ran').toBeGreaterThan(10);
    expect(r.checker.polls, 'invariant polls').toBeGreaterThan(30);
    expect(r.violations.map((v) => `t=${v.atS} s ${v.invariant}: ${v.detail}`), `seed ${seed}`).toEqual([]);
    expect(r.faults.filter((f) => f.recoveryMs === null).map((f) => f.kind), 'faults without recovery').toEqual([]);
    expect(r.leftLoopDevices, 'loop devices left attached').toEqual([]);
  }, (MINUTES * 60 + 420) * 1000);
});
