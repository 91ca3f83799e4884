// PodGroup status write-back (core/gang/podgroup.ts, extender/kube/podgroup-status.ts): the phases of
// scheduler-plugins v0.35 from the extender's own view, a merge patch of only what changed, at most once
// per interval per PodGroup, only for PodGroups whose members this extender serves; and the pieces
// around it (toPodGroup, finished members, the webhook's mark for the label).

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { makeNode, makePod, makePodGroup } from '../support/builders.js';
import { ClusterState } from '../../src/core/state.js';
import { defaultCoreConfig, loadExtenderConfig } from '../../src/config/extender.js';
import { toNode, toPod, toPodGroup } from '../../src/extender/convert.js';
import { podGroupStatus, statusPatch, type PodGroupStatusFields } from '../../src/core/gang/podgroup.js';
import { FinishedMembers, PodGroupStatusWriter, readStatus } from '../../src/extender/kube/podgroup-status.js';
import { markDecision, type MarkLookup } from '../../src/extender/webhook/mark.js';

type Obj = Record<string, any>;
const T0 = Date.parse('2026-11-21T00:05:00Z');
const EMPTY: PodGroupStatusFields = { phase: '', running: 0, succeeded: 0, failed: 0, scheduleStartTime: '' };
const NO_FINISHED = { succeeded: 0, failed: 0 };

function cluster(objs: Obj[]): ClusterState {
  const s = new ClusterState(defaultCoreConfig());
  for (const o of objs) {
    if (o.kind === 'Node') s.setNode(toNode(o)!);
    else if (o.kind === 'Pod') s.setPod(toPod(o)!);
    else s.setPodGroup(toPodGroup(o)!);
  }
  return s;
}
const member = (name: string, opts: { node?: string; phase?: string; scheduler?: string } = {}) => {
  const b = makePod(name).podGroup('pg');
  if (opts.node) b.on(opts.node);
  if (opts.scheduler) b.scheduler(opts.scheduler);
  const o = b.build();
  return opts.phase ? { ...o, status: { phase: opts.phase } } : o;
};

describe('toPodGroup', () => {
  it('reads minMember, scheduleTimeoutSeconds and minResources (cpu in millicores)', () => {
    expect(toPodGroup(makePodGroup('pg', 3, { ns: 'ml', scheduleTimeoutSeconds: 60, minResources: { cpu: '1500m', 'nvidia.com/gpu': '4' } }))).toEqual({
      namespace: 'ml', name: 'pg', uid: 'uid-pg-ml-pg', minMember: 3, scheduleTimeoutSeconds: 60, minResources: { cpu: 1500, 'nvidia.com/gpu': 4 }, creationMs: Date.parse('2026-11-21T00:00:00Z'),
    });
  });
  it('leaves out what is not a whole number, and is null for another kind or no name', () => {
    const odd = { kind: 'PodGroup', metadata: { name: 'x' }, spec: { minMember: '3', scheduleTimeoutSeconds: 1.5 } };
    expect(toPodGroup(odd)).toMatchObject({ namespace: 'default', minMember: 0, scheduleTimeoutSeconds: null, minResources: {} });
    expect(toPodGroup({ kind: 'Pod', metadata: { name: 'x' } })).toBeNull();
    expect(toPodGroup({ kind: 'PodGroup', metadata: {} })).toBeNull();
  });
});

