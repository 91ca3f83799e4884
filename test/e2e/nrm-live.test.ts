// Acceptance 6 (issue 5) and the whole chain: the real node-resource-manager process (API mode) against a real
// etcd + kube-apiserver, on real LVM (loop devices). The topology ConfigMap, the Node's labels, the capacity
// annotation and the Events all go through the API server, including the API server going away (the agent is
// restarted while it is down and reconciles from its on-disk cache) and coming back (what waited is published).
// Then kube-scheduler with the shipped configuration and the extender in-process place a PVC pod by the report
// the real agent wrote, and an oversized claim stays Pending with the extender's reason.
//
// Needs root, lvm2 and the control plane binaries; fails (never skips) without them.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CoreV1Api, PatchStrategy, StorageV1Api, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExtenderApp, type ExtenderApp } from '../../src/extender/assemble.js';
import { loadExtenderConfig } from '../../src/config/extender.js';
import { formatBytes } from '../../src/core/quantity.js';
import { parseCapacityReport, type CapacityReport, type VolumeGroupReport } from '../../src/wire/capacity.js';
import {
  ANNOTATION_VG_CAPACITY,
  EVENT_REASON_PV_CREATED,
  EVENT_REASON_TOPOLOGY_CONFIG_APPLIED,
  EVENT_REASON_TOPOLOGY_CONFIG_INVALID,
  EVENT_REASON_VG_CREATED,
  EVENT_REASON_VG_EXTENDED,
  LABEL_LOCAL_STORAGE,
  NRM_COMPONENT,
  TOPO_CONFIGMAP_KEY,
  TOPO_CONFIGMAP_NAME,
  TOPO_CONFIGMAP_NAMESPACE,
} from '../../src/wire/keys.js';
import { LAST_CONFIG_FILE, LAST_LABELS_FILE } from '../../src/agent/adapters/state-cache.js';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { makeLocalStorageClass, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, waitFor } from '../../src/localcluster/objects.js';
import { startFakeProvisioner, type FakeProvisioner } from '../../src/localcluster/provisioner.js';
import { registerLocalWebhook, waitForCaBundle } from '../../src/localcluster/webhook.js';
import { LAB_LVM_CONFIG, LoopLab, sh } from '../../src/localcluster/loop-lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cmd', 'node-resource-manager.ts');
const SHIPPED_SCHEDULER_CONFIG = join(ROOT, 'manifests', 'scheduler', 'kube-scheduler-config.yaml');
const MiB = 1024 ** 2;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const NODE = `nrm-live-${randomBytes(3).toString('hex')}`;
const DECOY_NODE = `${NODE}-decoy`;
/** The aux entry selects `DoesNotExist` on this label: it matches only while the label is absent. */
const AUX_OFF_LABEL = 'nrm-live.test/aux-off';
const STORAGE_TYPE_LABEL = 'kubernetes.io/storagetype';
const RESYNC_MS = 2_000;

const lab = new LoopLab();
const VG_MAIN = lab.vg('main');
const VG_AUX = lab.vg('aux');
const dev: { d1: string; d2: string; d3: string; d4: string; aux: string } = { d1: '', d2: '', d3: '', d4: '', aux: '' };
/** The "unplugged" disk: a loop device at a fixed high number, detached and re-attached at the same path. */
const unplug = { path: '', file: '', attached: false };
let stateDir = '';
let cp: ControlPlane | undefined;
let core: CoreV1Api;
let agent: AgentProcess | undefined;
let ext: ExtenderApp | undefined;
let provisioner: FakeProvisioner | undefined;
const timings: Record<string, number> = {};
const fileStart = Date.now();

// --- the agent as a real child process ---------------------------------------------------------------------------

const liveAgents = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveAgents) c.kill('SIGKILL');
});

class AgentProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  text = '';
  private readonly logFile: WriteStream;

  constructor(readonly name: string) {
    this.logFile = createWriteStream(join(lab.dir, `${name}.log`));
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI,
      '--kubeconfig', (cp as ControlPlane).kubeconfigPath,
      '--node-name', NODE,
      '--state-dir', stateDir,
      '--resync-interval-ms', String(RESYNC_MS),
      '--heartbeat-interval-ms', '3000',
      '--publish-retry-interval-ms', '500',
      '--initial-sync-timeout-ms', '1500',
      '--watch-timeout-seconds', '60',
      '--metrics-port', '0',
      '--log-level', 'debug',
    ], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NRM_LVM_CONFIG: LAB_LVM_CONFIG } });
    liveAgents.add(this.child);
    this.child.stderr?.on('data', (b: Buffer) => {
      this.text += b.toString();
      this.logFile.write(b);
    });
    this.exited = new Promise((res) => {
      this.child.once('exit', (code, signal) => {
        liveAgents.delete(this.child);
        this.logFile.end();
        res({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  /** The last lines of its log, for failure messages. */
  tail(lines = 30): string {
    return this.text.trimEnd().split('\n').slice(-lines).join('\n');
  }
}

// --- helpers -----------------------------------------------------------------------------------------------------

/** The `volumegroup` data value in the seed's shape (seed 002, 8.3): the main VG and the label-gated aux VG. */
function topology(mainDevices: string[]): string {
  return [
    'volumegroup:',
    `- name: ${VG_MAIN}`,
    `  key: ${STORAGE_TYPE_LABEL}`,
    '  operator: In',
    '  value: lvm',
    '  topology:',
    '    type: device',
    '    devices:',
    ...mainDevices.map((d) => `    - ${d}`),
    `- name: ${VG_AUX}`,
    `  key: ${AUX_OFF_LABEL}`,
    '  operator: DoesNotExist',
    '  topology:',
    '    type: device',
    '    devices:',
    `    - ${dev.aux}`,
    '',
  ].join('\n');
}

async function setTopology(text: string): Promise<void> {
  await core.patchNamespacedConfigMap({ name: TOPO_CONFIGMAP_NAME, namespace: TOPO_CONFIGMAP_NAMESPACE, body: { data: { [TOPO_CONFIGMAP_KEY]: text } } }, mergePatch);
}

async function setAuxOffLabel(value: string | null): Promise<void> {
  await core.patchNode({ name: NODE, body: { metadata: { labels: { [AUX_OFF_LABEL]: value } } } }, mergePatch);
}

/** The capacity report on the Node, parsed with the extender's parser (null: no annotation). */
async function nodeReport(): Promise<CapacityReport | null> {
  const node = await core.readNode({ name: NODE });
  const text = node.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
  if (text === undefined) return null;
  const parsed = parseCapacityReport(text);
  if (parsed.kind !== 'ok') throw new Error(`annotation does not parse: ${parsed.reason}: ${text}`);
  return parsed.report;
}

function vgOf(report: CapacityReport | null, name: string): VolumeGroupReport | undefined {
  return report?.vgs.find((v) => v.name === name);
}

interface RealVg { sizeBytes: number; freeBytes: number; pvs: string[] }

/** What `vgs` and `pvs` say about one VG (null: no such VG). */
function realVg(name: string): RealVg | null {
  const vgs = JSON.parse(sh('vgs', ['--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'vg_name,vg_size,vg_free'])) as { report: { vg: { vg_name: string; vg_size: string; vg_free: string }[] }[] };
  const vg = vgs.report.flatMap((r) => r.vg).find((v) => v.vg_name === name);
  if (vg === undefined) return null;
  const pvs = JSON.parse(sh('pvs', ['--reportformat', 'json', '-o', 'pv_name,vg_name'])) as { report: { pv: { pv_name: string; vg_name: string }[] }[] };
  return {
    sizeBytes: Number(vg.vg_size),
    freeBytes: Number(vg.vg_free),
    pvs: pvs.report.flatMap((r) => r.pv).filter((p) => p.vg_name === name).map((p) => p.pv_name).sort(),
  };
}

/** The report's VG equals what LVM says: size, free and the PV list. */
function expectReportMatchesLvm(report: CapacityReport | null, name: string): VolumeGroupReport {
  const reported = vgOf(report, name);
  const real = realVg(name);
  expect(reported, `${name} in the report`).toBeDefined();
  expect(real, `${name} in vgs`).not.toBeNull();
  expect({ sizeBytes: reported?.sizeBytes, freeBytes: reported?.freeBytes, pvs: reported?.pvs.map((p) => p.name).sort() }).toEqual(real);
  return reported as VolumeGroupReport;
}

interface NodeEvent { type: string; reason: string; message: string; component: string; at: number }

/** Events recorded on our Node by node-resource-manager. */
async function nodeEvents(): Promise<NodeEvent[]> {
  const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.kind=Node,involvedObject.name=${NODE}` });
  return list.items
    .filter((e) => e.source?.component === NRM_COMPONENT)
    .map((e) => ({
      type: e.type ?? '',
      reason: e.reason ?? '',
      message: e.message ?? '',
      component: e.source?.component ?? '',
      at: new Date(e.lastTimestamp ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime(),
    }));
}

function waitForEvent(reason: string, contains: string, timeoutMs = 20_000): Promise<NodeEvent> {
  return waitFor(async () => (await nodeEvents()).find((e) => e.reason === reason && e.message.includes(contains)), timeoutMs, `Event ${reason} naming ${contains} on Node ${NODE}`, 250);
}

/** A report whose main VG has exactly these PVs (and, optionally, a predicate on the whole report). */
function waitForMainPvs(devices: string[], extra: (r: CapacityReport) => boolean = () => true, timeoutMs = 30_000): Promise<CapacityReport> {
  const want = [...devices].sort().join(',');
  return waitFor(async () => {
    const r = await nodeReport();
    const vg = vgOf(r, VG_MAIN);
    return r !== null && vg !== undefined && vg.pvs.map((p) => p.name).sort().join(',') === want && extra(r) ? r : null;
  }, timeoutMs, `capacity report with ${VG_MAIN} on ${want} (agent log:\n${agent?.tail() ?? ''})`, 250);
}

/** Attaches `file` at a free high-numbered loop device (losetup -f hands out the lowest free one to others). */
function attachHighLoop(file: string): string {
  const inUse = sh('losetup', ['-a']);
  for (let i = 0; i < 30; i += 1) {
    const path = `/dev/loop${randomInt(180, 250)}`;
    if (inUse.includes(`${path}:`)) continue;
    try {
      sh('losetup', [path, file]);
      return path;
    } catch {
      // taken meanwhile: try another number
    }
  }
  throw new Error('no free high-numbered loop device');
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - t;
  }
}

// --- setup -------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  await lab.start(async () => {
    dev.d1 = lab.loop('d1');
    dev.d2 = lab.loop('d2');
    dev.d3 = lab.loop('d3');
    dev.d4 = lab.loop('d4');
    dev.aux = lab.loop('aux');
    unplug.file = join(lab.dir, 'unplug.img');
    sh('truncate', ['-s', '64M', unplug.file]);
    stateDir = join(lab.dir, 'state');

    cp = await timed('control plane start', () => startControlPlane({}));
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await createNodes(core, [
      makeNode(NODE).label(STORAGE_TYPE_LABEL, 'lvm').label(LABEL_LOCAL_STORAGE, 'true').label(AUX_OFF_LABEL, 'true'),
      // Also a local-storage node, but no agent runs there: the extender must not pick it.
      makeNode(DECOY_NODE).label(STORAGE_TYPE_LABEL, 'lvm').label(LABEL_LOCAL_STORAGE, 'true'),
    ]);
    await core.createNamespacedConfigMap({
      namespace: TOPO_CONFIGMAP_NAMESPACE,
      body: { metadata: { name: TOPO_CONFIGMAP_NAME, namespace: TOPO_CONFIGMAP_NAMESPACE }, data: { [TOPO_CONFIGMAP_KEY]: topology([dev.d1, dev.d2, dev.d3]) } },
    });
  });
}, 300_000);

beforeEach(() => {
  lab.assertReady();
});

afterAll(async () => {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`nrm-live cleanup: ${what}: ${(err as Error).message}\n`);
    }
  };
  // The agent first: it must not re-create what the cleanup removes.
  if (agent) await step('agent', () => (agent as AgentProcess).stop());
  if (cp) await step('kube-scheduler', () => (cp as ControlPlane).stopScheduler({ graceMs: 2000 }));
  if (ext) await step('extender', () => (ext as ExtenderApp).close());
  if (provisioner) await step('provisioner', () => (provisioner as FakeProvisioner).stop());
  if (cp) await step('control plane', () => (cp as ControlPlane).stop());
  await step('LVM', async () => {
    try {
      await lab.tearDown(); // removes this run's VGs (prefix), detaches its loops, deletes the directory
    } finally {
      if (unplug.attached) sh('losetup', ['-d', unplug.path]);
    }
  });
  const total = Date.now() - fileStart;
  console.info(`[nrm-live] timings (ms): ${JSON.stringify({ ...timings, total })}`);
}, 120_000);

// --- the tests ---------------------------------------------------------------------------------------------------

describe('node-resource-manager against a real kube-apiserver, on real LVM', () => {
  it('creates the VG from the ConfigMap and publishes the capacity report and Events on its Node', async () => {
    agent = new AgentProcess('agent-1');
    const report = await timed('first report', () => waitForMainPvs([dev.d1, dev.d2, dev.d3]));
    expect(report.node).toBe(NODE);
    expect(report.refused).toEqual([]);
    // The aux entry does not match yet (its DoesNotExist label is set): not created, not offered.
    expect(report.vgs.map((v) => v.name)).toEqual([VG_MAIN]);
    expect(realVg(VG_AUX)).toBeNull();
    const vg = expectReportMatchesLvm(report, VG_MAIN);
    expect(vg.pvs).toHaveLength(3);
    expect(vg.freeBytes).toBe(vg.sizeBytes);

    // One Event per command: pvcreate x3, vgcreate, vgextend x2.
    const events = await waitFor(async () => {
      const es = await nodeEvents();
      return es.filter((e) => e.message.includes(VG_MAIN)).length >= 6 ? es : null;
    }, 20_000, `six Events naming ${VG_MAIN} on Node ${NODE}`, 250);
    for (const d of [dev.d1, dev.d2, dev.d3]) {
      expect(events.some((e) => e.reason === EVENT_REASON_PV_CREATED && e.message.includes(`${d} `)), `PhysicalVolumeCreated ${d}`).toBe(true);
    }
    expect(events.filter((e) => e.reason === EVENT_REASON_VG_CREATED && e.message.includes(VG_MAIN))).toHaveLength(1);
    expect(events.filter((e) => e.reason === EVENT_REASON_VG_EXTENDED && e.message.includes(VG_MAIN))).toHaveLength(2);
    expect(events.every((e) => e.type === 'Normal' && e.component === NRM_COMPONENT)).toBe(true);

    // Edge autonomy: the live configuration and labels are cached on disk.
    await waitFor(async () => (await readFile(join(stateDir, LAST_CONFIG_FILE), 'utf8').catch(() => '')) === topology([dev.d1, dev.d2, dev.d3]), 10_000, 'cached configuration');
    const labels = JSON.parse(await readFile(join(stateDir, LAST_LABELS_FILE), 'utf8')) as Record<string, string>;
    expect(labels).toMatchObject({ [STORAGE_TYPE_LABEL]: 'lvm', [AUX_OFF_LABEL]: 'true' });
  });

  it('acts on a Node label change while running: a DoesNotExist entry starts and stops matching', async () => {
    await timed('label change', async () => {
      await setAuxOffLabel(null);
      const report = await waitFor(async () => {
        const r = await nodeReport();
        return vgOf(r, VG_AUX) !== undefined ? r : null;
      }, 30_000, `${VG_AUX} in the report once ${AUX_OFF_LABEL} is gone`, 250);
      const aux = expectReportMatchesLvm(report, VG_AUX);
      expect(aux.pvs.map((p) => p.name)).toEqual([dev.aux]);
      await waitForEvent(EVENT_REASON_VG_CREATED, VG_AUX);

      // The label is back: the entry no longer matches. Nothing is removed from LVM; the VG is no longer offered.
      await setAuxOffLabel('true');
      const after = await waitFor(async () => {
        const r = await nodeReport();
        return r !== null && vgOf(r, VG_AUX) === undefined ? r : null;
      }, 30_000, `${VG_AUX} out of the report once ${AUX_OFF_LABEL} is back`, 250);
      expect(after.vgs.map((v) => v.name)).toEqual([VG_MAIN]);
      expect(realVg(VG_AUX)?.pvs).toEqual([dev.aux]);
    });
  });

  it('a ConfigMap edit adding a 4th device extends the VG, and the annotation follows', async () => {
    await timed('configmap edit', async () => {
      await setTopology(topology([dev.d1, dev.d2, dev.d3, dev.d4]));
      const report = await waitForMainPvs([dev.d1, dev.d2, dev.d3, dev.d4]);
      const vg = expectReportMatchesLvm(report, VG_MAIN);
      expect(vg.pvs).toHaveLength(4);
      await waitForEvent(EVENT_REASON_VG_EXTENDED, dev.d4);
      await waitForEvent(EVENT_REASON_TOPOLOGY_CONFIG_APPLIED, 'from api');
    });
  });

  it('malformed YAML in the ConfigMap gives a Warning Event and changes nothing', async () => {
    const good = topology([dev.d1, dev.d2, dev.d3, dev.d4]);
    const lvmBefore = realVg(VG_MAIN);
    const reportBefore = await nodeReport();
    await setTopology(`volumegroup:\n- name: ${VG_MAIN}\n  key: [unclosed\n  topology: {type: device, devices: [${dev.d1}]}\n`);
    const ev = await waitForEvent(EVENT_REASON_TOPOLOGY_CONFIG_INVALID, 'rejected');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('the last good one stays in force');
    await sleep(RESYNC_MS + 500); // at least one periodic pass with the bad text in the ConfigMap
    expect(realVg(VG_MAIN)).toEqual(lvmBefore);
    const reportAfter = await nodeReport();
    expect(reportAfter?.vgs).toEqual(reportBefore?.vgs);
    expect(reportAfter?.refused).toEqual([]);
    expect(await readFile(join(stateDir, LAST_CONFIG_FILE), 'utf8')).toBe(good);
    expect(agent?.running).toBe(true);
  });

  it('API outage: restarted while kube-apiserver is down, the agent reconciles from its cache; on return it publishes', async () => {
    const c = cp as ControlPlane;
    // A disk that is listed but unavailable: a loop device detached after it was set up once (its node stays).
    unplug.path = attachHighLoop(unplug.file);
    unplug.attached = true;
    sh('losetup', ['-d', unplug.path]);
    unplug.attached = false;
    const five = [dev.d1, dev.d2, dev.d3, dev.d4, unplug.path];
    await setTopology(topology(five));
    const refusedReport = await waitForMainPvs(five.slice(0, 4), (r) => r.refused.some((x) => x.device === unplug.path));
    const refusal = refusedReport.refused.find((x) => x.device === unplug.path);
    await waitForEvent(refusal?.reason ?? '', unplug.path);
    // The cache holds the configuration that lists the unavailable disk.
    await waitFor(async () => (await readFile(join(stateDir, LAST_CONFIG_FILE), 'utf8')) === topology(five), 10_000, 'cached configuration with the 5th device');
    const before = vgOf(await nodeReport(), VG_MAIN) as VolumeGroupReport;
    const beforeUpdatedAt = Date.parse(refusedReport.updatedAt);

    const outageStart = Date.now();
    await timed('api server stop', () => c.stopApiServer({ graceMs: 2000 }));
    try {
      // The agent is restarted while the API server is away (a node reboot during a WAN outage).
      const exit = await (agent as AgentProcess).stop('SIGTERM');
      expect(exit.code, (agent as AgentProcess).tail()).toBe(0);
      sh('losetup', [unplug.path, unplug.file]); // the disk comes back at the same path
      unplug.attached = true;
      agent = new AgentProcess('agent-2');
      const restarted = agent;
      await timed('reconcile from cache while the API is down', () => waitFor(() => {
        const vg = realVg(VG_MAIN);
        return vg !== null && vg.pvs.length === 5 && vg.pvs.includes(unplug.path);
      }, 30_000, `${unplug.path} added to ${VG_MAIN} from the cached configuration (agent log:\n${restarted.tail()})`, 250));
      expect(restarted.text).toContain('no live configuration yet: using the cached one');
      // Its first publish after that pass fails: it knows the API server is away and keeps what is unsent.
      await waitFor(() => restarted.text.includes('API server unreachable'), 10_000, `"API server unreachable" in the agent log:\n${restarted.tail()}`);
      expect(restarted.running).toBe(true);
    } finally {
      await timed('api server start', () => c.startApiServer());
    }
    timings['api outage'] = Date.now() - outageStart;
    const restarted = agent as AgentProcess;
    const back = Date.now();
    const report = await timed('report after the API is back', () => waitForMainPvs(five, (r) => r.refused.length === 0 && Date.parse(r.updatedAt) > beforeUpdatedAt));
    const vg = expectReportMatchesLvm(report, VG_MAIN);
    expect(vg.sizeBytes).toBeGreaterThan(before.sizeBytes);
    // The Events of the outage were queued and are recorded now.
    await waitForEvent(EVENT_REASON_PV_CREATED, unplug.path);
    await waitForEvent(EVENT_REASON_VG_EXTENDED, unplug.path);
    console.info(`[nrm-live] report and queued Events published ${Date.now() - back} ms after kube-apiserver was ready`);

    // The watches are back too: a label change is acted on again.
    await timed('watch after the outage', async () => {
      await setAuxOffLabel(null);
      await waitFor(async () => vgOf(await nodeReport(), VG_AUX) !== undefined, 45_000, `${VG_AUX} in the report after the outage (agent log:\n${restarted.tail()})`, 250);
    });
  });

  it('the full chain: kube-scheduler + extender place a PVC pod by the real report; an oversized claim stays Pending with the reason', async () => {
    const c = cp as ControlPlane;
    const storage = c.kubeConfig.makeApiClient(StorageV1Api);
    await timed('extender + scheduler start', async () => {
      // The scheduling-mark webhook first: the PVC pod must carry the mark to reach the extender.
      const webhook = await registerLocalWebhook(c.kubeConfig);
      const cfg = loadExtenderConfig(['--host', '127.0.0.1', '--port', '0', ...webhook.extenderArgs], {});
      if (cfg.kind !== 'ok') throw new Error(`extender configuration invalid: ${cfg.errors.join('; ')}`);
      const app = createExtenderApp(cfg.config, pino({ level: 'warn', base: { component: 'extender' } }), { kubeConfig: c.kubeConfig });
      ext = app;
      const url = await app.listen();
      await waitFor(() => app.readiness().ready, 60_000, 'extender readiness', 100);
      await waitForCaBundle(c.kubeConfig);
      await c.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: new URL(url).host });
    });
    await ensureStorageClass(storage, makeLocalStorageClass(undefined, VG_MAIN));
    provisioner = await startFakeProvisioner(c.kubeConfig, { updateReports: false });

    const real = realVg(VG_MAIN) as RealVg;
    const small = 100 * MiB;
    // Free as the extender sees it once the first claim is placed: the real VG's free space minus that claim
    // (its ledger view: the report does not shrink, no LV is created on this machine).
    const tooBig = real.freeBytes - 40 * MiB;
    const huge = real.sizeBytes + 1024 * MiB;
    await timed('pod with a PVC bound', async () => {
      await createPvc(core, makePvc('nrm-small').storage(`${small / MiB}Mi`));
      await createPods(core, [makePod('nrm-small').pvc('nrm-small')]);
      const pod = await waitFor(async () => {
        const p = await core.readNamespacedPod({ name: 'nrm-small', namespace: 'default' });
        return p.spec?.nodeName ? p : null;
      }, 60_000, 'pod nrm-small bound');
      expect(pod.spec?.nodeName).toBe(NODE);
      const pvc = await waitFor(async () => {
        const x = await core.readNamespacedPersistentVolumeClaim({ name: 'nrm-small', namespace: 'default' });
        return x.status?.phase === 'Bound' ? x : null;
      }, 30_000, 'claim nrm-small Bound');
      expect(provisioner?.provisioned.get('default/nrm-small')).toMatchObject({ node: NODE, vg: VG_MAIN, bytes: small });
      expect(pvc.spec?.volumeName).toBeTruthy();
    });

    await timed('oversized claims Pending', async () => {
      await createPvc(core, makePvc('nrm-too-big').storage(`${tooBig / MiB}Mi`));
      await createPvc(core, makePvc('nrm-huge').storage(`${huge / MiB}Mi`));
      await createPods(core, [makePod('nrm-too-big').pvc('nrm-too-big'), makePod('nrm-huge').pvc('nrm-huge')]);
      const wantFree = `local-lvm: ${VG_MAIN}: requested ${formatBytes(tooBig)}, free ${formatBytes(real.freeBytes - small)}`;
      const wantSize = `local-lvm: ${VG_MAIN}: requested ${formatBytes(huge)}, VG size ${formatBytes(real.sizeBytes)}`;
      const failed = async (pod: string, text: string) => {
        const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod},reason=FailedScheduling` });
        return list.items.find((e) => (e.message ?? '').includes(text))?.message;
      };
      const m1 = await waitFor(() => failed('nrm-too-big', wantFree), 45_000, `FailedScheduling "${wantFree}"`, 300);
      const m2 = await waitFor(() => failed('nrm-huge', wantSize), 45_000, `FailedScheduling "${wantSize}"`, 300);
      console.info(`[nrm-live] FailedScheduling: ${m1}\n[nrm-live] FailedScheduling: ${m2}`);
      const pods = await Promise.all(['nrm-too-big', 'nrm-huge'].map((name) => core.readNamespacedPod({ name, namespace: 'default' })));
      expect(pods.map((p: V1Pod) => p.spec?.nodeName ?? null)).toEqual([null, null]);
      for (const name of ['nrm-too-big', 'nrm-huge']) {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace: 'default' });
        expect(pvc.status?.phase).toBe('Pending');
      }
    });
  });
});
