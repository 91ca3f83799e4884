// The chaos run's invariant checker on objects made here: it must see each kind of violation it
// claims to (a checker that cannot fail proves nothing), and stay quiet on a healthy cluster.

import type { CoreV1Api, V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GiB, makeNode, makePod, makePv } from '../../src/localcluster/builders.js';
import type { ChaosCluster } from '../../bench/chaos/cluster.js';
import { InvariantChecker, PARTIAL_BOUND_MS, quantity } from '../../bench/chaos/invariants.js';
import { LABEL_JOB, NAMESPACE, type Job } from '../../bench/chaos/workload.js';

function checker(opts: { inFault?: (now: number) => boolean; deleting?: (job: string) => boolean } = {}) {
  const lines: string[] = [];
  const c = new InvariantChecker({
    core: {} as CoreV1Api,
    cluster: { agentDevices: undefined } as unknown as ChaosCluster,
    seed: 99,
    startedAt: 0,
    inFaultWindow: opts.inFault ?? (() => false),
    isDeleting: opts.deleting ?? (() => false),
    log: (l) => lines.push(l),
  });
  return { c, lines };
}

const node = (name: string) => makeNode(name).cpu(4).mem('8Gi').pods(10).capacityReport([{ sizeBytes: 10 * GiB }]).build();
const member = (name: string, gang: string, min: number, on?: string) => {
  const b = makePod(name).ns(NAMESPACE).group(gang, min).label(LABEL_JOB, gang).cpu('1');
  if (on) b.on(on);
  return b.build();
};
const pv = (name: string, size: string, on: string): V1PersistentVolume => makePv(name, size, on);

describe('chaos invariant checker', () => {
  it('reads quantities as kubectl shows them, and refuses what it cannot read', () => {
    expect(quantity('500m')).toBe(0.5);
    expect(quantity('2')).toBe(2);
    expect(quantity('1Gi')).toBe(GiB);
    expect(quantity('3k')).toBe(3000);
    expect(() => quantity('1Zi')).toThrow(/unknown quantity suffix/);
  });

  it('stays quiet on a cluster within its limits', () => {
    const { c } = checker();
    const pods = [member('a-0', 'a', 2, 'n1'), member('a-1', 'a', 2, 'n1')];
    c.observe(pods, [node('n1')], [pv('v1', '4Gi', 'n1')], 0);
    c.observe(pods, [node('n1')], [pv('v1', '4Gi', 'n1')], 60_000);
    expect(c.violations).toEqual([]);
    expect(c.maxCpuShare).toBe(0.5);
  });

  it('sees a node over-committed and a VG over-committed, once each', () => {
    const { c, lines } = checker();
    const pods = ['x', 'y', 'z', 'w', 'v'].map((n) => makePod(n).ns(NAMESPACE).cpu('1').on('n1').build());
    const pvs = [pv('v1', '6Gi', 'n1'), pv('v2', '6Gi', 'n1')];
    c.observe(pods, [node('n1')], pvs, 0);
    c.observe(pods, [node('n1')], pvs, 1000);
    expect(c.violations.map((v) => v.invariant)).toEqual(['node over-committed', 'VG over-committed']);
    expect(c.violations[0]?.detail).toMatch(/n1: cpu requested 5 > allocatable 4/);
    expect(lines[0]).toMatch(/VIOLATION \(seed 99/);
  });

  it('sees a gang partly bound past the bound, counting only time outside fault windows', () => {
    let faulty = true;
    const { c } = checker({ inFault: () => faulty });
    const pods = [member('g-0', 'g', 3, 'n1'), member('g-1', 'g', 3), member('g-2', 'g', 3)];
    for (let t = 0; t <= PARTIAL_BOUND_MS * 3; t += 1000) c.observe(pods, [node('n1')], [], t);
    expect(c.violations).toEqual([]); // all of it inside a fault window
    faulty = false;
    for (let t = PARTIAL_BOUND_MS * 3 + 1000; t <= PARTIAL_BOUND_MS * 4 + 2000; t += 1000) c.observe(pods, [node('n1')], [], t);
    expect(c.violations.map((v) => v.invariant)).toEqual(['gang partly bound']);
    expect(c.violations[0]?.detail).toMatch(/1 of min-available 3 bound/);
  });

  it('does not count a gang its job is deleting', () => {
    const { c } = checker({ deleting: () => true });
    const pods = [member('g-0', 'g', 2, 'n1'), member('g-1', 'g', 2)];
    for (let t = 0; t <= PARTIAL_BOUND_MS * 2; t += 1000) c.observe(pods, [node('n1')], [], t);
    expect(c.violations).toEqual([]);
  });

  it('at the end: a job that never ran, and a pending pod without a reason', () => {
    const { c } = checker();
    const job: Job = { id: 'g', seq: 1, kind: 'gang', size: 2, min: 2, cpuMilli: 1000, claimGiB: [], createdPods: new Set(), createdClaims: new Set(), submittedAt: 0, lifeMs: 1, deleteWhilePending: false };
    const waiting = member('g-1', 'g', 2);
    waiting.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 gang needs 2 pods' }] };
    c.checkEnd([job], [member('g-0', 'g', 2), waiting]);
    expect(c.violations.map((v) => v.invariant)).toEqual(['job that fits never ran', 'pod without a reason']);
    expect(c.violations[0]?.detail).toMatch(/0 of 2 bound.*gang needs 2 pods/);
    expect(c.violations[1]?.detail).toMatch(/g-0/);
  });
});
