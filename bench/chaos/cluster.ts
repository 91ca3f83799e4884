// The cluster a chaos run strikes: etcd + kube-apiserver (src/localcluster/controlplane.ts), two
// replicas of kube-scheduler with the shipped configuration and leader election on, each calling its
// own extender (a child process, as the sidecar or static pod would be), the scheduling-mark webhook
// behind a proxy over both extenders (a Service over the replicas), the stand-in CSI provisioner,
// and, as root, node-resource-manager on loop devices behind a proxy of its own to kube-apiserver.
// A supervisor starts again whatever exits when no fault holds it down, as kubelet restarts a
// container. Every child is also listed for a reaper that kills it if this process dies.

import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, StorageV1Api } from '@kubernetes/client-node';
import { makeNode } from '../../src/localcluster/builders.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { kubeconfigYaml } from '../../src/localcluster/credentials.js';
import { schedulerArgs } from '../../src/localcluster/flags.js';
import { LoopLab, requireRootAndTools, seedConfigMap, sh } from '../../src/localcluster/loop-lab.js';
import { freePorts, httpGet } from '../../src/localcluster/net.js';
import { ensureStorageClass, waitFor } from '../../src/localcluster/objects.js';
import { NODE_RESOURCE_MANAGER_ENTRY, REPO_ROOT, SHIPPED_SCHEDULER_CONFIG } from '../../src/localcluster/paths.js';
import { Component, removeDirs, startReaper, type Reaper } from '../../src/localcluster/processes.js';
import { startFakeProvisioner, type FakeProvisioner } from '../../src/localcluster/provisioner.js';
import { patchSchedulerConfig } from '../../src/localcluster/scheduler-config.js';
import { localWebhookConfiguration, waitForCaBundle } from '../../src/localcluster/webhook.js';
import { attachedLoops } from '../../src/localcluster/session.js';
import { startCutProxy, type CutProxy } from './proxy.js';

export const AGENT_NODE = 'edge-agent';
export const AGENT_TAINT = 'chaos.edge-gang.io/agent-only';
export const SECONDARY_SCHEDULER_NAME = 'edge-gang-scheduler';
const SECONDARY_CONFIG = join(REPO_ROOT, 'manifests/overlays/secondary-scheduler/kube-scheduler-config.yaml');

/**
 * 'default': the replicas are the cluster's kube-scheduler (manifests/scheduler, lease kube-scheduler),
 * as on a self-managed control plane with three masters. 'secondary': the replicas are the secondary
 * scheduler (manifests/overlays/secondary-scheduler, profile and lease edge-gang-scheduler) beside a
 * vanilla default kube-scheduler, as on a managed control plane.
 */
export type ChaosSetup = 'default' | 'secondary';

export interface ChaosClusterOptions {
  setup: ChaosSetup;
  /** Run node-resource-manager on loop devices (needs root and lvm2). */
  agent: boolean;
  /** Extra extender flags. */
  extenderArgs?: string[];
  log: (line: string) => void;
}

/** One replica: kube-scheduler and the extender it calls. */
export interface Replica {
  name: 'a' | 'b';
  extender: Component;
  extenderPort: number;
  scheduler: Component;
  schedulerPort: number;
}

/** Devices whose bytes must never change (checksummed), and the VG the agent builds from the blank ones. */
export interface AgentDevices {
  vgName: string;
  blank: string[];
  /** Listed in the ConfigMap but holding a file system: the agent must refuse it. */
  listedWithData: string;
  /** Not listed at all. */
  unlisted: string;
}

/** What a fault may hold down (the supervisor leaves it so). */
export type HeldComponent = 'extender-a' | 'extender-b' | 'scheduler-a' | 'scheduler-b' | 'agent';