describe('the status from the extender\'s view (scheduler-plugins v0.35 phases)', () => {
  const nodes = [makeNode('n0').build(), makeNode('n1').build()];
  const status = (pods: Obj[], finished = NO_FINISHED, observed = EMPTY) => podGroupStatus(cluster([...nodes, makePodGroup('pg', 2), ...pods]), toPodGroup(makePodGroup('pg', 2))!, finished, observed, T0);

  it('Pending with fewer than minMember members, and with no start time until minMember exist', () => {
    expect(status([member('a')])).toEqual({ phase: 'Pending', running: 0, succeeded: 0, failed: 0, scheduleStartTime: '' });
    expect(status([member('a'), member('b')])).toEqual({ phase: 'Pending', running: 0, succeeded: 0, failed: 0, scheduleStartTime: '2026-11-21T00:05:00Z' });
  });
  it('Pending while partly bound (a barrier releasing), Scheduling once minMember are bound, Running once they run', () => {
    expect(status([member('a', { node: 'n0' }), member('b')]).phase).toBe('Pending');
    expect(status([member('a', { node: 'n0' }), member('b', { node: 'n1' })]).phase).toBe('Scheduling');
    expect(status([member('a', { node: 'n0', phase: 'Running' }), member('b', { node: 'n1', phase: 'Running' })])).toMatchObject({ phase: 'Running', running: 2 });
  });
  it('Finished once minMember succeeded, Failed once one failed and no more can run; both are final', () => {
    expect(status([], { succeeded: 2, failed: 0 })).toMatchObject({ phase: 'Finished', succeeded: 2 });
    expect(status([member('a', { node: 'n0', phase: 'Running' })], { succeeded: 0, failed: 1 })).toMatchObject({ phase: 'Failed', running: 1, failed: 1 });
    const final = { ...EMPTY, phase: 'Finished' as const, succeeded: 2 };
    expect(status([member('a')], NO_FINISHED, final)).toBe(final);
  });
  it('keeps the start time it finds', () => {
    const seen = { ...EMPTY, phase: 'Pending' as const, scheduleStartTime: '2026-01-01T00:00:00Z' };
    expect(status([member('a'), member('b')], NO_FINISHED, seen).scheduleStartTime).toBe('2026-01-01T00:00:00Z');
  });
  it('a patch holds only the fields that differ', () => {
    expect(statusPatch(EMPTY, EMPTY)).toBeNull();
    expect(statusPatch({ ...EMPTY, phase: 'Pending' }, { ...EMPTY, phase: 'Scheduling', running: 0 })).toEqual({ phase: 'Scheduling' });
  });
});

describe('finished members', () => {
  it('counts Succeeded and Failed pods per PodGroup, and forgets them on delete or relist', () => {
    const f = new FinishedMembers();
    f.replace([member('a', { phase: 'Succeeded' }), member('b', { phase: 'Failed' }), makePod('plain').build()]);
    expect(f.of('default/pg')).toEqual({ succeeded: 1, failed: 1 });
    f.upsert(member('c', { phase: 'Succeeded' }));
    f.remove(member('b'));
    expect(f.of('default/pg')).toEqual({ succeeded: 2, failed: 0 });
    f.replace([]);
    expect(f.of('default/pg')).toEqual({ succeeded: 0, failed: 0 });
  });
});

