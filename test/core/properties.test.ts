// Invariants of STYLE.md that apply to filter/prioritize and local-LVM capacity, over random clusters.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClusterState } from '../../src/core/state.js';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { loadSnapshotObjects } from '../../src/extender/snapshot.js';
import { filterPod, prioritizePod } from '../../src/core/filter.js';
import { vgFreeBytes, vgVerdict, podVolumeNeeds } from '../../src/core/lvm.js';
import { toPod } from '../../src/extender/convert.js';
import type { LvmSteering } from '../../src/core/config.js';
import { MiB, makeLocalStorageClass, makeNode, makePod, makePvc } from '../support/builders.js';

const NOW = Date.parse('2026-11-21T00:01:00Z');
const RUNS = 1000;

interface NodeSpec { local: boolean; hasVg: boolean; sizeMiB: number; freeMiB: number; stale: boolean }

const nodeSpec = fc.record({
  local: fc.boolean(),
  hasVg: fc.boolean(),
  sizeMiB: fc.integer({ min: 1, max: 4096 }),
  freeFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  stale: fc.boolean(),
}).map((s): NodeSpec => ({ local: s.local, hasVg: s.hasVg, sizeMiB: s.sizeMiB, freeMiB: Math.floor(s.sizeMiB * s.freeFraction), stale: s.stale && s.local && s.hasVg }));

