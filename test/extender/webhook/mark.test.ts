// The webhook's pure rules: which pods get the mark (markDecision), the patch that adds it (markPatch),
// and the cache lookup (stateLookup, defaultClassOf).

import { ANNOTATION_DEFAULT_STORAGE_CLASS } from '../../../src/wire/keys.js';
import { describe, expect, it } from 'vitest';
import { escapePointer, markDecision, markPatch, mutatePod } from '../../../src/extender/webhook/mark.js';
import { defaultClassOf, stateLookup } from '../../../src/extender/webhook/lookup.js';
import type { StorageClassModel } from '../../../src/core/model.js';
import { ClusterState } from '../../../src/core/state.js';
import { defaultCoreConfig } from '../../../src/config/extender.js';
import { loadSnapshotObjects } from '../../../src/extender/snapshot.js';
import { makeLocalStorageClass, makePod, makePvc } from '../../support/builders.js';
import { applyPatch, cacheLookup, mapLookup, markOf, otherStorageClass } from './helpers.js';

type Obj = Record<string, any>;

const LOCAL = mapLookup({ pvcs: { 'default/local': 'csi-local-lvm', 'default/ebs': 'gp3', 'default/none': null }, classes: { 'csi-local-lvm': true, gp3: false }, defaultClass: 'csi-local-lvm' });

function ephemeral(name: string, storageClassName?: string): Obj {
  const spec: Obj = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
  if (storageClassName !== undefined) spec.storageClassName = storageClassName;
  return { name, ephemeral: { volumeClaimTemplate: { spec } } };
}
function withVolumes(pod: Obj, volumes: Obj[]): Obj {
  pod.spec.volumes = [...(pod.spec.volumes ?? []), ...volumes];
  return pod;
}

describe('markDecision', () => {
  const cases: Array<{ rule: string; pod: Obj; lookup?: ReturnType<typeof mapLookup>; mark: boolean; why: string; reason?: RegExp }> = [
    { rule: 'marks a gang member', pod: makePod('w-0').group('tf', 2).build(), mark: true, why: 'gang', reason: /pod group 'default\/tf'/ },
    { rule: 'does not mark a pod whose group label is empty', pod: makePod('w-0').label('pod-group.scheduling.sigs.k8s.io/name', '').build(), mark: false, why: 'plain' },
    { rule: 'marks a pod with a local-LVM PVC', pod: makePod('p').pvc('local').build(), mark: true, why: 'local-claim', reason: /claim 'default\/local' has local-LVM StorageClass 'csi-local-lvm'/ },
    { rule: 'does not mark a pod with a PVC of another class', pod: makePod('p').pvc('ebs').build(), mark: false, why: 'plain' },
    { rule: 'does not mark a pod with a class-less PVC', pod: makePod('p').pvc('none').build(), mark: false, why: 'plain' },
    { rule: 'marks a pod whose PVC is not in the cache, and says so', pod: makePod('p').pvc('later').build(), mark: true, why: 'unknown-claim', reason: /claim 'default\/later' is not in the cache yet/ },
    { rule: 'a known local claim outranks an unknown one in the reason', pod: makePod('p').pvc('later').pvc('local').build(), mark: true, why: 'local-claim' },
    { rule: 'marks a pod with an ephemeral volume of a local class', pod: withVolumes(makePod('p').build(), [ephemeral('scratch', 'csi-local-lvm')]), mark: true, why: 'local-claim', reason: /ephemeral volume 'scratch'/ },
    { rule: 'marks a pod with an ephemeral volume of the default class when that is local', pod: withVolumes(makePod('p').build(), [ephemeral('scratch')]), mark: true, why: 'local-claim', reason: /default class/ },
    { rule: 'does not mark a gang member of a scheduler the extender does not serve (the mark would strand it)', pod: makePod('g').group('g', 2).scheduler('other-scheduler').build(), lookup: LOCAL, mark: false, why: 'other-scheduler', reason: /scheduler 'other-scheduler', which this extender does not serve/ },
    { rule: 'marks a gang member of a served secondary scheduler', pod: makePod('g').group('g', 2).scheduler('edge-gang-scheduler').build(), lookup: mapLookup({ schedulers: ['edge-gang-scheduler'] }), mark: true, why: 'gang' },
    { rule: 'does not mark an ephemeral volume of the default class when that is not local', pod: withVolumes(makePod('p').build(), [ephemeral('scratch')]), lookup: mapLookup({ classes: { gp3: false }, defaultClass: 'gp3' }), mark: false, why: 'plain' },
    { rule: 'does not mark an ephemeral volume without a class when there is no default', pod: withVolumes(makePod('p').build(), [ephemeral('scratch')]), lookup: mapLookup({ defaultClass: null }), mark: false, why: 'plain' },
    { rule: 'does not mark an ephemeral volume with class "" (no class, never the default)', pod: withVolumes(makePod('p').build(), [ephemeral('scratch', '')]), mark: false, why: 'plain' },
    { rule: 'marks an ephemeral volume of the default class while the default is not known', pod: withVolumes(makePod('p').build(), [ephemeral('scratch')]), lookup: mapLookup({ defaultClass: undefined }), mark: true, why: 'unknown-claim', reason: /default StorageClass, which the cache does not know/ },
    { rule: 'marks a claim whose StorageClass the cache does not know', pod: withVolumes(makePod('p').build(), [ephemeral('scratch', 'new-class')]), mark: true, why: 'unknown-claim', reason: /'new-class', which the cache does not know/ },
    { rule: 'does not mark a plain pod', pod: makePod('p').cpu('1').build(), mark: false, why: 'plain' },
    { rule: 'does not mark a pod with emptyDir and configMap volumes', pod: withVolumes(makePod('p').build(), [{ name: 'tmp', emptyDir: {} }, { name: 'cfg', configMap: { name: 'c' } }]), mark: false, why: 'plain' },
    { rule: 'does not mark a pod that is not an object', pod: 'a string' as unknown as Obj, mark: false, why: 'plain' },
  ];
  for (const c of cases) {
    it(c.rule, () => {
      const d = markDecision(c.pod, c.lookup ?? LOCAL);
      expect({ mark: d.mark, why: d.why }).toEqual({ mark: c.mark, why: c.why });
      if (c.reason) expect(d.reason).toMatch(c.reason);
    });
  }

  it('looks claims up in the namespace it is given (a pod being created may carry none)', () => {
    const pod = makePod('p').pvc('data').build();
    delete pod.metadata.namespace;
    const seen: string[] = [];
    markDecision(pod, { pvcClass: (ns, n) => (seen.push(`${ns}/${n}`), 'gp3'), isLocalClass: () => false, defaultClass: () => null, servesScheduler: () => true }, 'team-a');
    expect(seen).toEqual(['team-a/data']);
  });

  it('keeps a huge group name out of the reason', () => {
    const d = markDecision(makePod('p').group('g'.repeat(1_000_000), 2).build(), LOCAL);
    expect(d.mark).toBe(true);
    expect(d.reason.length).toBeLessThan(200);
  });
});

