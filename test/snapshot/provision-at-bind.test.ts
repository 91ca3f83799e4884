// provisionAtBind, what snapshot mode and the what-if do in place of VolumeBinding's PreBind and the
// provisioner: a PV per unbound local claim on the node's VG, dated after the node's report, in both
// views of the VG's free space; and in snapshot mode a gang's held members get theirs when the barrier
// releases them.

import { describe, expect, it } from 'vitest';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { vgFreeBytes } from '../../src/core/lvm.js';
import { ClusterState } from '../../src/core/state.js';
import { loadSnapshotObjects, provisionAtBind } from '../../src/extender/snapshot.js';
import { ANNOTATION_ALIBABA_STORAGE_TOPOLOGY } from '../../src/wire/keys.js';
import { MiB, makeLocalStorageClass, makeNode, makePod, makePvc } from '../support/builders.js';
import { post, testExtender } from '../support/extender.js';

const AT = '2026-11-21T00:00:00Z';
const AT_MS = Date.parse(AT);

function stateWith(objects: Record<string, unknown>[]): ClusterState {
  const state = new ClusterState(defaultCoreConfig());
  loadSnapshotObjects(state, [makeLocalStorageClass(), ...objects]);
  return state;
}
const free = (state: ClusterState, node: string) => vgFreeBytes(state, state.nodes.get(node)!, 'volumegroup1', AT_MS, new Set())?.freeBytes;

describe('provisionAtBind', () => {
  it('binds each unbound local claim to a new PV on the node, dated after the report even at the report\'s own time', () => {
    const pod = makePod('app').pvc('a').pvc('b').pvc('nfs').pvc('done').build();
    const state = stateWith([
      makeNode('edge-a').localStorage().vg('volumegroup1', 200 * MiB, 100 * MiB, AT).build(),
      makePvc('a', '30Mi'), makePvc('b', '20Mi'), makePvc('nfs', '1Gi', { sc: 'standard' }), makePvc('done', '5Mi', { volumeName: 'pv-elsewhere' }), pod,
    ]);
    expect(free(state, 'edge-a')).toBe(100 * MiB);
    const made = provisionAtBind(state, 'uid-app', 'edge-a', AT_MS);
    expect(made.map((m) => [m.claim, m.bytes, m.pv])).toEqual([['default/a', 30 * MiB, 'pvc-pvc-uid-a'], ['default/b', 20 * MiB, 'pvc-pvc-uid-b']]);
    expect(state.pvs.get('pvc-pvc-uid-a')).toMatchObject({ nodeName: 'edge-a', vgName: 'volumegroup1', claimKey: 'default/a', creationMs: AT_MS + 1 });
    expect(state.pvcs.get('default/nfs')?.volumeName).toBe('');
    expect(state.pvcs.get('default/done')?.volumeName).toBe('pv-elsewhere');
    // The report said 100Mi free; the two PVs are newer than it.
    expect(free(state, 'edge-a')).toBe(50 * MiB);
    // Once bound, nothing more to do.
    expect(provisionAtBind(state, 'uid-app', 'edge-a', AT_MS)).toEqual([]);
  });

  it('a node whose capacity has no time or free figure (csi-local-plugin topology) counts the PV in its ledger', () => {
    const topo = JSON.stringify([{ type: 'lvm', name: 'volumegroup1', capacity: 100 * MiB }]);
    const state = stateWith([makeNode('edge-a').localStorage().annotate(ANNOTATION_ALIBABA_STORAGE_TOPOLOGY, topo).build(), makePvc('a', '60Mi'), makePod('app').pvc('a').build()]);
    provisionAtBind(state, 'uid-app', 'edge-a', AT_MS);
    expect(free(state, 'edge-a')).toBe(40 * MiB);
  });

  it('never reuses a PV name', () => {
    const state = stateWith([makeNode('edge-a').localStorage().vg('volumegroup1', 200 * MiB, 200 * MiB, AT).build(), makePvc('a', '1Mi'), makePod('app').pvc('a').build()]);
    state.setPv({ name: 'pvc-pvc-uid-a', storageClassName: 'other', capacityBytes: 0, nodeName: '', claimKey: '', creationMs: 0, vgName: '' });
    expect(provisionAtBind(state, 'uid-app', 'edge-a', AT_MS)[0]?.pv).toBe('pvc-pvc-uid-a-2');
  });
});

describe('snapshot mode: a gang with local claims', () => {
  it('held members get their volumes when the last one arrives; a pod filtered after sees them taken', async () => {
    const member = (name: string, c: string) => makePod(name).cpu('100m').group('trainer', 2).pvc(c);
    const t = testExtender([
      makeLocalStorageClass(), makeNode('edge-a').localStorage().vg('volumegroup1', 100 * MiB, 100 * MiB, AT).build(),
      makePvc('t0', '40Mi'), makePvc('t1', '40Mi'), makePvc('x', '30Mi'),
    ], { nowIso: '2026-11-21T00:00:10Z' });
    const pods = [member('t-0', 't0').build(), member('t-1', 't1').build()];
    for (const p of pods) await post(t, 'filter', { Pod: p, NodeNames: ['edge-a'] });
    for (const p of pods) expect((await post(t, 'filter', { Pod: p, NodeNames: ['edge-a'] })).json.NodeNames).toEqual(['edge-a']);
    const bind = (p: Record<string, any>) => post(t, 'bind', { PodName: p.metadata.name, PodNamespace: 'default', PodUID: p.metadata.uid, Node: 'edge-a' });
    const first = bind(pods[0]!);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.gang.heldCount()).toBe(1);
    expect((await bind(pods[1]!)).json).toEqual({ Error: '' });
    expect((await first).json).toEqual({ Error: '' });
    expect([...t.state.pvs.values()].map((pv) => [pv.claimKey, pv.nodeName])).toEqual([['default/t0', 'edge-a'], ['default/t1', 'edge-a']]);
    expect(t.state.reservationCount()).toBe(0);
    const late = makePod('late').cpu('100m').pvc('x').build();
    expect((await post(t, 'filter', { Pod: late, NodeNames: ['edge-a'] })).json.FailedNodes).toEqual({ 'edge-a': 'local-lvm: volumegroup1: requested 30Mi, free 20Mi' });
  });
});
