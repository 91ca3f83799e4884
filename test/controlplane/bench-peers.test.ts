// The pure parts of the control-plane versions and of bench:cluster's peers: feature-gate flags, the
// version option, the in-tree gang references, the gang timelines and the multi-side report table.

import { describe, expect, it } from 'vitest';
import { featureGateArgs } from '../../src/localcluster/flags.js';
import { DEFAULT_K8S_VERSION, resolveK8sVersion } from '../../src/localcluster/binaries.js';
import { SIDES, inTreePodSpecFields } from '../../bench/cluster-peers.js';
import { summariseExtenderTimeline, watchTimeline } from '../../bench/cluster-timeline.js';
import { renderMarkdown, type Results, type RunResult, type Side } from '../../bench/cluster-report.js';
import { quantile } from '../../bench/cluster-util.js';

describe('control plane versions and gates', () => {
  it('renders feature gates sorted, and nothing for none', () => {
    expect(featureGateArgs({ GenericWorkload: true, GangScheduling: true })).toEqual(['--feature-gates=GangScheduling=true,GenericWorkload=true']);
    expect(featureGateArgs({})).toEqual([]);
    expect(featureGateArgs(undefined)).toEqual([]);
  });

  it('resolves the version: explicit, v-prefixed, default; refuses garbage', () => {
    const saved = process.env.K8S_VERSION;
    delete process.env.K8S_VERSION;
    try {
      expect(resolveK8sVersion('1.37.2')).toBe('1.37.2');
      expect(resolveK8sVersion('v1.37.2')).toBe('1.37.2');
      expect(resolveK8sVersion(undefined)).toBe(DEFAULT_K8S_VERSION);
      expect(() => resolveK8sVersion('latest')).toThrow(/1\.<minor>\.<patch>/);
    } finally {
      if (saved !== undefined) process.env.K8S_VERSION = saved;
    }
  });
});

describe('bench:cluster sides', () => {
  it('puts the gang reference where each API version expects it', () => {
    expect(inTreePodSpecFields(SIDES['gang-1.35'].gangApi, 'g')).toEqual({ workloadRef: { name: 'g', podGroup: 'workers' } });
    expect(inTreePodSpecFields(SIDES['gang-1.37'].gangApi, 'g')).toEqual({ schedulingGroup: { podGroupName: 'g' } });
    expect(inTreePodSpecFields(SIDES.ours.gangApi, 'g')).toEqual({});
  });

  it('runs gang-1.35 and gang-1.37 on their own versions with their gates and APIs', () => {
    expect(SIDES['gang-1.35']).toMatchObject({ k8sVersion: '1.35.4', featureGates: { GenericWorkload: true, GangScheduling: true }, apiServerArgs: ['--runtime-config=scheduling.k8s.io/v1alpha1=true'] });
    expect(SIDES['gang-1.37']).toMatchObject({ k8sVersion: '1.37.2', featureGates: { GenericWorkload: true }, apiServerArgs: ['--runtime-config=scheduling.k8s.io/v1beta1=true'] });
    expect(SIDES['ours-1.37']).toMatchObject({ ours: true, k8sVersion: '1.37.2', featureGates: {} });
  });
});

describe('gang timelines', () => {
  it('nearest-rank quantiles', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([5, 1, 3], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
  });

  it('summarises the watch per gang, relative to scheduler start', () => {
    const t = watchTimeline(new Map([
      ['a', { firstBoundMs: 1100, completedAtMs: 1300 }],
      ['b', { firstBoundMs: 1200, completedAtMs: null }],
      ['c', { firstBoundMs: null, completedAtMs: null }],
    ]), 1000);
    expect(t).toMatchObject({ gangsStarted: 2, gangsComplete: 1, spanP50Ms: 200, allBoundP50Ms: 300 });
    expect(t.perGang).toEqual([['a', 100, 300], ['b', 200, null], ['c', null, null]]);
  });

  it('summarises the extender timeline: plan to first arrival, barrier wait, failed-bind reasons', () => {
    const s = summariseExtenderTimeline({
      nowMs: 0,
      gangs: [
        { gang: 'default/a', firstFilterMs: 100, planMs: 110, plans: 1, arrivalsMs: [150, 130], releasedMs: 400, failedBinds: [] },
        { gang: 'default/b', firstFilterMs: 100, planMs: 200, plans: 2, arrivalsMs: [], releasedMs: null, failedBinds: [{ pod: 'b-1', atMs: 1, reason: 'held 20000 ms' }, { pod: 'b-2', atMs: 2, reason: 'held 20001 ms' }] },
      ],
    }, new Map([['a', { firstBoundMs: 420, completedAtMs: 450 }]]));
    expect(s).toMatchObject({ gangs: 2, planned: 2, plans: 3, released: 1, planToFirstArrivalP50Ms: 20, barrierWaitP50Ms: 270, releaseToAllBoundP50Ms: 50, failedBinds: 2, gangsWithFailedBinds: 1 });
    expect(s.failedBindReasons).toEqual(['2× held N ms']);
  });
});

describe('RESULTS.md with several peers', () => {
  const run = (side: Side, allBoundS: number, completed = true): RunResult => ({
    workload: 'W2', nodes: 100, side, pods: 160, gangs: 20, gangSize: 8, completed,
    setupS: { controlPlane: 0, seed: 0, schedulerStart: 0 }, firstBindS: 0, allBoundS, boundPods: 160,
    throughput: { avg: 100, p50: 100, max: 100, overall: 160 / allBoundS, samples: [] },
    latency: { sliP50: null, sliP99: null, attemptP50: null, attemptP99: null, attemptMean: null },
    scheduleAttempts: {}, cpuS: {}, wallS: allBoundS, schedulerLog: { errors: 0, samples: [] },
  });
  const res = (runs: RunResult[]): Results => ({
    date: '2026-12-02T00:00:00Z', command: 'x', scale: 'small',
    machine: { nproc: 2, memGiB: 8, cpuModel: 'cpu', node: 'v20', loadAvgAtStart: [0, 0, 0] },
    versions: { kubernetes: 'v1.35.4', schedulerPlugins: 'v0.35.4-devel' }, sizes: {}, peerBuild: { cached: true, seconds: 0 }, durationS: 1, runs,
  });

  it('has a column per side, ours / each peer and ours / the best peer (named)', () => {
    const md = renderMarkdown(res([run('ours', 4), run('coscheduling', 2), run('gang-1.35', 1), run('gang-1.37', 3, false)]), 'r.json');
    expect(md).toContain('| metric | ours | coscheduling | gang-1.35 | gang-1.37 | ours / coscheduling | ours / gang-1.35 | ours / gang-1.37 | ours / best peer |');
    // gang-1.37 did not complete: not the best peer, and its own ratio is left out.
    expect(md).toMatch(/\| time to all bound \(s, from scheduler start\) \| 4\.0 \| 2\.0 \| 1\.0 \| 3\.0 \| 2\.00× \| 4\.00× \| – \(incomplete\) \| 4\.00× \(gang-1\.35\) \|/);
  });

  it('keeps the two-side table of older results', () => {
    const md = renderMarkdown(res([run('ours', 4), run('coscheduling', 2)]), 'r.json');
    expect(md).toContain('| metric | ours | coscheduling | ours / coscheduling |\n|---|---:|---:|---:|');
    expect(md).not.toContain('best peer |');
  });
});
