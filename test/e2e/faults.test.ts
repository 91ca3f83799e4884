// Faults on the real control plane (issue 8): etcd + kube-apiserver + kube-scheduler v1.35 with the
// shipped configuration, the fake CSI provisioner, and the extender
//  - as a child process (`node --import tsx src/cmd/extender.ts`) on a fixed port, so it can be
//    killed with SIGKILL or SIGTERM and started again where kube-scheduler expects it;
//  - in-process (createExtenderApp) on the same port for the API-server restart, so its readiness
//    and caches can be watched from here.
//
// How gangs are made to wait at the bind barrier: one member of each gang mounts a
// WaitForFirstConsumer local-LVM claim while the fake provisioner is stopped. kube-scheduler's
// VolumeBinding PreBind writes selected-node and then waits for the claim to be bound, so that
// member never reaches the extender's bind verb, while the other members are held at the barrier.
//
// etcd restarts, kube-scheduler leader failover, the webhook down and faults in a row at random
// moments: test/e2e/chaos.test.ts (bench/chaos).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api, StorageV1Api, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtenderApp, type ExtenderApp } from '../../src/extender/assemble.js';
import { loadExtenderConfig } from '../../src/config/extender.js';
import { parseCapacityReport } from '../../src/wire/capacity.js';
import {
  ANNOTATION_SELECTED_NODE, ANNOTATION_VG_CAPACITY, DEFAULT_VG_NAME, LABEL_LOCAL_STORAGE, LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME,
} from '../../src/wire/keys.js';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { freePort } from '../../src/localcluster/net.js';
import { isPidAlive } from '../../src/localcluster/processes.js';
import { GiB, makeNode, makePod, makePvc, type NodeBuilder, type PodBuilder, type PvcBuilder } from '../../src/localcluster/builders.js';
import {
  createNodes, createPods, createPvc, ensureStorageClass, inBatches, isConflict, isNotFound, listPods, waitFor,
} from '../../src/localcluster/objects.js';
import { GangMonitor } from '../harness/gang-monitor.js';
import { startFakeProvisioner, type FakeProvisioner } from '../../src/localcluster/provisioner.js';
import { parseQuantityBytes } from '../../src/localcluster/quantity.js';
import { SHIPPED_SCHEDULER_CONFIG } from '../../src/localcluster/paths.js';
import { registerLocalWebhook, waitForCaBundle } from '../../src/localcluster/webhook.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const FAULT_LABEL = 'e2e.edge-gang.io/fault';
const BARRIER_TIMEOUT_MS = 20_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fileStart = Date.now();
const durations: { name: string; ms: number }[] = [];
const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

let cp: ControlPlane | undefined;
let core: CoreV1Api;
let storage: StorageV1Api;
let port = 0;
/** The extender's flags for the scheduling-mark webhook (registered once; every extender instance serves it). */
let webhookArgs: string[] = [];
let extenderUrl = '';
let provisioner: FakeProvisioner | undefined;
let child: ChildExtender | undefined;
let inProcess: ExtenderApp | undefined;

const CP = (): ControlPlane => {
  if (!cp) throw new Error('the control plane did not start');
  return cp;
};

