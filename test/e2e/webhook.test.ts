// Issue 12 end to end: the scheduling-mark webhook registered on the real kube-apiserver over real TLS
// (its caBundle patched by the extender's own certificate manager), the shipped scheduler configuration
// with managedResources, and the extender as a child process so it can be killed with SIGKILL.
//
//  - while the extender (and so the webhook) is down, plain pods keep binding: kube-scheduler never
//    calls it for them;
//  - marked gang and local-LVM pods wait and bind once it is back: never a partial gang, no VG over-commit;
//  - each webhook rule behaves as the MutatingWebhookConfiguration documents while it is unreachable:
//    gang members and local ephemeral volumes are refused (Fail), other claims pass unmarked (Ignore).

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, StorageV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { freePort, httpGet } from '../../src/localcluster/net.js';
import { GiB, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, listPods, waitFor } from '../../src/localcluster/objects.js';
import { startFakeProvisioner, type FakeProvisioner } from '../../src/localcluster/provisioner.js';
import { REPO_ROOT, SHIPPED_SCHEDULER_CONFIG } from '../../src/localcluster/paths.js';
import { registerLocalWebhook, waitForCaBundle } from '../../src/localcluster/webhook.js';
import { LABEL_LOCAL_STORAGE, RESOURCE_SCHEDULING_MARK } from '../../src/wire/keys.js';
import { GangMonitor } from '../harness/gang-monitor.js';

const NS = 'default';
let cp: ControlPlane;
let core: CoreV1Api;
let provisioner: FakeProvisioner;
let extenderPort = 0;
let webhookArgs: string[] = [];
let child: ChildProcess | null = null;

const marked = (p: V1Pod) => p.spec?.containers?.[0]?.resources?.limits?.[RESOURCE_SCHEDULING_MARK] === '1';
const boundNames = async (selector?: string) => (await listPods(core, NS, selector)).filter((p) => p.spec?.nodeName).map((p) => p.metadata?.name ?? '');