describe('markPatch', () => {
  const MARK = 'edge-gang.io~1managed';
  const patched = (pod: Obj) => {
    const p = markPatch(pod);
    if (p.kind !== 'patch') throw new Error(`expected a patch, got ${JSON.stringify(p)}`);
    return { ops: p.ops, pod: applyPatch(pod, p.ops) };
  };

  it('adds resources with requests and limits to a container without resources', () => {
    const pod = makePod('p').build();
    delete pod.spec.containers[0].resources;
    const { ops, pod: out } = patched(pod);
    expect(ops).toEqual([{ op: 'add', path: '/spec/containers/0/resources', value: { requests: { 'edge-gang.io/managed': '1' }, limits: { 'edge-gang.io/managed': '1' } } }]);
    expect(markOf(out)).toEqual({ requests: '1', limits: '1' });
  });

  it('adds the missing requests object next to existing limits, and the key into limits', () => {
    const pod = makePod('p').build();
    pod.spec.containers[0].resources = { limits: { memory: '1Gi' } };
    const { ops, pod: out } = patched(pod);
    expect(ops).toEqual([
      { op: 'add', path: '/spec/containers/0/resources/requests', value: { 'edge-gang.io/managed': '1' } },
      { op: 'add', path: `/spec/containers/0/resources/limits/${MARK}`, value: '1' },
    ]);
    expect(out.spec.containers[0].resources.limits.memory).toBe('1Gi');
  });

  it('adds only the keys into existing requests and limits, keeping the user\'s values', () => {
    const pod = makePod('p').cpu('250m').mem('64Mi').gpu(1).build();
    const { ops, pod: out } = patched(pod);
    expect(ops.map((o) => o.path)).toEqual([`/spec/containers/0/resources/requests/${MARK}`, `/spec/containers/0/resources/limits/${MARK}`]);
    expect(out.spec.containers[0].resources).toEqual({
      requests: { cpu: '250m', memory: '64Mi', 'edge-gang.io/managed': '1' },
      limits: { 'nvidia.com/gpu': '1', 'edge-gang.io/managed': '1' },
    });
  });

  it('escapes / as ~1 and ~ as ~0 in the JSON pointer', () => {
    expect(escapePointer('edge-gang.io/managed')).toBe('edge-gang.io~1managed');
    expect(escapePointer('a~b/c')).toBe('a~0b~1c');
  });

  it('completes a half mark (requests only) with the limit', () => {
    const pod = makePod('p').build();
    pod.spec.containers[0].resources = { requests: { 'edge-gang.io/managed': '1' } };
    const { ops, pod: out } = patched(pod);
    expect(ops).toEqual([{ op: 'add', path: '/spec/containers/0/resources/limits', value: { 'edge-gang.io/managed': '1' } }]);
    expect(markOf(out)).toEqual({ requests: '1', limits: '1' });
  });

  it('gives no ops to a pod that already carries the mark (re-invocation)', () => {
    const once = patched(makePod('p').cpu('1').build()).pod;
    expect(markPatch(once)).toEqual({ kind: 'already-marked' });
  });

  it('reads 1000m as the mark, as the API server would', () => {
    const pod = makePod('p').build();
    pod.spec.containers[0].resources = { requests: { 'edge-gang.io/managed': '1000m' }, limits: { 'edge-gang.io/managed': '1' } };
    expect(markPatch(pod)).toEqual({ kind: 'already-marked' });
  });

  const untouched: Array<{ rule: string; edit: (pod: Obj) => void; reason: RegExp }> = [
    { rule: 'leaves a mark the user set to another value', edit: (p) => (p.spec.containers[0].resources = { requests: { 'edge-gang.io/managed': '2' }, limits: { 'edge-gang.io/managed': '2' } }), reason: /requests set edge-gang.io\/managed to '2' itself/ },
    { rule: 'leaves a mark the user set to 500m (not 1)', edit: (p) => (p.spec.containers[0].resources = { limits: { 'edge-gang.io/managed': '500m' } }), reason: /limits set edge-gang.io\/managed to '500m'/ },
    { rule: 'leaves a pod whose other container already requests the mark', edit: (p) => p.spec.containers.push({ name: 'side', resources: { limits: { 'edge-gang.io/managed': '1' } } }), reason: /containers 'side' already requests/ },
    { rule: 'does not patch a pod with no containers', edit: (p) => (p.spec.containers = []), reason: /no containers/ },
    { rule: 'does not patch a pod whose containers field is missing', edit: (p) => delete p.spec.containers, reason: /no containers/ },
  ];
  for (const c of untouched) {
    it(c.rule, () => {
      const pod = makePod('p').build();
      c.edit(pod);
      const p = markPatch(pod);
      expect(p.kind).toBe('not-patched');
      if (p.kind === 'not-patched') expect(p.reason).toMatch(c.reason);
    });
  }

  it('never adds to init containers', () => {
    const pod = makePod('p').build();
    pod.spec.initContainers = [{ name: 'init', image: 'busybox' }];
    const { pod: out } = patched(pod);
    expect(out.spec.initContainers).toEqual([{ name: 'init', image: 'busybox' }]);
  });

  it('says why a gang member that already carries the mark gets no patch', () => {
    const marked = patched(makePod('w').group('g', 2).build()).pod;
    expect(mutatePod(marked, LOCAL)).toMatchObject({ result: 'unchanged', why: 'gang', ops: [], reason: /already carries the mark/ });
  });
});

