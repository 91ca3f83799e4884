// Randomized clusters and gang mixes driven through the HTTP verbs the way kube-scheduler calls
// them (filter, prioritize, then bind asynchronously while later pods are filtered; failed binds
// back off and retry; finished gangs leave). Invariants, checked at every step:
//  - every gang has 0 or at least min-available members bound;
//  - no node is over-committed;
//  - every gang that the planner can place on the empty cluster is eventually bound.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeNode, makePod } from '../support/builders.js';
import { testExtender } from '../support/extender.js';
import { SchedulerSim } from '../support/scheduler-sim.js';
import { ClusterState } from '../../src/core/state.js';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { loadSnapshotObjects } from '../../src/extender/snapshot.js';
import { planPlacement } from '../../src/core/gang/placement.js';
import { toPod } from '../../src/extender/convert.js';

const RUNS = Number(process.env.GANG_DRIVER_RUNS ?? 500);

const nodeArb = fc.record({ gpus: fc.integer({ min: 0, max: 4 }), cpu: fc.integer({ min: 1, max: 8 }) });
const gangArb = fc.record({
  size: fc.integer({ min: 1, max: 5 }),
  minFraction: fc.double({ min: 0.2, max: 1, noNaN: true }),
  gpu: fc.integer({ min: 0, max: 2 }),
  cpu: fc.integer({ min: 0, max: 3 }),
  priority: fc.constantFrom(0, 0, 10),
});
const scenario = fc.record({
  nodes: fc.array(nodeArb, { minLength: 1, maxLength: 5 }),
  gangs: fc.array(gangArb, { minLength: 1, maxLength: 4 }),
  plain: fc.array(fc.record({ gpu: fc.integer({ min: 0, max: 1 }), cpu: fc.integer({ min: 0, max: 2 }) }), { maxLength: 4 }),
  seed: fc.integer(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario) {
  const nodes = s.nodes.map((n, i) => makeNode(`n${i}`).gpus(n.gpus).cpu(String(n.cpu)).build());
  const gangs = s.gangs.map((g, k) => {
    const min = Math.max(1, Math.ceil(g.size * g.minFraction));
    const pods = Array.from({ length: g.size }, (_, i) => {
      let p = makePod(`g${k}-${i}`).group(`g${k}`, min).priority(g.priority).created(new Date(Date.UTC(2026, 10, 21, 0, 0, k)).toISOString());
      if (g.gpu) p = p.gpu(g.gpu);
      if (g.cpu) p = p.cpu(String(g.cpu));
      return p.build();
    });
    return { key: `default/g${k}`, min, pods };
  });
  const plain = s.plain.map((p, i) => {
    let b = makePod(`plain-${i}`);
    if (p.gpu) b = b.gpu(p.gpu);
    if (p.cpu) b = b.cpu(String(p.cpu));
    return b.build();
  });
  return { nodes, gangs, plain };
}

/** Whether the planner places the gang on the empty cluster. */
function fitsAlone(nodes: Record<string, unknown>[], pods: Record<string, unknown>[], min: number): boolean {
  const state = new ClusterState(defaultCoreConfig());
  loadSnapshotObjects(state, nodes);
  return planPlacement(state, pods.map((p) => toPod(p)!), min, '', 0).kind === 'planned';
}

describe('gangs under a scheduler-like driver (fast-check)', () => {
  it('never binds part of a gang, never over-commits, and eventually runs every gang that fits alone', async () => {
    await fc.assert(fc.asyncProperty(scenario, async (s) => {
      const { nodes, gangs, plain } = build(s);
      const t = testExtender(nodes, { gang: { headAfterMs: 5_000 } });
      const sim = new SchedulerSim(t, nodes, { httpTimeoutMs: 30_000, stepMs: 100, backoffMs: 1_000 });
      // Arrival order mixes gangs and plain pods (seeded shuffle).
      const all = [...gangs.flatMap((g) => g.pods), ...plain];
      let seed = s.seed >>> 0;
      for (let i = all.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const j = seed % (i + 1);
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      for (const p of all) sim.addPod(p);
      const ran = new Set<string>();
      const finishAt = new Map<string, number>();
      const start = t.now.ms;
      for (let step = 0; step < 1500; step++) {
        const now = start + step * 100;
        t.now.ms = now;
        t.gang?.tick();
        await sim.cycle(now);
        await sim.settle();
        // Invariant 1: 0 or >= min bound, per gang, as the API server would hold it (the binder's record).
        for (const g of gangs) {
          const bound = g.pods.filter((p) => t.state.pods.get(p.metadata.uid)?.nodeName).length;
          if (bound > 0 && bound < g.min && !ran.has(g.key)) {
            throw new Error(`gang ${g.key} partly bound: ${bound} of ${g.min}\n${sim.log.slice(-10).join('\n')}`);
          }
          if (bound >= g.min && !ran.has(g.key)) {
            ran.add(g.key);
            finishAt.set(g.key, now + 2_000);
          }
        }
        // Invariant 2: no node over-committed by bound pods.
        for (const [name, node] of sim.nodes) {
          let gpu = 0;
          let cpu = 0;
          for (const p of sim.pods.values()) {
            if (t.state.pods.get(p.model.uid)?.nodeName !== name) continue;
            gpu += p.model.requests['nvidia.com/gpu'] ?? 0;
            cpu += p.model.requests.cpu ?? 0;
          }
          expect(gpu).toBeLessThanOrEqual(node.allocatable['nvidia.com/gpu'] ?? 0);
          expect(cpu).toBeLessThanOrEqual(node.allocatable.cpu ?? 0);
        }
        // Plain pods and finished gangs leave after a while (their pods are deleted), freeing room for the rest.
        for (const p of plain) {
          const sp = sim.pods.get(p.metadata.uid);
          if (sp?.boundOn && !finishAt.has(p.metadata.uid)) finishAt.set(p.metadata.uid, now + 2_000);
        }
        for (const [key, at] of finishAt) {
          if (!key.startsWith('default/') && now >= at) {
            finishAt.delete(key);
            sim.deletePod(key);
            continue;
          }
          if (now >= at) {
            finishAt.delete(key);
            for (const p of gangs.find((g) => g.key === key)!.pods) sim.deletePod(p.metadata.uid);
          }
        }
        if (gangs.every((g) => ran.has(g.key) || !fitsAloneCache(g))) break;
      }
      if (process.env.GANG_DRIVER_DEBUG) {
        console.log(JSON.stringify(t.gang!.describe(t.now.ms), null, 1));
        console.log([...sim.pods.values()].map((p) => `${p.model.name}:${p.boundOn || p.assumedOn || '-'}:${p.attempts}`).join(' '));
        console.log(sim.log.slice(-20).join('\n'));
      }
      // Invariant 3: every gang the planner can place on the empty cluster ran.
      for (const g of gangs) if (fitsAloneCache(g)) expect(ran.has(g.key), `gang ${g.key} fits alone but never ran`).toBe(true);

      function fitsAloneCache(g: { key: string; min: number; pods: Record<string, unknown>[] }): boolean {
        const k = `fits:${g.key}`;
        const c = (fitsAloneCache as unknown as Record<string, boolean>)[k];
        if (c !== undefined) return c;
        const v = fitsAlone(nodes, g.pods, g.min);
        (fitsAloneCache as unknown as Record<string, boolean>)[k] = v;
        return v;
      }
    }), { numRuns: RUNS, ...(process.env.GANG_DRIVER_EXAMPLE ? { examples: [[JSON.parse(process.env.GANG_DRIVER_EXAMPLE)]], numRuns: 1 } : {}) });
  }, 600_000);
});