export class ChaosCluster {
  readonly replicas: Replica[] = [];
  core!: CoreV1Api;
  storage!: StorageV1Api;
  agentDevices: AgentDevices | undefined;
  agent: Component | undefined;
  webhookProxy!: CutProxy;
  agentProxy!: CutProxy;
  provisioner!: FakeProvisioner;
  /** Components the supervisor must leave down (a fault holds them). */
  readonly held = new Set<HeldComponent>();
  /** Loop devices of this run still attached after stop() (cleanup failed). */
  leftLoopDevices: string[] = [];
  /** Restarts the supervisor made (a component exited on its own). */
  readonly restarts: { component: string; at: number }[] = [];
  private lab: LoopLab | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'gang-chaos-'));
  private readonly pidFile = join(this.dir, 'pids');
  private reaper: Reaper | undefined;
  private supervisor: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(readonly cp: ControlPlane, private readonly opts: ChaosClusterOptions) {}

  static async start(opts: ChaosClusterOptions): Promise<ChaosCluster> {
    if (opts.agent) requireRootAndTools();
    const cp = await startControlPlane();
    const c = new ChaosCluster(cp, opts);
    try {
      await c.boot();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  private readonly writePids = (): void => {
    const pids = [...this.replicas.flatMap((r) => [r.extender.pid, r.scheduler.pid]), this.agent?.pid].filter((p): p is number => p !== undefined);
    try {
      writeFileSync(this.pidFile, `${pids.join(' ')}\n`);
    } catch {
      // removed during stop
    }
  };

  private async boot(): Promise<void> {
    const { cp } = this;
    this.core = cp.kubeConfig.makeApiClient(CoreV1Api);
    this.storage = cp.kubeConfig.makeApiClient(StorageV1Api);
    this.writePids();
    this.reaper = startReaper(this.pidFile, false, [this.dir, this.dir]);
    await ensureStorageClass(this.storage);

    // The webhook configuration points at the proxy; each extender serves the webhook on its own port.
    const [extA, extB, whA, whB, schA, schB] = (await freePorts(6)) as [number, number, number, number, number, number];
    this.webhookProxy = await startCutProxy([{ host: '127.0.0.1', port: whA }, { host: '127.0.0.1', port: whB }]);
    const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const secondary = this.opts.setup === 'secondary';
    const configFile = secondary ? SECONDARY_CONFIG : SHIPPED_SCHEDULER_CONFIG;
    const webhook = localWebhookConfiguration(this.webhookProxy.port, secondary ? SECONDARY_SCHEDULER_NAME : undefined);
    const webhookName = webhook.metadata?.name ?? '';
    await admission.deleteMutatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
    await admission.createMutatingWebhookConfiguration({ body: webhook });

    for (const [name, extenderPort, webhookPort, schedulerPort] of [['a', extA, whA, schA], ['b', extB, whB, schB]] as const) {
      const extArgs = [
        '--import', 'tsx', join(REPO_ROOT, 'src/cmd/extender.ts'),
        '--kubeconfig', cp.kubeconfigPath, '--port', String(extenderPort), '--log-level', 'info',
        '--webhook-port', String(webhookPort), '--webhook-host', '127.0.0.1', '--webhook-extra-sans', '127.0.0.1', '--webhook-configuration', webhookName,
        ...(secondary ? ['--scheduler-names', SECONDARY_SCHEDULER_NAME] : []),
        ...(this.opts.extenderArgs ?? []),
      ];
      const extender = new Component(`extender-${name}`, process.execPath, () => extArgs, join(cp.logsDir, `extender-${name}.log`), this.writePids);
      // The shipped configuration; only addresses and the kubeconfig are patched, leader election stays on.
      const text = readFileSync(configFile, 'utf8');
      const shipped = parseYaml(text) as Record<string, unknown>;
      const patched = parseYaml(patchSchedulerConfig(text, cp.kubeconfigPath, { configPath: configFile, extenderAddress: `127.0.0.1:${extenderPort}` })) as Record<string, unknown>;
      patched.leaderElection = { ...(shipped.leaderElection as Record<string, unknown>), leaderElect: true };
      const cfgPath = join(this.dir, `kube-scheduler-${name}.yaml`);
      writeFileSync(cfgPath, stringifyYaml(patched));
      const flags = schedulerArgs({ configPath: cfgPath, port: schedulerPort, certDir: join(this.dir, `scheduler-${name}-certs`), verbosity: 2, extra: [] });
      const scheduler = new Component(`kube-scheduler-${name}`, join(cp.binDir, 'kube-scheduler'), () => flags, join(cp.logsDir, `kube-scheduler-${name}.log`), this.writePids);
      this.replicas.push({ name, extender, extenderPort, scheduler, schedulerPort });
    }
    for (const r of this.replicas) r.extender.start();
    for (const r of this.replicas) await this.waitExtender(r);
    await waitForCaBundle(cp.kubeConfig);
    for (const r of this.replicas) {
      r.scheduler.start();
      await this.waitScheduler(r);
    }
    await waitFor(() => this.leader(), 60_000, 'a kube-scheduler replica holding the lease');
    if (secondary) {
      // The cluster's own scheduler, vanilla, for the pods that do not name ours.
      const vanilla = join(this.dir, 'vanilla-kube-scheduler.yaml');
      writeFileSync(vanilla, 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n');
      await cp.startScheduler({ configPath: vanilla });
    }
    const provisionerLog = join(cp.logsDir, 'provisioner.log');
    this.provisioner = await startFakeProvisioner(cp.kubeConfig, { updateReports: true, log: (m) => appendFileSync(provisionerLog, `${new Date().toISOString()} ${m}\n`) });

    // The node agent's own way to kube-apiserver, so it can be cut off alone.
    const api = new URL(cp.apiUrl);
    this.agentProxy = await startCutProxy([{ host: api.hostname, port: Number(api.port) }]);
    if (this.opts.agent) await this.startAgent();
    this.supervisor = setInterval(() => this.supervise(), 1000);
  }

  private async waitExtender(r: Replica, timeoutMs = 120_000): Promise<void> {
    await r.extender.waitReady(async () => (await httpGet(`http://127.0.0.1:${r.extenderPort}/readyz`)).status === 200, timeoutMs);
  }

  private async waitScheduler(r: Replica, timeoutMs = 60_000): Promise<void> {
    await r.scheduler.waitReady(async () => (await httpGet(`https://127.0.0.1:${r.schedulerPort}/readyz`)).status === 200, timeoutMs);
  }

  private async startAgent(): Promise<void> {
    const lab = new LoopLab();
    this.lab = lab;
    await lab.start();
    lab.assertReady();
    const vgName = lab.vg('chaosvg');
    const blank = [lab.loop('blank1', { sizeMiB: 128 }), lab.loop('blank2', { sizeMiB: 128 })];
    const listedWithData = lab.loop('hasfs', { sizeMiB: 64, prepare: (f) => sh('mkfs.ext4', ['-q', '-F', f]) });
    const unlisted = lab.loop('unlisted', { sizeMiB: 64, prepare: (f) => writeFileSync(f, createHash('sha256').update(f).digest().toString('hex').repeat(4096), { flag: 'r+' }) });
    this.agentDevices = { vgName, blank, listedWithData, unlisted };
    await this.core.createNode({
      body: makeNode(AGENT_NODE).label('kubernetes.io/storagetype', 'lvm').taint(AGENT_TAINT).build(),
    });
    const cm = parseYaml(seedConfigMap(vgName, [...blank, listedWithData])) as Record<string, unknown>;
    await this.core.createNamespacedConfigMap({ namespace: 'kube-system', body: cm });
    // The agent's kubeconfig goes through its proxy.
    const path = join(this.dir, 'agent.kubeconfig');
    writeFileSync(path, kubeconfigYaml(`https://${this.agentProxy.address}`, 'admin', this.cp.tokens.get('admin') ?? ''), { mode: 0o600 });
    const args = [
      '--import', 'tsx', NODE_RESOURCE_MANAGER_ENTRY,
      '--kubeconfig', path, '--node-name', AGENT_NODE, '--state-dir', join(lab.dir, 'state'),
      '--metrics-port', '0', '--resync-interval-ms', '3000', '--heartbeat-interval-ms', '5000', '--log-level', 'info',
    ];
    this.agent = new Component('node-resource-manager', process.execPath, () => args, join(this.cp.logsDir, 'node-resource-manager.log'), this.writePids);
    this.agent.start();
  }

  /** Restarts what exited while no fault holds it (kube-scheduler exits when it loses its lease, as in a pod). */
  private supervise(): void {
    if (this.stopped) return;
    const check = (key: HeldComponent, c: Component | undefined, after?: () => Promise<void>) => {
      if (!c || c.running || this.held.has(key)) return;
      this.restarts.push({ component: c.name, at: Date.now() });
      this.opts.log(`supervisor: ${c.name} exited (${JSON.stringify(c.exitInfo)}); starting it again`);
      c.start();
      after?.().catch((err: Error) => this.opts.log(`supervisor: ${c.name} not ready: ${err.message.split('\n')[0]}`));
    };
    for (const r of this.replicas) {
      check(`extender-${r.name}`, r.extender);
      check(`scheduler-${r.name}`, r.scheduler);
    }
    check('agent', this.agent);
  }

  /** The replica whose kube-scheduler holds the lease and runs (from the lease's holder and each log). */
  async leader(): Promise<Replica | undefined> {
    for (const r of this.replicas) {
      if (!r.scheduler.running) continue;
      const log = readFileSync(r.scheduler.logPath, 'utf8').toLowerCase();
      const start = log.lastIndexOf('\n=== ');
      const acquired = log.lastIndexOf('successfully acquired lease');
      const lost = Math.max(log.lastIndexOf('leaderelection lost'), log.lastIndexOf('stopped leading'));
      if (acquired > start && acquired > lost) return r;
    }
    return undefined;
  }

  async waitReplicaReady(r: Replica): Promise<void> {
    await this.waitExtender(r);
    await this.waitScheduler(r);
  }

  /** sha256 of a device's whole content. */
  static async checksum(device: string): Promise<string> {
    const h = createHash('sha256');
    const fh = await open(device, 'r');
    try {
      for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
    } finally {
      await fh.close().catch(() => undefined);
    }
    return h.digest('hex');
  }

  /** The agent VG's PVs and size, as `vgs`/`pvs` report them. */
  agentVg(): { sizeBytes: number; pvs: string[] } | undefined {
    const d = this.agentDevices;
    if (!d) return undefined;
    try {
      const out = JSON.parse(sh('pvs', ['--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'pv_name,vg_name,vg_size'])) as { report: { pv: { pv_name: string; vg_name: string; vg_size: string }[] }[] };
      const pvs = out.report.flatMap((r) => r.pv).filter((p) => p.vg_name === d.vgName);
      if (pvs.length === 0) return { sizeBytes: 0, pvs: [] };
      return { sizeBytes: Number(pvs[0]?.vg_size ?? 0), pvs: pvs.map((p) => p.pv_name).sort() };
    } catch {
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.supervisor) clearInterval(this.supervisor);
    const all = [...this.replicas.flatMap((r) => [r.scheduler, r.extender]), ...(this.agent ? [this.agent] : [])];
    for (const c of all) await c.stop({ graceMs: 3000 });
    await this.provisioner?.stop().catch(() => undefined);
    await this.webhookProxy?.close().catch(() => undefined);
    await this.agentProxy?.close().catch(() => undefined);
    await this.cp.stop();
    await this.lab?.tearDown().catch((err: Error) => this.opts.log(`loop devices: ${err.message}`));
    const d = this.agentDevices;
    if (d && this.lab) this.leftLoopDevices = attachedLoops([...d.blank, d.listedWithData, d.unlisted], this.lab.dir);
    await this.reaper?.stop();
    removeDirs([this.dir]);
  }
}