async function startExtender(): Promise<void> {
  const log = openSync(join(cp.logsDir, 'extender.log'), 'a');
  try {
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/extender.ts', '--kubeconfig', cp.kubeconfigPath, '--host', '127.0.0.1', '--port', String(extenderPort), '--log-level', 'info', ...webhookArgs], { cwd: REPO_ROOT, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  await waitFor(async () => (await httpGet(`http://127.0.0.1:${extenderPort}/readyz`).catch(() => ({ status: 0 }))).status === 200, 90_000, `extender ready (log ${cp.logsDir}/extender.log)`, 200);
}

async function killExtender(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  child = null;
}

async function createError(pod: V1Pod | ReturnType<typeof makePod>): Promise<string> {
  try {
    await createPods(core, [pod]);
    return '';
  } catch (err) {
    return String((err as { body?: unknown }).body ?? (err as Error).message);
  }
}

describe('issue 12: the scheduling-mark webhook and an extender outage', () => {
  beforeAll(async () => {
    cp = await startControlPlane({});
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await ensureStorageClass(cp.kubeConfig.makeApiClient(StorageV1Api));
    extenderPort = await freePort();
    webhookArgs = (await registerLocalWebhook(cp.kubeConfig)).extenderArgs;
    await startExtender();
    await waitForCaBundle(cp.kubeConfig);
    await cp.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: `127.0.0.1:${extenderPort}` });
    provisioner = await startFakeProvisioner(cp.kubeConfig);
  });

  afterAll(async () => {
    await killExtender().catch(() => undefined);
    await provisioner?.stop().catch(() => undefined);
    await cp?.stop();
  });

  it('SIGKILL the extender: plain pods keep binding; marked gang and local-LVM pods wait, then bind all or nothing, without over-commit', async () => {
    await createNodes(core, [0, 1, 2].map((i) => makeNode(`cpu-${i}`).cpu('16')));
    await createNodes(core, [0, 1, 2].map((i) => makeNode(`gpu-${i}`).gpus(2)));
    await createNodes(core, [makeNode('edge-0').label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: 8 * GiB }])]);
    // Marked pods that fit, created while kube-scheduler is stopped so that none is bound before the kill:
    // a gang of 3 needing 2 GPUs each, and a pod with a 5 GiB local-LVM claim.
    await cp.stopScheduler();
    await createPvc(core, makePvc('data-big').storage('5Gi'));
    await createPods(core, [0, 1, 2].map((i) => makePod(`g-${i}`).cpu('100m').gpu(2).group('g', 3)));
    await createPods(core, [makePod('lvm-0').cpu('100m').pvc('data-big')]);
    const markedPods = (await listPods(core, NS)).filter((p) => /^(g-|lvm-)/.test(p.metadata?.name ?? ''));
    expect(markedPods.map((p) => [p.metadata?.name, marked(p)])).toEqual([['g-0', true], ['g-1', true], ['g-2', true], ['lvm-0', true]]);
    const monitor = new GangMonitor(core, NS);
    try {
      await killExtender();
      await cp.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: `127.0.0.1:${extenderPort}` });
      const t0 = Date.now();
      await createPods(core, Array.from({ length: 200 }, (_, i) => makePod(`plain-${i}`).cpu('10m')));
      await waitFor(async () => (await boundNames()).filter((n) => n.startsWith('plain-')).length === 200, 90_000, '200 plain pods bound while the extender is down', 250);
      console.info(`[webhook] 200 plain pods bound in ${Date.now() - t0} ms with the extender killed`);
      // The marked pods wait for the extender (ignorable: false): kube-scheduler retries them with back-off.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await boundNames()).filter((n) => /^(g-|lvm-)/.test(n))).toEqual([]);

      await startExtender();
      await waitFor(async () => (await boundNames()).filter((n) => /^(g-|lvm-)/.test(n)).length === 4, 90_000, 'the gang and the local-LVM pod bound after the restart', 250);
    } finally {
      await monitor.stop();
    }
    console.info(`[webhook] ${monitor.summary()}`);
    expect(monitor.persistent).toEqual([]);
    expect((await core.readNamespacedPod({ name: 'lvm-0', namespace: NS })).spec?.nodeName).toBe('edge-0');
    expect(provisioner.failures).toEqual([]);
  });

  it('while the webhook is unreachable: gang members and local ephemeral volumes are refused, other claims pass unmarked, plain pods never call it', async () => {
    await killExtender();
    const gang = await createError(makePod('down-g-0').cpu('10m').group('down-g', 2));
    expect(gang).toMatch(/failed calling webhook \\?"gang\.mark\.edge-gang\.io\\?"/);
    const ephemeral = makePod('down-eph').cpu('10m').manifest() as any;
    ephemeral.spec.volumes = [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { storageClassName: 'csi-local-lvm', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } }];
    ephemeral.spec.containers[0].volumeMounts = [{ name: 'scratch', mountPath: '/scratch' }];
    expect(await createError(ephemeral as V1Pod)).toMatch(/failed calling webhook \\?"local-ephemeral\.mark\.edge-gang\.io\\?"/);
    await createPvc(core, makePvc('data-small').storage('1Gi'));
    expect(await createError(makePod('down-claim').cpu('10m').pvc('data-small'))).toBe('');
    expect(await createError(makePod('down-plain').cpu('10m'))).toBe('');
    const created = await Promise.all(['down-claim', 'down-plain'].map((name) => core.readNamespacedPod({ name, namespace: NS })));
    expect(created.map(marked)).toEqual([false, false]);
    // Back up: the same gang member is marked at creation again.
    await startExtender();
    expect(await createError(makePod('up-g-0').cpu('10m').group('up-g', 1))).toBe('');
    expect(marked(await core.readNamespacedPod({ name: 'up-g-0', namespace: NS }))).toBe(true);
  });
});