const cluster = fc.record({
  nodes: fc.array(nodeSpec, { minLength: 1, maxLength: 12 }),
  claimsMiB: fc.array(fc.array(fc.integer({ min: 0, max: 2048 }), { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 12 }),
  steering: fc.constantFrom<LvmSteering>('best-node', 'all-fitting'),
  scoring: fc.constantFrom('binpack' as const, 'spread' as const),
});

function build(c: { nodes: NodeSpec[]; claimsMiB: number[][]; steering: LvmSteering; scoring: 'binpack' | 'spread' }, order?: number[]) {
  const state = new ClusterState(defaultCoreConfig({ lvmSteering: c.steering, scoring: c.scoring }));
  const objs: Record<string, unknown>[] = [makeLocalStorageClass()];
  const names = c.nodes.map((_, i) => `n${i}`);
  c.nodes.forEach((s, i) => {
    let b = makeNode(`n${i}`);
    if (s.local) b = b.localStorage();
    if (s.hasVg) b = b.vg('volumegroup1', s.sizeMiB * MiB, s.freeMiB * MiB, s.stale ? '2026-11-01T00:00:00Z' : '2026-11-21T00:00:00Z');
    objs.push(b.build());
  });
  const pods = c.claimsMiB.map((claims, p) => {
    let pod = makePod(`p${p}`);
    claims.forEach((mib, k) => {
      objs.push(makePvc(`c${p}-${k}`, `${mib}Mi`));
      pod = pod.pvc(`c${p}-${k}`);
    });
    return pod.build();
  });
  loadSnapshotObjects(state, objs);
  const ordered = order ? order.map((i) => names[i % names.length] as string) : names;
  return { state, names: order ? [...new Set(ordered)] : names, pods };
}

describe('filter invariants (fast-check)', () => {
  it('splits its input exactly: passed plus failed keys cover the input, and no node is in two of them', () => {
    fc.assert(fc.property(cluster, fc.array(fc.nat(20), { maxLength: 30 }), (c, extra) => {
      const { state, names, pods } = build(c);
      // Names the cache does not know, and duplicates, are part of the input too.
      const input = [...names, ...extra.map((i) => (i % 3 === 0 ? `ghost-${i}` : `n${i % names.length}`))];
      for (const p of pods) {
        const out = filterPod(state, toPod(p)!, input, NOW, (n) => state.nodes.get(n));
        const parts = [new Set(out.passed), new Set(Object.keys(out.failed)), new Set(Object.keys(out.unresolvable))];
        const all = parts.flatMap((p) => [...p]);
        expect(new Set(all).size).toBe(all.length);
        expect(new Set(all)).toEqual(new Set(input));
        // Names the scheduler sent once come back at most once.
        const once = input.filter((n, i) => input.indexOf(n) === i && input.lastIndexOf(n) === i);
        for (const n of once) expect(out.passed.filter((x) => x === n).length).toBeLessThanOrEqual(1);
      }
    }), { numRuns: RUNS });
  });

  it('never over-commits: pods filtered and bound in turn never exceed a VG', () => {
    fc.assert(fc.property(cluster, (c) => {
      const { state, names, pods } = build({ ...c, steering: 'best-node' });
      const placed = new Map<string, number>();
      for (const p of pods) {
        const pod = toPod(p)!;
        const out = filterPod(state, pod, names, NOW, (n) => state.nodes.get(n));
        const node = out.passed[0];
        if (!node) continue;
        // The scheduler's PreBind marks each claim with the chosen node; that replaces the reservation.
        for (const claim of pod.claimNames) {
          const pvc = state.pvcs.get(`default/${claim}`)!;
          state.setPvc({ ...pvc, selectedNode: node });
          placed.set(node, (placed.get(node) ?? 0) + pvc.requestBytes);
        }
      }
      for (const [node, bytes] of placed) {
        const n = state.nodes.get(node)!;
        const vg = n.capacity!.vgs.get('volumegroup1')!;
        expect(bytes).toBeLessThanOrEqual(Math.min(vg.sizeBytes, vg.reportedFreeBytes ?? vg.sizeBytes));
        expect(vgFreeBytes(state, n, 'volumegroup1', NOW, new Set())!.freeBytes).toBeGreaterThanOrEqual(0);
      }
    }), { numRuns: RUNS });
  });

  it('is monotonic: adding free space to a node never turns a fit into a rejection', () => {
    fc.assert(fc.property(cluster, fc.nat(11), fc.integer({ min: 1, max: 4096 }), (c, which, addMiB) => {
      const before = build(c);
      const i = which % c.nodes.length;
      const grown = c.nodes.map((s, k) => (k === i ? { ...s, sizeMiB: s.sizeMiB + addMiB, freeMiB: s.freeMiB + addMiB } : s));
      const after = build({ ...c, nodes: grown });
      for (const p of before.pods) {
        const pod = toPod(p)!;
        const needs = podVolumeNeeds(before.state, pod);
        if (needs.kind !== 'needs') continue;
        const n = `n${i}`;
        const v1 = vgVerdict(before.state, before.state.nodes.get(n)!, needs, NOW);
        const v2 = vgVerdict(after.state, after.state.nodes.get(n)!, podVolumeNeeds(after.state, pod) as typeof needs, NOW);
        if (v1.kind === 'fits') expect(v2.kind).toBe('fits');
      }
    }), { numRuns: RUNS });
  });

  it('is order-independent: permuting the nodes gives the same decisions, and scores are integers 0..10', () => {
    fc.assert(fc.property(cluster.chain((c) => fc.tuple(fc.constant(c), fc.shuffledSubarray(c.nodes.map((_, i) => i), { minLength: c.nodes.length }))), ([c, perm]) => {
      const a = build(c);
      const b = build(c);
      const permuted = perm.map((i) => `n${i}`);
      for (const p of a.pods) {
        const pod = toPod(p)!;
        const o1 = filterPod(a.state, pod, a.names, NOW, (n) => a.state.nodes.get(n));
        const o2 = filterPod(b.state, pod, permuted, NOW, (n) => b.state.nodes.get(n));
        expect(new Set(o2.passed)).toEqual(new Set(o1.passed));
        expect(o2.failed).toEqual(o1.failed);
        expect(o2.unresolvable).toEqual(o1.unresolvable);
        const s1 = prioritizePod(a.state, pod, a.names, NOW, (n) => a.state.nodes.get(n));
        const s2 = prioritizePod(b.state, pod, permuted, NOW, (n) => b.state.nodes.get(n));
        const m1 = new Map(s1.map((s) => [s.host, s.score]));
        for (const s of s2) {
          expect(Number.isInteger(s.score) && s.score >= 0 && s.score <= 10).toBe(true);
          expect(s.score).toBe(m1.get(s.host));
        }
      }
    }), { numRuns: RUNS });
  });
});
