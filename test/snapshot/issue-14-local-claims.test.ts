// Issue 14: several local claims in the offline what-if. One node whose VolumeGroup has 100Mi free,
// two pods each with its own 60Mi csi-local-lvm claim: the second must stay Pending with the VG's
// numbers, in snapshot mode (the real process over HTTP, and the same assembly in memory) and in
// `decide` (the CLI process). The files are written as a new user would, into a temp dir.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotObjects } from '../../src/extender/snapshot.js';
import { expandWorkload } from '../../src/extender/workloads.js';
import { startExtenderProcess, type ExtenderProcess } from '../support/extender-process.js';
import { post, testExtender } from '../support/extender.js';

const run = promisify(execFile);

const NODE_AND_CLASS = `apiVersion: v1
kind: List
items:
- apiVersion: storage.k8s.io/v1
  kind: StorageClass
  metadata: {name: csi-local-lvm}
  provisioner: localplugin.csi.alibabacloud.com
  parameters: {vgName: volumegroup1}
  volumeBindingMode: WaitForFirstConsumer
- apiVersion: v1
  kind: Node
  metadata:
    name: edge-a
    labels: {alibabacloud.com/edge-enable-localstorage: "true"}
    annotations:
      edge-gang.io/vg-capacity: '{"version":1,"node":"edge-a","updatedAt":"2026-11-21T00:00:00Z","vgs":[{"name":"volumegroup1","sizeBytes":209715200,"freeBytes":104857600,"pvs":[]}],"refused":[]}'
  status:
    allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
`;

const claim = (name: string, size: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: default}
spec:
  storageClassName: csi-local-lvm
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: ${size}}}
`;

const pod = (name: string, claimName: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  containers: [{name: main, image: registry.k8s.io/pause:3.10, resources: {requests: {cpu: 100m}}}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: ${claimName}}}]
`;

const CLAIMS = [claim('data-1', '60Mi'), claim('data-2', '60Mi'), claim('data-3', '40Mi')];
const MANIFEST = [...CLAIMS, pod('app-1', 'data-1'), pod('app-2', 'data-2')].join('---\n');
/** Snapshot mode serves only the snapshot: the claims are in it, as `kubectl get ... pvc` would dump them. */
const SNAPSHOT_WITH_CLAIMS = [NODE_AND_CLASS, ...CLAIMS].join('---\n');

const REFUSAL = 'local-lvm: volumegroup1: requested 60Mi, free 40Mi';
const podJson = (name: string, claimName: string) => expandWorkload(snapshotObjects(pod(name, claimName))[0] as Record<string, unknown>)[0];
const filterBody = (name: string, claimName: string) => ({ Pod: podJson(name, claimName), Nodes: null, NodeNames: ['edge-a'] });
const bindBody = (name: string) => ({ PodName: name, PodNamespace: 'default', PodUID: `default-${name}`, Node: 'edge-a' });

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'issue-14-'));
  writeFileSync(join(dir, 'cluster.yaml'), NODE_AND_CLASS);
  writeFileSync(join(dir, 'cluster-with-claims.yaml'), SNAPSHOT_WITH_CLAIMS);
  writeFileSync(join(dir, 'two-pods.yaml'), MANIFEST);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('issue 14: decide (npm run cli -- decide)', () => {
  it('binds the first pod and its claim to edge-a; the second stays Pending with the VG numbers', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/cmd/cli.ts', 'decide', '--snapshot', join(dir, 'cluster.yaml'), '--manifest', join(dir, 'two-pods.yaml')]);
    expect(stdout).toMatch(/pod default\/app-1: bound to edge-a\n/);
    expect(stdout).toMatch(/volume\s+default\/data-1: 60Mi provisioned on edge-a volumegroup1/);
    expect(stdout).toContain(`pod default/app-2: stays Pending: 0/1 nodes are available: 1 ${REFUSAL}\n`);
    expect(stdout).toMatch(new RegExp(`failed\\s+edge-a\\s+${REFUSAL}`));
    expect(stdout).not.toMatch(/app-2: bound/);
  });

  it('--json says the same', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/cmd/cli.ts', 'decide', '--snapshot', join(dir, 'cluster.yaml'), '--manifest', join(dir, 'two-pods.yaml'), '--json']);
    const out = JSON.parse(stdout);
    expect(out.pods.map((p: any) => p.boundTo)).toEqual(['edge-a', '']);
    expect(out.pods[0].volumes).toEqual([{ claim: 'default/data-1', node: 'edge-a', vg: 'volumegroup1', bytes: 60 * 2 ** 20, pv: 'pvc-default-data-1' }]);
    expect(out.pods[1].nodes).toEqual([{ node: 'edge-a', verdict: 'failed', reason: REFUSAL }]);
    expect(out.pods[1].reason).toBe(`0/1 nodes are available: 1 ${REFUSAL}`);
  });
});

describe('issue 14: snapshot mode (npm start -- --snapshot), over HTTP', () => {
  let ext: ExtenderProcess;
  beforeAll(async () => {
    ext = await startExtenderProcess(['--snapshot', join(dir, 'cluster-with-claims.yaml')]);
  });
  afterAll(async () => {
    await ext?.stop();
  });
  const call = async (verb: string, body: unknown) => {
    const res = await fetch(`${ext.base}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return (await res.json()) as any;
  };

  it('filter, bind pod 1; then pod 2 fails edge-a with the VG numbers, and a 40Mi claim still fits', async () => {
    expect((await call('filter', filterBody('app-1', 'data-1'))).NodeNames).toEqual(['edge-a']);
    expect(await call('bind', bindBody('app-1'))).toEqual({ Error: '' });
    const second = await call('filter', filterBody('app-2', 'data-2'));
    expect(second).toEqual({ Nodes: null, NodeNames: [], FailedNodes: { 'edge-a': REFUSAL }, FailedAndUnresolvableNodes: {}, Error: '' });
    // Exactly 60Mi went: the 40Mi left fit a 40Mi claim.
    expect((await call('filter', filterBody('app-3', 'data-3'))).NodeNames).toEqual(['edge-a']);
  });
});

describe('issue 14: snapshot mode in memory (createExtenderApp with objects)', () => {
  it('the bound pod keeps its claim on the VG; a bind of the second pod is refused as well', async () => {
    const t = testExtender(snapshotObjects(SNAPSHOT_WITH_CLAIMS), { nowIso: '2026-11-21T00:00:30Z' });
    expect((await post(t, 'filter', filterBody('app-1', 'data-1'))).json.NodeNames).toEqual(['edge-a']);
    expect((await post(t, 'bind', bindBody('app-1'))).json).toEqual({ Error: '' });
    const pvc = t.state.pvcs.get('default/data-1');
    expect(pvc?.volumeName).toBe('pvc-default-data-1');
    expect(t.state.pvs.get('pvc-default-data-1')).toMatchObject({ nodeName: 'edge-a', vgName: 'volumegroup1', capacityBytes: 60 * 2 ** 20, claimKey: 'default/data-1' });
    expect(t.state.reservationCount()).toBe(0);
    expect((await post(t, 'filter', filterBody('app-2', 'data-2'))).json.FailedNodes).toEqual({ 'edge-a': REFUSAL });
    const bind2 = await post(t, 'bind', bindBody('app-2'));
    expect(bind2.json.Error).toContain(`does not fit edge-a: ${REFUSAL}`);
  });
});