// ---------------------------------------------------------------------------------------------
// The extender as a child process: node itself (not npx), so the PID is the extender's.

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class ChildExtender {
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private readonly reaper: ChildProcess;

  private constructor(readonly proc: ChildProcess, readonly logPath: string) {
    this.exited = new Promise<ExitInfo>((res) => {
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        liveChildPids.delete(proc.pid ?? -1);
        try {
          this.reaper.kill('SIGKILL');
        } catch {
          // gone
        }
        res(this.exitInfo);
      });
    });
    // If this test process dies without running its exit hooks, the extender must not outlive it.
    this.reaper = spawn('/bin/sh', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; exit 0', 'faults-reaper', String(process.pid), String(proc.pid)], {
      detached: true,
      stdio: 'ignore',
    });
    this.reaper.unref();
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static start(kubeconfigPath: string, logPath: string): ChildExtender {
    const fd = openSync(logPath, 'a');
    writeFileSync(fd, `\n=== ${new Date().toISOString()} starting extender on port ${port}\n`);
    let proc: ChildProcess;
    try {
      proc = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cmd/extender.ts', '--kubeconfig', kubeconfigPath, '--port', String(port), '--barrier-timeout-ms', String(BARRIER_TIMEOUT_MS), '--log-level', 'info', ...webhookArgs],
        { cwd: REPO_ROOT, stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
    if (proc.pid === undefined) throw new Error('could not spawn the extender');
    liveChildPids.add(proc.pid);
    return new ChildExtender(proc, logPath);
  }

  async waitReady(timeoutMs = 90_000): Promise<void> {
    await waitFor(async () => {
      if (this.exitInfo) throw new Error(`extender exited during start-up (${JSON.stringify(this.exitInfo)}); log ${this.logPath}`);
      return (await get('/readyz')).status === 200;
    }, timeoutMs, 'the extender child process ready (GET /readyz 200)', 200);
  }

  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<ExitInfo> {
    if (!this.exitInfo) {
      this.proc.kill(signal);
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exitInfo as ExitInfo;
  }
}

const liveChildPids = new Set<number>();
process.on('exit', () => {
  for (const pid of liveChildPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

function startChild(): ChildExtender {
  child = ChildExtender.start(CP().kubeconfigPath, join(CP().logsDir, 'extender.log'));
  return child;
}

// ---------------------------------------------------------------------------------------------
// HTTP to the extender; never throws (status 0 when nobody answers).

async function request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  try {
    const r = await fetch(`${extenderUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: r.status, body: parsed };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}
const get = (path: string) => request('GET', path);

interface GangLine {
  gang: string;
  phase: string;
  members: number;
  planned: number;
  atBarrier: number;
  bound: number;
  minAvailable: number | null;
}

async function debugGangs(): Promise<Map<string, GangLine>> {
  const r = await get('/debug/gangs');
  if (r.status !== 200) throw new Error(`GET /debug/gangs: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  return new Map((r.body.gangs as GangLine[]).map((g) => [g.gang, g]));
}

// ---------------------------------------------------------------------------------------------
// Cluster helpers

async function ensureNamespace(name: string): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

const lvmNode = (ns: string, name: string, vgBytes: number): NodeBuilder =>
  makeNode(`${ns}-${name}`).label(FAULT_LABEL, ns).label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: vgBytes }]);
const bound = (pods: V1Pod[]) => pods.filter((p) => p.spec?.nodeName);
const pending = (pods: V1Pod[]) => pods.filter((p) => !p.spec?.nodeName);

/** Per gang: members, bound, min-available, from the API. */
async function gangCounts(ns: string): Promise<Map<string, { members: number; bound: number; min: number }>> {
  const out = new Map<string, { members: number; bound: number; min: number }>();
  for (const p of await listPods(core, ns)) {
    const name = p.metadata?.labels?.[LABEL_POD_GROUP_NAME];
    if (!name) continue;
    const g = out.get(name) ?? { members: 0, bound: 0, min: Number(p.metadata?.labels?.[LABEL_POD_GROUP_MIN_AVAILABLE] ?? '0') };
    g.members++;
    if (p.spec?.nodeName) g.bound++;
    out.set(name, g);
  }
  return out;
}

const partlyBound = (counts: Map<string, { bound: number; min: number }>) =>
  [...counts].filter(([, g]) => g.bound > 0 && g.bound < g.min).map(([n, g]) => `${n}: ${g.bound} of ${g.min}`);

async function pausedProvisioner(): Promise<void> {
  const p = provisioner;
  provisioner = undefined;
  await p?.stop();
}

async function resumeProvisioner(): Promise<FakeProvisioner> {
  provisioner ??= await startFakeProvisioner(CP().kubeConfig, { updateReports: true });
  return provisioner;
}

async function selectedNodeOf(ns: string, claim: string): Promise<string | undefined> {
  const c = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ns });
  return c.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
}

/** Removes a test's pods (pending first); claims and nodes stay (every test has its own). */
async function removePods(ns: string): Promise<void> {
  const pods = await listPods(core, ns);
  for (const batch of [pending(pods), bound(pods)]) {
    await inBatches(batch, 20, async (p) => {
      try {
        await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: ns, gracePeriodSeconds: 0 });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }
}

async function timed(name: string, ns: string, body: () => Promise<void>): Promise<void> {
  const t = Date.now();
  await ensureNamespace(ns);
  try {
    await body();
  } finally {
    await removePods(ns).catch((err: Error) => console.warn(`[faults] cleanup of ${ns}: ${err.message}`));
    durations.push({ name, ms: Date.now() - t });
    console.info(`[faults] ${name}: ${since(t)}`);
  }
}

// ---------------------------------------------------------------------------------------------

describe('issue 8: faults on the real control plane', () => {
  beforeAll(async () => {
    const t = Date.now();
    cp = await startControlPlane({});
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    storage = cp.kubeConfig.makeApiClient(StorageV1Api);
    port = await freePort();
    extenderUrl = `http://127.0.0.1:${port}`;
    await ensureStorageClass(storage);
    webhookArgs = (await registerLocalWebhook(cp.kubeConfig)).extenderArgs;
    const ext = startChild();
    await ext.waitReady();
    await waitForCaBundle(cp.kubeConfig);
    await cp.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: `127.0.0.1:${port}` });
    await resumeProvisioner();
    console.info(`[faults] control plane + extender (pid ${ext.pid}, ${extenderUrl}) + kube-scheduler up in ${since(t)}; logs in ${cp.logsDir}`);
  });

  afterAll(async () => {
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        console.warn(`[faults] stop ${what}: ${(err as Error).message}`);
      }
    };
    if (cp) await step('kube-scheduler', () => CP().stopScheduler({ graceMs: 2000 }));
    if (child) await step('extender child', () => (child as ChildExtender).stop('SIGTERM'));
    if (inProcess) await step('in-process extender', () => (inProcess as ExtenderApp).close());
    await step('provisioner', () => pausedProvisioner());
    if (cp) await step('control plane', () => CP().stop());
    console.info(['[faults] durations:', ...durations.map((d) => `  ${d.name}: ${(d.ms / 1000).toFixed(1)} s`), `  file total: ${since(fileStart)}`].join('\n'));
  });

  it('1. kill -9 of the extender while gangs wait at the bind barrier: never partly bound; all gangs that fit bind after a restart', async () => {
    const ns = 'f1-kill';
    await timed('1 SIGKILL at the barrier', ns, async () => {
      await createNodes(core, [0, 1, 2, 3].map((i) => lvmNode(ns, `n${i}`, 10 * GiB)));
      await pausedProvisioner(); // the claim members wait in VolumeBinding PreBind
      const sel = { [FAULT_LABEL]: ns };
      const member = (gang: string, i: number, min: number, cpu: string): PodBuilder => makePod(`${gang}-${i}`).ns(ns).cpu(cpu).group(gang, min).nodeSelector(sel);
      const claims: PvcBuilder[] = [makePvc('a-data').ns(ns).storage('1Gi'), makePvc('b-data').ns(ns).storage('1Gi')];
      for (const c of claims) await createPvc(core, c);
      // gang-a: 4 of 4, gang-b: 3 of 3, each with one claim member; gang-c never fits (12 CPUs a member, 8 a node).
      await createPods(core, [
        ...[0, 1, 2].map((i) => member('gang-a', i, 4, '1')), member('gang-a', 3, 4, '1').pvc('a-data'),
        ...[0, 1].map((i) => member('gang-b', i, 3, '1')), member('gang-b', 2, 3, '1').pvc('b-data'),
        ...[0, 1, 2].map((i) => member('gang-c', i, 3, '12')),
      ]);
      const monitor = new GangMonitor(core, ns, 200);
      try {
        const t = Date.now();
        const atBarrier = await waitFor(async () => {
          const g = await debugGangs();
          const a = g.get(`${ns}/gang-a`);
          const b = g.get(`${ns}/gang-b`);
          if (a?.atBarrier !== 3 || b?.atBarrier !== 2) return undefined;
          if (!(await selectedNodeOf(ns, 'a-data')) || !(await selectedNodeOf(ns, 'b-data'))) return undefined;
          return { a, b };
        }, 90_000, 'gang-a 3 and gang-b 2 members at the barrier, their claim members in PreBind', 200);
        console.info(`[f1] at the barrier after ${since(t)}: gang-a ${JSON.stringify(atBarrier.a)}, gang-b ${JSON.stringify(atBarrier.b)}`);

        const victim = child as ChildExtender;
        const exit = await victim.stop('SIGKILL');
        const killedAt = Date.now();
        expect(exit.signal).toBe('SIGKILL');
        expect(isPidAlive(victim.pid)).toBe(false);
        const atKill = await gangCounts(ns);
        console.info(`[f1] SIGKILL pid ${victim.pid}; gangs at that instant: ${JSON.stringify(Object.fromEntries(atKill))}`);
        expect(partlyBound(atKill)).toEqual([]);
        for (const g of ['gang-a', 'gang-b', 'gang-c']) expect(atKill.get(g)?.bound).toBe(0);

        // Nobody binds while the extender is down (it is the binder); the held requests failed.
        await sleep(6000);
        const down = await gangCounts(ns);
        for (const g of ['gang-a', 'gang-b', 'gang-c']) expect(down.get(g)?.bound, `${g} while the extender is down`).toBe(0);
        expect(CP().pids().length).toBeGreaterThan(0);

        const restarted = startChild();
        await restarted.waitReady();
        console.info(`[f1] extender restarted (pid ${restarted.pid}) and ready ${since(killedAt)} after the kill: ${JSON.stringify([...(await debugGangs()).values()].map((g) => [g.gang, g.phase, g.atBarrier]))}`);
        await sleep(1000);
        await resumeProvisioner(); // the claim members may now leave PreBind
        const resumed = Date.now();
        await waitFor(async () => {
          const c = await gangCounts(ns);
          return c.get('gang-a')?.bound === 4 && c.get('gang-b')?.bound === 3;
        }, 120_000, 'gang-a and gang-b fully bound after the restart', 250);
        console.info(`[f1] gang-a and gang-b fully bound ${since(resumed)} after the provisioner resumed (${since(killedAt)} after the kill)`);
        await sleep(2000);
        const end = await gangCounts(ns);
        expect(end.get('gang-a')?.bound).toBe(4);
        expect(end.get('gang-b')?.bound).toBe(3);
        expect(end.get('gang-c')?.bound).toBe(0);
        expect(partlyBound(end)).toEqual([]);
        // The claim members sit on their volumes' nodes.
        for (const [pod, claim] of [['gang-a-3', 'a-data'], ['gang-b-2', 'b-data']] as const) {
          const p = await core.readNamespacedPod({ name: pod, namespace: ns });
          expect(p.spec?.nodeName).toBe(await selectedNodeOf(ns, claim));
        }
      } finally {
        await monitor.stop();
      }
      console.info(`[f1] ${monitor.summary()}`);
      expect(monitor.polls).toBeGreaterThan(20);
      expect(monitor.persistent).toEqual([]);
    });
  });

  it('3. graceful restart of the extender while a gang plan exists and nothing is bound: the gang still binds, all together', async () => {
    const ns = 'f3-graceful';
    await timed('3 SIGTERM with a plan', ns, async () => {
      await createNodes(core, [0, 1].map((i) => lvmNode(ns, `n${i}`, 10 * GiB)));
      await pausedProvisioner(); // every member waits in PreBind: a plan, nothing at the barrier, nothing bound
      for (let i = 0; i < 3; i++) await createPvc(core, makePvc(`d-data-${i}`).ns(ns).storage('1Gi'));
      await createPods(core, [0, 1, 2].map((i) => makePod(`gang-d-${i}`).ns(ns).cpu('1').group('gang-d', 3).pvc(`d-data-${i}`).nodeSelector({ [FAULT_LABEL]: ns })));
      const monitor = new GangMonitor(core, ns, 200);
      try {
        const t = Date.now();
        const line = await waitFor(async () => {
          const d = (await debugGangs()).get(`${ns}/gang-d`);
          if (d?.planned !== 3 || d.bound !== 0) return undefined;
          for (let i = 0; i < 3; i++) if (!(await selectedNodeOf(ns, `d-data-${i}`))) return undefined;
          return d;
        }, 90_000, 'gang-d planned, every member in PreBind', 200);
        console.info(`[f3] plan after ${since(t)}: ${JSON.stringify(line)}`);
        expect(line.atBarrier).toBe(0);

        const exit = await (child as ChildExtender).stop('SIGTERM');
        const stoppedAt = Date.now();
        expect(exit).toEqual({ code: 0, signal: null });
        expect((await gangCounts(ns)).get('gang-d')?.bound).toBe(0);

        const restarted = startChild();
        await restarted.waitReady();
        expect((await debugGangs()).get(`${ns}/gang-d`)?.planned ?? 0).toBe(0); // the plan died with the process
        await resumeProvisioner();
        await waitFor(async () => (await gangCounts(ns)).get('gang-d')?.bound === 3, 120_000, 'gang-d fully bound after the restart', 250);
        console.info(`[f3] gang-d fully bound ${since(stoppedAt)} after the graceful stop`);
      } finally {
        await monitor.stop();
      }
      console.info(`[f3] ${monitor.summary()}`);
      expect(monitor.persistent).toEqual([]);
    });
  });

  it('2. kube-apiserver restart mid-run: readiness 503 and verbs refuse while it is down, 200 after relist; everything that fits binds, no over-commit', async () => {
    const ns = 'f2-apiserver';
    await timed('2 kube-apiserver restart', ns, async () => {
      // The extender in-process from here on, on the port kube-scheduler calls.
      await (child as ChildExtender).stop('SIGTERM');
      child = undefined;
      const cfg = loadExtenderConfig(['--host', '127.0.0.1', '--port', String(port), '--barrier-timeout-ms', String(BARRIER_TIMEOUT_MS), ...webhookArgs], {});
      if (cfg.kind !== 'ok') throw new Error(cfg.errors.join('; '));
      const logger = pino({ level: 'info', base: { component: 'extender' } }, pino.destination({ dest: join(CP().logsDir, 'extender-inprocess.log'), sync: true }));
      const ext = createExtenderApp(cfg.config, logger, { kubeConfig: CP().kubeConfig });
      inProcess = ext;
      await ext.listen();
      await waitFor(() => ext.readiness().ready, 60_000, 'in-process extender ready', 100);
      const prov = await resumeProvisioner();
      const failuresBefore = prov.failures.length;

      const VG = 4 * GiB;
      const CPUS = 4;
      const nodeNames = [0, 1, 2].map((i) => `${ns}-n${i}`);
      await createNodes(core, [0, 1, 2].map((i) => lvmNode(ns, `n${i}`, VG).cpu(CPUS)));
      // 16 x 1 GiB claims onto 3 x 4 GiB VGs (12 fit) and 14 one-CPU pods onto 3 x 4 CPUs (12 fit).
      const LVM = 16;
      const PLAIN = 14;
      const sel = { [FAULT_LABEL]: ns };
      const steps: (() => Promise<unknown>)[] = [];
      for (let i = 0; i < Math.max(LVM, PLAIN); i++) {
        if (i < LVM) {
          steps.push(() => createPvc(core, makePvc(`data-${i}`).ns(ns).storage('1Gi')));
          steps.push(() => createPods(core, [makePod(`lvm-${i}`).ns(ns).label('kind', 'lvm').pvc(`data-${i}`).nodeSelector(sel)]));
        }
        if (i < PLAIN) steps.push(() => createPods(core, [makePod(`plain-${i}`).ns(ns).label('kind', 'plain').cpu('1').nodeSelector(sel)]));
      }
      // One creator, retrying every object until the API server takes it (409: an earlier try did).
      let created = 0;
      let createRetries = 0;
      const creator = (async () => {
        for (const step of steps) {
          for (;;) {
            try {
              await step();
              break;
            } catch (err) {
              if (isConflict(err)) break;
              createRetries++;
              await sleep(250);
            }
          }
          created++;
          await sleep(120);
        }
      })();

      // Over-commit watch: PV bytes per node (API) and the provisioner's ledger, all along.
      const overCommit: string[] = [];
      let sampling = true;
      let samples = 0;
      const sampler = (async () => {
        while (sampling) {
          for (const n of nodeNames) {
            const used = prov.usedBytes(n, DEFAULT_VG_NAME);
            if (used > VG) overCommit.push(`ledger ${n}: ${used} bytes on a ${VG}-byte VG`);
          }
          try {
            for (const [n, bytes] of await pvBytesByNode()) if (nodeNames.includes(n) && bytes > VG) overCommit.push(`PVs ${n}: ${bytes} bytes on a ${VG}-byte VG`);
            samples++;
          } catch {
            // the API server is down
          }
          await sleep(250);
        }
      })();

      try {
        await waitFor(async () => created >= steps.length / 3 && bound(await listPods(core, ns)).length >= 3, 60_000, 'a third created and some pods bound', 200);
        console.info(`[f2] ${created}/${steps.length} objects created, ${bound(await listPods(core, ns)).length} pods bound; stopping kube-apiserver`);

        const tStop = Date.now();
        await CP().stopApiServer();
        const stopMs = Date.now() - tStop;
        const notReady = await waitFor(async () => {
          const r = await get('/readyz');
          return r.status === 503 ? r : undefined;
        }, 20_000, 'GET /readyz 503 after kube-apiserver stopped', 100);
        console.info(`[f2] kube-apiserver stopped in ${stopMs} ms; /readyz 503 ${since(tStop)} after the stop began: ${JSON.stringify(notReady.body)}`);
        expect(notReady.body.ready).toBe(false);
        expect(String(notReady.body.reason)).toMatch(/caches (stale|not synced)/);

        // Every verb refuses while the caches are stale.
        const probePod = { metadata: { name: 'probe', namespace: ns, uid: 'probe-uid' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
        const filter = await request('POST', '/filter', { Pod: probePod, NodeNames: nodeNames });
        expect(filter.status).toBe(503);
        expect(String(filter.body.Error)).toMatch(/^extender not ready: /);
        const bind = await request('POST', '/bind', { PodName: 'lvm-0', PodNamespace: ns, PodUID: 'x', Node: nodeNames[0] });
        expect(bind.status).toBe(503);
        expect(String(bind.body.Error)).toMatch(/^extender not ready: /);
        const prio = await request('POST', '/prioritize', { Pod: probePod, NodeNames: nodeNames });
        expect(prio.status).toBe(503);
        console.info(`[f2] while down: filter -> ${filter.status} ${JSON.stringify(filter.body)}`);
        // Not ready for as long as the API server is away (no flapping back to ready on a failed re-watch).
        const readyWhileDown: string[] = [];
        for (const until = Date.now() + 3000; Date.now() < until; await sleep(100)) {
          const r = await get('/readyz');
          if (r.status !== 503) readyWhileDown.push(`${r.status} ${JSON.stringify(r.body)}`);
        }
        expect(readyWhileDown).toEqual([]);

        const tStart = Date.now();
        await CP().startApiServer();
        const apiUp = Date.now();
        await waitFor(async () => (await get('/readyz')).status === 200, 90_000, 'GET /readyz 200 after kube-apiserver is back', 200);
        console.info(`[f2] kube-apiserver back in ${((apiUp - tStart) / 1000).toFixed(1)} s (down ${((apiUp - tStop) / 1000).toFixed(1)} s); extender ready ${since(apiUp)} later`);

        await creator;
        console.info(`[f2] all ${steps.length} objects created (${createRetries} retried attempts)`);
        await waitFor(async () => {
          const ps = await listPods(core, ns);
          const lvm = bound(ps.filter((p) => p.metadata?.labels?.kind === 'lvm')).length;
          const plain = bound(ps.filter((p) => p.metadata?.labels?.kind === 'plain')).length;
          return lvm >= 12 && plain >= 12;
        }, 150_000, '12 local-volume pods and 12 plain pods bound', 250);
        await sleep(3000); // the rest must stay out
      } finally {
        sampling = false;
        await sampler;
      }
      await creator;

      const pods = await listPods(core, ns);
      expect(pods).toHaveLength(LVM + PLAIN);
      const lvmPods = pods.filter((p) => p.metadata?.labels?.kind === 'lvm');
      const plainPods = pods.filter((p) => p.metadata?.labels?.kind === 'plain');
      expect(bound(lvmPods)).toHaveLength(12);
      expect(bound(plainPods)).toHaveLength(12);
      // Zero over-commit: all along, and at the end by PVs, the ledger and the capacity report.
      console.info(`[f2] ${samples} over-commit samples; violations: ${overCommit.length ? overCommit.slice(0, 5).join('; ') : 'none'}`);
      expect(overCommit).toEqual([]);
      const pvBytes = await pvBytesByNode();
      for (const n of nodeNames) {
        expect(pvBytes.get(n) ?? 0).toBeLessThanOrEqual(VG);
        expect(pvBytes.get(n)).toBe(VG); // 12 GiB of room, 12 claims bound: every VG exactly full
        expect(prov.usedBytes(n, DEFAULT_VG_NAME)).toBe(VG);
        const report = parseCapacityReport((await core.readNode({ name: n })).metadata?.annotations?.[ANNOTATION_VG_CAPACITY] ?? '');
        expect(report.kind === 'ok' ? report.report.vgs.find((v) => v.name === DEFAULT_VG_NAME)?.freeBytes : undefined).toBe(0);
      }
      expect(prov.failures.slice(failuresBefore).filter((f) => f.namespace === ns)).toEqual([]);
      // Every bound local-volume pod sits where its volume is.
      const pvcs = new Map((await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((c) => [c.metadata?.name ?? '', c]));
      for (const p of bound(lvmPods)) {
        const claim = pvcs.get(p.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName ?? '');
        expect(claim?.spec?.volumeName, p.metadata?.name).toBeTruthy();
        expect(prov.provisioned.get(`${ns}/${claim?.metadata?.name ?? ''}`)?.node, p.metadata?.name).toBe(p.spec?.nodeName);
      }
      // No node above its allocatable CPUs.
      const cpuByNode = new Map<string, number>();
      for (const p of bound(pods)) {
        const milli = (p.spec?.containers ?? []).reduce((s, c) => s + cpuMilli(String(c.resources?.requests?.cpu ?? '0')), 0);
        cpuByNode.set(p.spec?.nodeName ?? '', (cpuByNode.get(p.spec?.nodeName ?? '') ?? 0) + milli);
      }
      for (const n of nodeNames) expect(cpuByNode.get(n) ?? 0).toBeLessThanOrEqual(CPUS * 1000);
      expect([...cpuByNode.values()].reduce((a, b) => a + b, 0)).toBe(12 * 1000);
    });
  });
});

function cpuMilli(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}

/** Bytes of PVs per node, from the API (the PV's node affinity names the node). */
async function pvBytesByNode(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pv of (await core.listPersistentVolume()).items) {
    const nodeName = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values?.[0] ?? '';
    out.set(nodeName, (out.get(nodeName) ?? 0) + parseQuantityBytes(pv.spec?.capacity?.storage ?? '0'));
  }
  return out;
}
