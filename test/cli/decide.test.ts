// `edge-gang decide` in memory (decideWhatIf, and runDecide on files in a temp dir): a bound pod's
// local claims are provisioned on its node and count against the VG for the pods after it (issue 14),
// for claims from the manifest, a StatefulSet's volumeClaimTemplates and generic ephemeral volumes; a
// claim with a volume pins the pods that use it; a gang member has its volumes from the moment it
// reaches bind (PreBind runs before the barrier).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { decideWhatIf, runDecide } from '../../src/cli/decide.js';
import { UsageError } from '../../src/cli/args.js';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { MiB, makeLocalStorageClass, makeNode, makePod, makePv, makePvc } from '../support/builders.js';

type Obj = Record<string, any>;

const AT = '2026-11-21T00:00:00Z';
const core = defaultCoreConfig();
const edge = (name: string, sizeMiB: number, freeMiB = sizeMiB) => makeNode(name).localStorage().vg('volumegroup1', sizeMiB * MiB, freeMiB * MiB, AT).build();
const cluster = (...nodes: Obj[]): Obj[] => [makeLocalStorageClass(), ...nodes];
const app = (name: string, ...claims: string[]) => {
  const b = makePod(name).cpu('100m');
  for (const c of claims) b.pvc(c);
  return b.manifest() as Obj;
};
const claim = (name: string, size: string) => makePvc(name, size);

describe('decideWhatIf', () => {
  it('the issue: one VG with 100Mi free, two 60Mi claims; the second pod stays Pending with the VG numbers', () => {
    const w = decideWhatIf(core, cluster(edge('edge-a', 100)), [claim('data-1', '60Mi'), claim('data-2', '60Mi'), app('app-1', 'data-1'), app('app-2', 'data-2')]);
    expect(w.pods.map((p) => p.boundTo)).toEqual(['edge-a', '']);
    expect(w.pods[0]?.volumes).toEqual([{ claim: 'default/data-1', node: 'edge-a', vg: 'volumegroup1', bytes: 60 * MiB, pv: 'pvc-pvc-uid-data-1' }]);
    expect(w.pods[1]?.nodes).toEqual([{ node: 'edge-a', verdict: 'failed', reason: 'local-lvm: volumegroup1: requested 60Mi, free 40Mi' }]);
    expect(w.pods[1]?.reason).toBe('0/1 nodes are available: 1 local-lvm: volumegroup1: requested 60Mi, free 40Mi');
    expect(w.state.pvcs.get('default/data-1')).toMatchObject({ volumeName: 'pvc-pvc-uid-data-1', selectedNode: 'edge-a' });
  });

  it('fills two nodes claim by claim, sums a pod\'s claims on one VG, and leaves what fits nowhere Pending', () => {
    const w = decideWhatIf(core, cluster(edge('edge-a', 100), edge('edge-b', 150)), [
      claim('a', '60Mi'), claim('b', '60Mi'), claim('c1', '40Mi'), claim('c2', '40Mi'), claim('d', '60Mi'),
      app('p-a', 'a'), app('p-b', 'b'), app('p-c', 'c1', 'c2'), app('p-d', 'd'),
    ]);
    // binpack: each pod goes to the VG it leaves fullest.
    expect(w.pods.map((p) => p.boundTo)).toEqual(['edge-a', 'edge-b', 'edge-b', '']);
    expect(w.pods[3]?.nodes.map((n) => n.reason)).toEqual(['local-lvm: volumegroup1: requested 60Mi, free 40Mi', 'local-lvm: volumegroup1: requested 60Mi, free 10Mi']);
  });

  it('counts the report view too: PVs made at bind are newer than the report', () => {
    // 1Gi VG, 100Mi free by the report (other LVs): the ledger alone would say 1Gi.
    const w = decideWhatIf(core, cluster(edge('edge-a', 1024, 100)), [claim('data-1', '60Mi'), claim('data-2', '60Mi'), app('app-1', 'data-1'), app('app-2', 'data-2')]);
    expect(w.pods.map((p) => p.boundTo)).toEqual(['edge-a', '']);
    expect(w.pods[1]?.nodes[0]?.reason).toBe('local-lvm: volumegroup1: requested 60Mi, free 40Mi');
  });

  it('a StatefulSet\'s volumeClaimTemplates: one claim per replica, each counted', () => {
    const sts = {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default' },
      spec: {
        replicas: 3,
        template: { spec: { containers: [{ name: 'db', image: 'x', resources: { requests: { cpu: '100m' } } }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'csi-local-lvm', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '60Mi' } } } }],
      },
    };
    const w = decideWhatIf(core, cluster(edge('edge-a', 100), edge('edge-b', 100)), [sts]);
    expect(w.pods.map((p) => [p.pod, p.boundTo])).toEqual([['default/db-0', 'edge-a'], ['default/db-1', 'edge-b'], ['default/db-2', '']]);
    expect(w.pods.flatMap((p) => p.volumes.map((v) => v.claim))).toEqual(['default/data-db-0', 'default/data-db-1']);
  });

  it('generic ephemeral volumes: the claim <pod>-<volume> from the template', () => {
    const pod = (name: string) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: {
        containers: [{ name: 'c', image: 'x' }],
        volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { storageClassName: 'csi-local-lvm', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '60Mi' } } } } } }],
      },
    });
    const w = decideWhatIf(core, cluster(edge('edge-a', 100)), [pod('e-1'), pod('e-2')]);
    expect(w.pods.map((p) => p.boundTo)).toEqual(['edge-a', '']);
    expect(w.pods[0]?.volumes.map((v) => v.claim)).toEqual(['default/e-1-scratch']);
  });

  it('a claim with a volume pins its pods: a shared claim, and one the snapshot has provisioned already', () => {
    const w = decideWhatIf(
      core,
      cluster(edge('edge-a', 100), edge('edge-b', 100), makePv('pv-old', '10Mi', 'edge-b', { claim: 'old' }), makePvc('old', '10Mi', { volumeName: 'pv-old' })),
      [claim('shared', '10Mi'), app('first', 'shared'), app('second', 'shared'), app('reuser', 'old')],
    );
    // binpack sends `first` to edge-b (pv-old makes it the fuller); without the pin the other two, whose
    // claims have volumes, would tie at score 0 and go to edge-a by name.
    expect(w.pods.map((p) => p.boundTo)).toEqual(['edge-b', 'edge-b', 'edge-b']);
    expect(w.pods[1]?.nodes).toContainEqual({ node: 'edge-a', verdict: 'scheduler', reason: 'volume node affinity conflict: claim default/shared is bound to pvc-pvc-uid-shared on edge-b' });
    expect(w.pods[1]?.volumes).toEqual([]);
    expect(w.pods[2]?.nodes).toContainEqual({ node: 'edge-a', verdict: 'scheduler', reason: 'volume node affinity conflict: claim default/old is bound to pv-old on edge-b' });
  });

  it('claims of other classes are not provisioned, and count against no VG', () => {
    const w = decideWhatIf(core, cluster(edge('edge-a', 100)), [makePvc('nfs', '1Gi', { sc: 'standard' }), claim('l', '60Mi'), app('a', 'nfs', 'l'), claim('l2', '40Mi'), app('b', 'l2')]);
    expect(w.pods.map((p) => p.boundTo)).toEqual(['edge-a', 'edge-a']);
    expect(w.pods[0]?.volumes.map((v) => v.claim)).toEqual(['default/l']);
    expect(w.state.pvcs.get('default/nfs')?.volumeName).toBe('');
  });

  it('a gang member has its volumes once it reaches bind; the barrier releases them all', () => {
    const member = (name: string, c: string) => makePod(name).cpu('100m').group('trainer', 2).pvc(c).manifest() as Obj;
    const w = decideWhatIf(core, cluster(edge('edge-a', 100), edge('edge-b', 100)), [claim('t0', '60Mi'), claim('t1', '60Mi'), claim('x', '60Mi'), member('t-0', 't0'), member('t-1', 't1'), app('late', 'x')]);
    const [t0, t1, late] = w.pods;
    expect(t0?.volumes).toHaveLength(1);
    expect(t0?.releasedBy).toBe('default/t-1');
    expect(new Set([t0?.boundTo, t1?.boundTo])).toEqual(new Set(['edge-a', 'edge-b']));
    expect(late?.boundTo).toBe('');
    expect(late?.reason).toBe('0/2 nodes are available: 2 local-lvm: volumegroup1: requested 60Mi, free 40Mi');
  });
});