describe('stateLookup', () => {
  const objects = [makeLocalStorageClass(), otherStorageClass('gp3'), makePvc('local', '1Gi'), makePvc('ebs', '1Gi', { sc: 'gp3' }), makePvc('none', '1Gi', { sc: '' })];

  it('answers a claim\'s class from the cache, null for none, undefined for an unknown claim', () => {
    const { lookup } = cacheLookup(objects);
    expect([lookup.pvcClass('default', 'local'), lookup.pvcClass('default', 'ebs'), lookup.pvcClass('default', 'none'), lookup.pvcClass('default', 'later'), lookup.pvcClass('other', 'local')])
      .toEqual(['csi-local-lvm', 'gp3', null, undefined, undefined]);
  });

  it('calls a class local by name or provisioner, other when cached and neither, unknown when not cached', () => {
    const byProvisioner = makeLocalStorageClass('fast-lvm');
    const { lookup } = cacheLookup([...objects, byProvisioner]);
    expect([lookup.isLocalClass('csi-local-lvm'), lookup.isLocalClass('fast-lvm'), lookup.isLocalClass('gp3'), lookup.isLocalClass('new-class')]).toEqual([true, true, false, undefined]);
  });

  it('has no default class until a StorageClass is flagged default', () => {
    expect(cacheLookup(objects).lookup.defaultClass()).toBeNull();
    expect(cacheLookup(objects, 'gp3').lookup.defaultClass()).toBe('gp3');
  });

  it('reads the default class from the storageclass.kubernetes.io/is-default-class annotation', () => {
    const state = new ClusterState(defaultCoreConfig());
    const annotated = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'std', annotations: { [ANNOTATION_DEFAULT_STORAGE_CLASS]: 'true' } }, provisioner: 'x' };
    loadSnapshotObjects(state, [...objects, annotated]);
    expect(stateLookup(state).defaultClass()).toBe('std');
  });

  it('knows no default class while the informers have not listed', () => {
    const { state } = cacheLookup(objects, 'gp3');
    expect(stateLookup(state, { synced: () => false }).defaultClass()).toBeUndefined();
  });
});

describe('defaultClassOf', () => {
  const sc = (name: string, isDefault: boolean, creationMs: number) => ({ name, provisioner: 'p', vgName: '', waitForFirstConsumer: true, isDefault, creationMs }) as StorageClassModel;
  it('picks the newest of several defaults, then the first by name (as the DefaultStorageClass plugin)', () => {
    expect(defaultClassOf([sc('a', true, 1), sc('b', true, 2), sc('c', false, 3)])).toBe('b');
    expect(defaultClassOf([sc('z', true, 5), sc('y', true, 5)])).toBe('y');
    expect(defaultClassOf([sc('a', false, 1)])).toBeNull();
    expect(defaultClassOf([])).toBeNull();
  });
});
