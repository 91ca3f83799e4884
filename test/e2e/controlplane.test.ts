// Proves the e2e harness: a real etcd + kube-apiserver + kube-scheduler (v1.35) on loopback schedule
// pods onto Node objects, the fake provisioner binds WaitForFirstConsumer claims, and stop() leaves
// nothing running. No skips: without binaries, startControlPlane throws how to build them.

import { SHIPPED_SCHEDULER_CONFIG } from '../../src/localcluster/paths.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, CoreV1Api, StorageV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_SELECTED_NODE, ANNOTATION_VG_CAPACITY, DEFAULT_VG_NAME } from '../../src/wire/keys.js';
import { parseCapacityReport } from '../../src/wire/capacity.js';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { isPidAlive } from '../../src/localcluster/processes.js';
import { GiB, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, forceDeletePods, listPods, waitFor } from '../../src/localcluster/objects.js';
import { startFakeProvisioner, type FakeProvisioner } from '../../src/localcluster/provisioner.js';

const VANILLA_SCHEDULER_CONFIG = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: default-scheduler
`;

describe('local control plane (etcd + kube-apiserver + kube-scheduler, no kubelet)', () => {
  let cp: ControlPlane | undefined;
  let core: CoreV1Api;
  let storage: StorageV1Api;
  let provisioner: FakeProvisioner | undefined;
  const cfgDir = mkdtempSync(join(tmpdir(), 'gang-cp-test-'));
  const plane = (): ControlPlane => {
    if (!cp) throw new Error('control plane did not start');
    return cp;
  };

  beforeAll(async () => {
    const configPath = join(cfgDir, 'vanilla-scheduler.yaml');
    writeFileSync(configPath, VANILLA_SCHEDULER_CONFIG);
    cp = await startControlPlane({ scheduler: { configPath } });
    console.info(`control plane up in ${cp.timings.totalMs} ms`, cp.timings);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    storage = cp.kubeConfig.makeApiClient(StorageV1Api);
  });

  afterAll(async () => {
    await provisioner?.stop();
    await cp?.stop();
    rmSync(cfgDir, { recursive: true, force: true });
  });

  it('binds 5 pods onto 3 Ready nodes within 60 s', async () => {
    await createNodes(core, ['smoke-a', 'smoke-b', 'smoke-c'].map((n) => makeNode(n).cpu('4').mem('8Gi').gpus(4)));
    const started = Date.now();
    await createPods(core, Array.from({ length: 5 }, (_, i) => makePod(`smoke-${i}`).cpu('1').gpu(1).label('test', 'smoke')));
    const pods = await waitFor(async () => {
      const ps = await listPods(core, 'default', 'test=smoke');
      return ps.length === 5 && ps.every((p) => p.spec?.nodeName) ? ps : undefined;
    }, 60_000, '5 pods to get spec.nodeName');
    console.info(`5 pods created and bound in ${Date.now() - started} ms`);
    for (const p of pods) expect(['smoke-a', 'smoke-b', 'smoke-c']).toContain(p.spec?.nodeName);
    expect(cp?.schedulerMetricsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await forceDeletePods(core, 'default', 'test=smoke');
  });

  describe('fake provisioner', () => {
    beforeAll(async () => {
      await ensureStorageClass(storage);
      await createNodes(core, [
        makeNode('lvm-big').capacityReport([{ sizeBytes: 100 * GiB, freeBytes: 50 * GiB }]),
        makeNode('lvm-small').capacityReport([{ sizeBytes: 10 * GiB, freeBytes: 5 * GiB }]),
      ]);
      provisioner = await startFakeProvisioner(plane().kubeConfig, { updateReports: true });
    });

    it('creates a PV on the selected node and binds the claim when the VG has room', async () => {
      await createPvc(core, makePvc('fits').storage('20Gi').selectedNode('lvm-big'));
      const pvc = await waitFor(async () => {
        const c = await core.readNamespacedPersistentVolumeClaim({ name: 'fits', namespace: 'default' });
        return c.status?.phase === 'Bound' ? c : undefined;
      }, 15_000, 'claim fits to be Bound');
      expect(pvc.metadata?.annotations?.['pv.kubernetes.io/bind-completed']).toBe('yes');
      const pv = await core.readPersistentVolume({ name: pvc.spec?.volumeName ?? '' });
      expect(pv.status?.phase).toBe('Bound');
      expect(pv.spec?.claimRef).toMatchObject({ name: 'fits', namespace: 'default', uid: pvc.metadata?.uid });
      expect(pv.spec?.csi?.driver).toBe('localplugin.csi.alibabacloud.com');
      expect(pv.spec?.capacity?.storage).toBe('20Gi');
      expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]).toEqual({
        key: 'kubernetes.io/hostname',
        operator: 'In',
        values: ['lvm-big'],
      });
      // updateReports: the node's report now shows 50 - 20 = 30 GiB free.
      const node = await core.readNode({ name: 'lvm-big' });
      const report = parseCapacityReport(node.metadata?.annotations?.[ANNOTATION_VG_CAPACITY] ?? '');
      expect(report.kind === 'ok' && report.report.vgs.find((v) => v.name === DEFAULT_VG_NAME)?.freeBytes).toBe(30 * GiB);
    });

    it('removes selected-node and records ProvisioningFailed when the VG has no room', async () => {
      await createPvc(core, makePvc('too-big').storage('10Gi').selectedNode('lvm-small'));
      const events = await waitFor(async () => {
        const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=too-big,reason=ProvisioningFailed' });
        return list.items.length > 0 ? list.items : undefined;
      }, 15_000, 'a ProvisioningFailed event on too-big');
      expect(events[0]?.type).toBe('Warning');
      expect(events[0]?.message).toContain(`no room: ${DEFAULT_VG_NAME} requested ${10 * GiB}, free ${5 * GiB}`);
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'too-big', namespace: 'default' });
      expect(pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE]).toBeUndefined();
      expect(pvc.spec?.volumeName).toBeUndefined();
      expect(provisioner?.provisioned.has('default/too-big')).toBe(false);
    });

    it('lets kube-scheduler bind a pod with a WaitForFirstConsumer claim (VolumeBinding PreBind)', async () => {
      await createPvc(core, makePvc('wffc').storage('5Gi'));
      await createPods(core, [makePod('with-claim').cpu('100m').pvc('wffc').nodeSelector({ 'kubernetes.io/hostname': 'lvm-big' })]);
      const pod = await waitFor(async () => {
        const p = await core.readNamespacedPod({ name: 'with-claim', namespace: 'default' });
        return p.spec?.nodeName ? p : undefined;
      }, 60_000, 'pod with-claim to be bound');
      expect(pod.spec?.nodeName).toBe('lvm-big');
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'wffc', namespace: 'default' });
      expect(pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE]).toBe('lvm-big');
      expect(pvc.status?.phase).toBe('Bound');
      await forceDeletePods(core, 'default');
    });

    it('deletes the PV and returns the bytes to the report when the claim is deleted', async () => {
      await core.deleteNamespacedPersistentVolumeClaim({ name: 'fits', namespace: 'default' });
      await waitFor(() => !provisioner?.provisioned.has('default/fits'), 15_000, 'claim fits released');
      const node = await core.readNode({ name: 'lvm-big' });
      const report = parseCapacityReport(node.metadata?.annotations?.[ANNOTATION_VG_CAPACITY] ?? '');
      // 50 GiB at start, wffc still holds 5 GiB.
      expect(report.kind === 'ok' && report.report.vgs[0]?.freeBytes).toBe(45 * GiB);
    });
  });

  it('kube-scheduler accepts the shipped manifests/scheduler/kube-scheduler-config.yaml', async () => {
    await plane().stopScheduler();
    // Nothing listens on the extender address: readiness does not need the extender.
    await plane().startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: '127.0.0.1:9' });
    expect(plane().schedulerMetricsUrl).toBeDefined();
  });

  it('stop() leaves no child process alive', async () => {
    await provisioner?.stop();
    const pids = plane().allPids();
    expect(plane().pids().length).toBeGreaterThanOrEqual(4); // etcd, kube-apiserver, kube-scheduler, reaper
    await plane().stop();
    await plane().stop(); // idempotent
    expect(pids.filter(isPidAlive)).toEqual([]);
    expect(plane().pids()).toEqual([]);
  });
});

describe('control plane with RBAC and token users', () => {
  let cp: ControlPlane | undefined;
  afterAll(async () => {
    await cp?.stop();
  });

  const cfgDir = mkdtempSync(join(tmpdir(), 'gang-cp-test-'));
  afterAll(() => rmSync(cfgDir, { recursive: true, force: true }));

  it('authenticates token users, authorizes by RBAC, and survives an apiserver restart', async () => {
    const configPath = join(cfgDir, 'vanilla-scheduler.yaml');
    writeFileSync(configPath, VANILLA_SCHEDULER_CONFIG);
    // In RBAC mode kube-scheduler runs as system:kube-scheduler (bootstrap ClusterRoles only).
    cp = await startControlPlane({ authorization: 'RBAC', users: [{ name: 'nobody', groups: ['e2e:nobody'] }], scheduler: { configPath } });
    const admin = cp.kubeConfig.makeApiClient(CoreV1Api);
    const nobody = cp.kubeConfigFor('nobody').kubeConfig.makeApiClient(CoreV1Api);
    await createNodes(admin, [makeNode('rbac-a')]);
    await createPods(admin, [makePod('rbac-pod').cpu('1')]);
    await waitFor(async () => (await admin.readNamespacedPod({ name: 'rbac-pod', namespace: 'default' })).spec?.nodeName === 'rbac-a', 30_000, 'rbac-pod bound by a least-privilege scheduler');
    const denied = await nobody.listNode().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(denied).toBeInstanceOf(ApiException);
    expect((denied as ApiException<unknown>).code).toBe(403);

    const t = Date.now();
    await cp.restartApiServer({ signal: 'SIGKILL' }); // a crash; etcd keeps the state
    console.info(`kube-apiserver restarted in ${Date.now() - t} ms`);
    expect((await admin.readNode({ name: 'rbac-a' })).metadata?.name).toBe('rbac-a');

    const pids = cp.allPids();
    await cp.stop();
    expect(pids.filter(isPidAlive)).toEqual([]);
  });
});
