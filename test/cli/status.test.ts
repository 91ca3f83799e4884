// `edge-gang status`: shaping gangs from pods + Events or from /debug/gangs, nodes from capacity reports,
// and the text it prints. The live path (collectStatus against a real API server and extender) runs in
// test/e2e/manifests.test.ts.

import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  formatAge,
  formatBytes,
  freeBar,
  gangsFromExtender,
  gangsFromPods,
  nodesFromNodes,
  renderStatus,
  type ClusterStatus,
} from '../../src/cli/status.js';
import { ANNOTATION_VG_CAPACITY, LABEL_LOCAL_STORAGE, LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME } from '../../src/wire/keys.js';

const GiB = 1024 ** 3;

function pod(name: string, group: string | null, min: string, opts: { node?: string; phase?: string; deleting?: boolean; ns?: string } = {}): V1Pod {
  const labels: Record<string, string> = group === null ? {} : { [LABEL_POD_GROUP_NAME]: group, [LABEL_POD_GROUP_MIN_AVAILABLE]: min };
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'default',
      uid: `uid-${name}`,
      labels,
      ...(opts.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { containers: [], ...(opts.node ? { nodeName: opts.node } : {}) },
    status: { phase: opts.phase ?? 'Pending' },
  };
}

function event(podName: string, reason: string, message: string, at: string, byName = false, resourceVersion = '1') {
  return {
    metadata: { name: `${podName}.${reason}`, namespace: 'default', resourceVersion },
    involvedObject: { kind: 'Pod', namespace: 'default', name: podName, ...(byName ? {} : { uid: `uid-${podName}` }) },
    reason,
    message,
    lastTimestamp: new Date(at),
  };
}

describe('gangs from pods and Events', () => {
  it('counts members seen, bound, and min-available per namespace/name', () => {
    const gangs = gangsFromPods([pod('a-0', 'a', '3', { node: 'n1' }), pod('a-1', 'a', '3'), pod('b-0', 'b', '1', { node: 'n2' }), pod('plain', null, '')], []);
    expect(gangs).toEqual([
      { gang: 'default/a', phase: 'waiting-for-members', members: 2, minAvailable: 3, bound: 1, lastReason: '', lastReasonAt: null },
      { gang: 'default/b', phase: 'running', members: 1, minAvailable: 1, bound: 1, lastReason: '', lastReasonAt: null },
    ]);
  });

  it('leaves finished and deleting pods out, as the extender does', () => {
    const [g] = gangsFromPods([pod('a-0', 'a', '2', { node: 'n', phase: 'Succeeded' }), pod('a-1', 'a', '2', { node: 'n', phase: 'Failed' }), pod('a-2', 'a', '2', { deleting: true }), pod('a-3', 'a', '2')], []);
    expect(g).toMatchObject({ members: 1, bound: 0, phase: 'waiting-for-members' });
  });

  it('a gang whose members disagree on min-available shows ? and phase invalid', () => {
    const [g] = gangsFromPods([pod('a-0', 'a', '2'), pod('a-1', 'a', '3')], []);
    expect(g).toMatchObject({ minAvailable: null, phase: 'invalid' });
  });

  it('applies the extender\'s own gang rules: min-available 0 is invalid, with the core\'s reason', () => {
    const [g] = gangsFromPods([pod('a-0', 'a', '0'), pod('a-1', 'a', '0')], []);
    expect(g).toMatchObject({ minAvailable: null, phase: 'invalid' });
    expect(g!.lastReason).toBe('gang default/a: pod-group.scheduling.sigs.k8s.io/min-available must be at least 1, got 0');
  });

  it('same name in two namespaces is two gangs', () => {
    expect(gangsFromPods([pod('x', 'g', '1'), pod('y', 'g', '1', { ns: 'team' })], []).map((g) => g.gang)).toEqual(['default/g', 'team/g']);
  });

  it('takes the newest gang Event on any member, and ignores other reasons and other pods', () => {
    const [g] = gangsFromPods(
      [pod('a-0', 'a', '2'), pod('a-1', 'a', '2')],
      [
        event('a-0', 'GangWaitingForMembers', 'gang default/a: 1 of 2 members exist', '2025-01-01T00:00:00Z'),
        event('a-1', 'GangUnschedulable', 'gang default/a: needs 4 nvidia.com/gpu for 2 pods, 2 free', '2025-01-01T00:01:00Z'),
        event('a-1', 'FailedScheduling', 'newer but not ours', '2025-01-01T00:05:00Z'),
        event('other', 'GangPlanned', 'another pod', '2025-01-01T00:09:00Z'),
      ],
    );
    expect(g?.lastReason).toBe('GangUnschedulable: gang default/a: needs 4 nvidia.com/gpu for 2 pods, 2 free');
    expect(g?.lastReasonAt?.toISOString()).toBe('2025-01-01T00:01:00.000Z');
  });

  it('within one second (Event time resolution) the later lifecycle step wins, whatever the write order', () => {
    const [g] = gangsFromPods(
      [pod('a-0', 'a', '1')],
      [
        event('a-0', 'GangScheduled', 'bound', '2025-01-01T00:00:00Z', false, '217'),
        event('a-0', 'GangPlanned', 'planned', '2025-01-01T00:00:00Z', false, '218'),
      ],
    );
    expect(g?.lastReason).toBe('GangScheduled: bound');
  });

  it('same second and reason: the later write (resourceVersion) wins', () => {
    const [g] = gangsFromPods(
      [pod('a-0', 'a', '1')],
      [
        event('a-0', 'GangUnschedulable', 'second', '2025-01-01T00:00:00Z', false, '12'),
        event('a-0', 'GangUnschedulable', 'first', '2025-01-01T00:00:00Z', false, '9'),
      ],
    );
    expect(g?.lastReason).toBe('GangUnschedulable: second');
  });

  it('matches an Event without a UID by namespace/name', () => {
    const [g] = gangsFromPods([pod('a-0', 'a', '1')], [event('a-0', 'GangScheduled', 'bound', '2025-01-01T00:00:00Z', true)]);
    expect(g?.lastReason).toBe('GangScheduled: bound');
  });
});

