import { describe, expect, it } from 'vitest';
import { ClusterState } from '../../src/core/state.js';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { loadSnapshotObjects } from '../../src/extender/snapshot.js';
import { filterPod, prioritizePod } from '../../src/core/filter.js';
import { toPod } from '../../src/extender/convert.js';
import type { CoreConfig } from '../../src/core/config.js';
import { GiB, makeLocalStorageClass, makeNode, makePod, makePv, makePvc } from '../support/builders.js';

const NOW = Date.parse('2026-11-21T00:01:00Z');

function setup(objects: Record<string, unknown>[], core: Partial<CoreConfig> = {}) {
  const state = new ClusterState(defaultCoreConfig({ lvmSteering: 'all-fitting', ...core }));
  loadSnapshotObjects(state, [makeLocalStorageClass(), ...objects]);
  const filter = (pod: Record<string, unknown>, names = [...state.nodes.keys()], now = NOW) =>
    filterPod(state, toPod(pod)!, names, now, (n) => state.nodes.get(n));
  return { state, filter };
}

describe('local LVM capacity', () => {
  it('passes a node whose VG has room for the sum of the pod\'s claims', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', 10 * GiB).build(), makePvc('x', '4Gi'), makePvc('y', '5Gi')]);
    expect(filter(makePod('p').pvc('x').pvc('y').build()).passed).toEqual(['a']);
  });

  it('fails a node when the sum exceeds free, naming both numbers', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', 100 * GiB, 20 * GiB).build(), makePvc('x', '40Gi'), makePvc('y', '20Gi')]);
    expect(filter(makePod('p').pvc('x').pvc('y').build()).failed).toEqual({ a: 'local-lvm: volumegroup1: requested 60Gi, free 20Gi' });
  });

  it('never adds two VolumeGroups together', () => {
    const { filter } = setup([
      makeLocalStorageClass('lvm-b', 'vgb'),
      makeNode('a').localStorage().vg('volumegroup1', 6 * GiB).vg('vgb', 6 * GiB).build(),
      makePvc('x', '8Gi'),
    ]);
    const out = filter(makePod('p').pvc('x').build());
    expect(out.passed).toEqual([]);
    expect(out.unresolvable.a).toMatch(/requested 8Gi, VG size 6Gi/);
  });

  it('sends a node without the VG to FailedAndUnresolvableNodes', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('other', 10 * GiB).build(), makePvc('x', '1Gi')]);
    expect(filter(makePod('p').pvc('x').build()).unresolvable).toEqual({ a: 'local-lvm: VolumeGroup volumegroup1 not found on node (has other)' });
  });

  it('sends a node without the local-storage label to FailedAndUnresolvableNodes', () => {
    const { filter } = setup([makeNode('a').vg('volumegroup1', 10 * GiB).build(), makePvc('x', '1Gi')]);
    expect(filter(makePod('p').pvc('x').build()).unresolvable.a).toMatch(/label alibabacloud.com\/edge-enable-localstorage=true is missing/);
  });

  it('counts provisioned PVs against the VG', () => {
    const { filter } = setup([
      makeNode('a').localStorage().vg('volumegroup1', 10 * GiB, 10 * GiB, '2026-11-21T00:00:00Z').build(),
      makePv('pv-1', '8Gi', 'a', { created: '2026-11-20T00:00:00Z' }),
      makePvc('x', '3Gi'),
    ]);
    expect(filter(makePod('p').pvc('x').build()).failed.a).toBe('local-lvm: volumegroup1: requested 3Gi, free 2Gi');
  });

  it('counts claims with selected-node that are not provisioned yet', () => {
    const { filter } = setup([
      makeNode('a').localStorage().vg('volumegroup1', 10 * GiB).build(),
      makePvc('other', '9Gi', { selectedNode: 'a' }),
      makePvc('x', '2Gi'),
    ]);
    expect(filter(makePod('p').pvc('x').build()).failed.a).toBe('local-lvm: volumegroup1: requested 2Gi, free 1Gi');
  });

  it('does not count the pod\'s own selected claim against itself', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', 10 * GiB).build(), makePvc('x', '9Gi', { selectedNode: 'a' })]);
    expect(filter(makePod('p').pvc('x').build()).passed).toEqual(['a']);
  });

  it('takes the smaller of the ledger and the reported free space', () => {
    // Something outside Kubernetes used 7Gi of the VG: the report shows it, the ledger cannot.
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', 10 * GiB, 3 * GiB).build(), makePvc('x', '4Gi')]);
    expect(filter(makePod('p').pvc('x').build()).failed.a).toBe('local-lvm: volumegroup1: requested 4Gi, free 3Gi');
  });

  it('fails a node whose capacity report is stale', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', 10 * GiB, 10 * GiB, '2026-11-20T00:00:00Z').build(), makePvc('x', '1Gi')]);
    expect(filter(makePod('p').pvc('x').build()).failed.a).toMatch(/capacity report is stale/);
  });

  it('ignores claims that are already bound (their PV pins the node)', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', GiB).build(), makePvc('x', '50Gi', { volumeName: 'pv-x' })]);
    expect(filter(makePod('p').pvc('x').build())).toMatchObject({ kind: 'plain', passed: ['a'] });
  });

  it('passes every node at once for a pod with no local volumes', () => {
    const { filter } = setup([makeNode('a').build(), makeNode('b').build()]);
    expect(filter(makePod('p').build())).toEqual({ kind: 'plain', passed: ['a', 'b'], failed: {}, unresolvable: {} });
  });

  it('fails every node while a claim is not in the cache yet', () => {
    const { filter } = setup([makeNode('a').localStorage().vg('volumegroup1', GiB).build()]);
    expect(filter(makePod('p').pvc('late').build()).failed.a).toMatch(/default\/late is not in the extender's cache yet/);
  });
});