describe('runDecide on files', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'decide-'));
    writeFileSync(join(dir, 'cluster.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items: cluster(edge('edge-a', 100)) }));
    // The manifest as a List as well: kubectl prints one.
    writeFileSync(join(dir, 'two.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items: [claim('data-1', '60Mi'), claim('data-2', '60Mi'), app('app-1', 'data-1'), app('app-2', 'data-2')] }));
    writeFileSync(join(dir, 'none.yaml'), stringify(claim('data-1', '60Mi')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const decide = (...args: string[]) => {
    let out = '';
    const code = runDecide(['--snapshot', join(dir, 'cluster.yaml'), ...args], (s) => (out += s));
    return { code, out };
  };

  it('prints the provisioned volume under the bound pod and the Pending summary for the other', () => {
    const { code, out } = decide('--manifest', join(dir, 'two.yaml'));
    expect(code).toBe(0);
    expect(out).toContain('pod default/app-1: bound to edge-a\n  passed        edge-a               fits\n  volume        default/data-1: 60Mi provisioned on edge-a volumegroup1 (pvc-pvc-uid-data-1)\n');
    expect(out).toContain('pod default/app-2: stays Pending: 0/1 nodes are available: 1 local-lvm: volumegroup1: requested 60Mi, free 40Mi\n');
  });

  it('--json carries volumes and reason per pod', () => {
    const out = JSON.parse(decide('--manifest', join(dir, 'two.yaml'), '--json').out);
    expect(out.pods.map((p: any) => [p.boundTo, p.volumes.length, p.reason])).toEqual([['edge-a', 1, ''], ['', 0, '0/1 nodes are available: 1 local-lvm: volumegroup1: requested 60Mi, free 40Mi']]);
  });

  it('a manifest without pods is a usage error; an extender flag is passed on', () => {
    expect(() => decide('--manifest', join(dir, 'none.yaml'))).toThrow(UsageError);
    expect(() => decide('--manifest', join(dir, 'two.yaml'), '--scoring', 'sideways')).toThrow(/--scoring must be binpack or spread/);
  });
});