describe('gangs from the extender', () => {
  it('reads GET /debug/gangs', () => {
    const body = { gangs: [{ gang: 'default/tf', phase: 'planned', minAvailable: 5, members: 5, planned: 5, atBarrier: 2, bound: 0, planAgeMs: 1200, lastReason: 'planned on 3 nodes' }] };
    expect(gangsFromExtender(body)).toEqual([{ gang: 'default/tf', phase: 'planned', members: 5, minAvailable: 5, bound: 0, lastReason: 'planned on 3 nodes', lastReasonAt: null }]);
  });

  it('refuses an answer that is not a gang list', () => {
    expect(() => gangsFromExtender({ Error: 'x' })).toThrow(/no gangs list/);
  });
});

describe('nodes from capacity reports', () => {
  const report = (node: string, vgs: { name: string; sizeBytes: number; freeBytes: number }[], refused = 0) =>
    JSON.stringify({
      version: 1,
      node,
      updatedAt: '2025-01-01T00:00:00Z',
      vgs: vgs.map((v) => ({ ...v, pvs: [] })),
      refused: Array.from({ length: refused }, (_, i) => ({ vg: 'vg', device: `/dev/sd${i}`, reason: 'DeviceNotFound', message: 'gone' })),
    });
  const node = (name: string, annotations: Record<string, string> = {}, labels: Record<string, string> = {}) => ({ metadata: { name, annotations, labels } });

  it('one row per reporting node; local-storage nodes without a report are listed; others skipped', () => {
    const nodes = nodesFromNodes([
      node('b', { [ANNOTATION_VG_CAPACITY]: report('b', [{ name: 'volumegroup1', sizeBytes: 100 * GiB, freeBytes: 40 * GiB }], 2) }),
      node('a', {}, { [LABEL_LOCAL_STORAGE]: 'true' }),
      node('c'),
      node('d', { [ANNOTATION_VG_CAPACITY]: '{not json' }),
    ]);
    expect(nodes.map((n) => [n.node, n.report])).toEqual([['a', 'missing'], ['b', 'ok'], ['d', 'invalid']]);
    expect(nodes[1]).toMatchObject({ vgs: [{ name: 'volumegroup1', sizeBytes: 100 * GiB, freeBytes: 40 * GiB }], refused: 2 });
    expect(nodes[2]?.detail).toMatch(/not JSON/);
  });
});

describe('rendering', () => {
  it.each([
    [0, '0B'],
    [512, '512B'],
    [1024, '1Ki'],
    [1.5 * GiB, '1.5Gi'],
    [100 * GiB, '100Gi'],
    [3 * 1024 * GiB, '3Ti'],
  ])('formatBytes(%d) = %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([
    [-5000, '0s'],
    [42_000, '42s'],
    [300_000, '5m'],
    [7_200_000, '2h'],
    [172_800_000, '2d'],
  ])('formatAge(%d) = %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it.each([
    [40, 100, '[########............]  40% free'],
    [0, 100, '[....................]   0% free'],
    [100, 100, '[####################] 100% free'],
    [5, 0, '[....................]   0% free'],
  ])('freeBar(%d, %d)', (free, size, text) => {
    expect(freeBar(free, size)).toBe(text);
  });

  it('prints gangs, VGs with bars and report age, and errors', () => {
    const now = Date.parse('2025-01-01T00:01:00Z');
    const s: ClusterStatus = {
      gangSource: 'cluster',
      gangs: [{ gang: 'default/tf', phase: 'waiting-for-members', members: 3, minAvailable: 5, bound: 0, lastReason: 'GangWaitingForMembers: 3 of 5 members exist', lastReasonAt: new Date('2025-01-01T00:00:30Z') }],
      nodes: [
        { node: 'edge-1', report: 'ok', detail: '', vgs: [{ name: 'volumegroup1', sizeBytes: 100 * GiB, freeBytes: 40 * GiB }, { name: 'vg2', sizeBytes: 10 * GiB, freeBytes: 10 * GiB }], refused: 1, updatedAt: new Date('2025-01-01T00:00:25Z') },
        { node: 'edge-2', report: 'missing', detail: '', vgs: [], refused: 0, updatedAt: null },
        { node: 'edge-3', report: 'invalid', detail: 'capacity report is not JSON: x', vgs: [], refused: 0, updatedAt: null },
      ],
      errors: ['events in team: HTTP 403'],
    };
    expect(renderStatus(s, now)).toBe(
      [
        'GANGS (from pod labels and Events)',
        'GANG        PHASE                SEEN  MIN  BOUND  LAST REASON',
        'default/tf  waiting-for-members  3     5    0      GangWaitingForMembers: 3 of 5 members exist (30s ago)',
        '',
        'VOLUME GROUPS (node annotation edge-gang.io/vg-capacity)',
        'NODE    VG            SIZE   FREE  FREE SPACE                        REPORTED',
        'edge-1  volumegroup1  100Gi  40Gi  [########............]  40% free  35s ago',
        '        vg2           10Gi   10Gi  [####################] 100% free',
        'edge-2  -                          no capacity report',
        'edge-3  -                          invalid report',
        '',
        'edge-1: 1 configured device(s) refused (kubectl describe node edge-1)',
        'edge-3: invalid capacity report: capacity report is not JSON: x',
        '',
        'error: events in team: HTTP 403',
        '',
      ].join('\n'),
    );
  });
});