describe('best-node steering and reservations', () => {
  const objs = () => [
    makeNode('a').localStorage().vg('volumegroup1', 10 * GiB).build(),
    makeNode('b').localStorage().vg('volumegroup1', 10 * GiB, 6 * GiB).build(),
    makePvc('x', '5Gi'), makePvc('y', '5Gi'), makePvc('z', '5Gi'),
  ];

  it('passes only the binpack choice and says why the others were not passed', () => {
    const { filter } = setup(objs(), { lvmSteering: 'best-node' });
    const out = filter(makePod('p1').pvc('x').build());
    expect(out.passed).toEqual(['b']);
    expect(out.failed.a).toBe('local-lvm: has room; volumes reserved on b (binpack)');
  });

  it('reserves at filter so pods filtered back to back never share free bytes', () => {
    const { filter, state } = setup(objs(), { lvmSteering: 'best-node' });
    expect(filter(makePod('p1').pvc('x').build()).passed).toEqual(['b']);
    expect(filter(makePod('p2').pvc('y').build()).passed).toEqual(['a']);
    const third = filter(makePod('p3').pvc('z').build());
    expect(third.passed).toEqual(['a']);
    expect(filter(makePod('p4').pvc('x').uid('uid-p1').build()).passed).toEqual(['b']); // p1 again: its own reservation is not counted
    expect(state.reservationCount()).toBe(3);
  });

  it('releases a reservation when it expires', () => {
    const { filter, state } = setup(objs(), { lvmSteering: 'best-node', reservationTtlMs: 1000 });
    filter(makePod('p1').pvc('x').build());
    state.expireReservations(NOW + 1000);
    expect(state.reservationCount()).toBe(0);
  });

  it('spread picks the emptiest VG', () => {
    const { filter } = setup(objs(), { lvmSteering: 'best-node', scoring: 'spread' });
    expect(filter(makePod('p1').pvc('x').build()).passed).toEqual(['a']);
  });
});

describe('prioritize', () => {
  it('binpack scores the fuller VG higher; spread the emptier', () => {
    const objs = [
      makeNode('a').localStorage().vg('volumegroup1', 10 * GiB).build(),
      makeNode('b').localStorage().vg('volumegroup1', 10 * GiB, 6 * GiB).build(),
      makePvc('x', '5Gi'),
    ];
    for (const [scoring, expected] of [['binpack', [5, 9]], ['spread', [5, 1]]] as const) {
      const { state } = setup(objs, { scoring });
      const scores = prioritizePod(state, toPod(makePod('p').pvc('x').build())!, ['a', 'b'], NOW, (n) => state.nodes.get(n));
      expect(scores.map((s) => s.score)).toEqual(expected);
    }
  });
});