describe('the status writer', () => {
  function writer(objs: Obj[], serves = (n: string) => n === 'default-scheduler') {
    const state = cluster([makeNode('n0').build(), makeNode('n1').build(), ...objs]);
    const now = { ms: T0 };
    const calls: { name: string; body: any }[] = [];
    // The API server answers a merge patch with the whole object: the status as it is after the patch.
    let onServer: Obj = {};
    let answer = (pg: { name: string }, body: any): unknown => {
      onServer = { ...onServer, ...body.status };
      return { metadata: { name: pg.name, namespace: 'default', resourceVersion: String(10 + calls.length) }, status: onServer };
    };
    const w = new PodGroupStatusWriter(state, new FinishedMembers(), {
      intervalMs: 1000, clock: () => now.ms, servesScheduler: serves, logger: pino({ level: 'silent' }),
      patch: async (pg, body) => {
        calls.push({ name: pg.name, body });
        return answer(pg, body);
      },
    });
    return { state, now, calls, w, setAnswer: (f: typeof answer) => { answer = f; } };
  }
  const settle = () => new Promise((r) => setTimeout(r, 5));

  it('writes what changed, once per interval, and nothing while nothing changes', async () => {
    const { state, now, calls, w } = writer([makePodGroup('pg', 2), member('a'), member('b')]);
    w.observe(makePodGroup('pg', 2));
    expect(w.tick()).toBe(1);
    await settle();
    expect(calls[0]).toEqual({ name: 'pg', body: { status: { phase: 'Pending', scheduleStartTime: '2026-11-21T00:05:00Z' } } });
    now.ms += 5000;
    expect(w.tick()).toBe(0);
    state.assumeBound('uid-a', 'n0');
    state.assumeBound('uid-b', 'n1');
    now.ms += 500;
    expect(w.tick()).toBe(1);
    await settle();
    expect(calls[1]!.body).toEqual({ status: { phase: 'Scheduling' } });
    state.setPod(toPod({ ...member('a', { node: 'n0', phase: 'Running' }) })!);
    state.setPod(toPod({ ...member('b', { node: 'n1', phase: 'Running' }) })!);
    now.ms += 100;
    expect(w.tick()).toBe(0);
    now.ms += 1000;
    expect(w.tick()).toBe(1);
    await settle();
    expect(calls[2]!.body).toEqual({ status: { phase: 'Running', running: 2 } });
  });

  it('leaves PodGroups whose members another scheduler places to it', async () => {
    const { calls, w } = writer([makePodGroup('pg', 1), member('a', { scheduler: 'volcano' })]);
    expect(w.tick()).toBe(0);
    await settle();
    expect(calls).toEqual([]);
  });

  it('ignores a watch event older than what it already saw, and retries a failed patch after the interval', async () => {
    const { now, calls, w, setAnswer } = writer([makePodGroup('pg', 1)]);
    setAnswer(() => { throw new Error('conflict'); });
    expect(w.tick()).toBe(1);
    await settle();
    now.ms += 1000;
    setAnswer((pg, body) => ({ metadata: { name: pg.name, namespace: 'default', resourceVersion: '20' }, status: body.status }));
    expect(w.tick()).toBe(1);
    await settle();
    w.observe({ ...makePodGroup('pg', 1), metadata: { name: 'pg', namespace: 'default', resourceVersion: '19' } });
    now.ms += 1000;
    expect(w.tick()).toBe(0);
    expect(calls.map((c) => c.body.status.phase)).toEqual(['Pending', 'Pending']);
  });

  it('reads the status fields as the API carries them', () => {
    expect(readStatus({ status: { phase: 'Running', running: 3, scheduleStartTime: new Date('2026-01-01T00:00:00Z') } })).toEqual({ phase: 'Running', running: 3, succeeded: 0, failed: 0, scheduleStartTime: '2026-01-01T00:00:00Z' });
  });
});

describe('the scheduling-mark webhook', () => {
  const lookup: MarkLookup = { pvcClass: () => undefined, isLocalClass: () => undefined, defaultClass: () => undefined, servesScheduler: (n) => n === 'default-scheduler' };
  it('marks a pod naming a PodGroup, as it marks a pod with the seed labels', () => {
    expect(markDecision(makePod('w-0').podGroup('pg').build(), lookup)).toEqual({ mark: true, why: 'gang', reason: "member of pod group 'default/pg'" });
    expect(markDecision(makePod('w-0').group('pg', 2).build(), lookup)).toEqual({ mark: true, why: 'gang', reason: "member of pod group 'default/pg'" });
    expect(markDecision(makePod('w-0').label('scheduling.x-k8s.io/pod-group', '').build(), lookup)).toMatchObject({ mark: false, why: 'plain' });
  });
});

describe('the flags', () => {
  it('--podgroup-discovery-ms (default 60 s) and --podgroup-status-ms (default 1 s, 0 = no write-back)', () => {
    const dflt = loadExtenderConfig([], {});
    expect(dflt.kind === 'ok' && dflt.config.podGroups).toEqual({ discoveryMs: 60_000, statusMs: 1000 });
    const off = loadExtenderConfig(['--podgroup-status-ms', '0', '--podgroup-discovery-ms', '5000'], {});
    expect(off.kind === 'ok' && off.config.podGroups).toEqual({ discoveryMs: 5000, statusMs: 0 });
    const bad = loadExtenderConfig(['--podgroup-discovery-ms', '10'], {});
    expect(bad).toMatchObject({ kind: 'invalid', errors: ['--podgroup-discovery-ms (EXTENDER_PODGROUP_DISCOVERY_MS) must be an integer from 1000 to 86400000, got "10"'] });
  });
});

