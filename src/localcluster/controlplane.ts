// A local Kubernetes control plane: etcd + kube-apiserver + (optionally) kube-scheduler on loopback,
// no kubelet, no kube-controller-manager, no container runtime. Recipe and flags:
// /work/shared/reference/perf-and-harness.md section 3 (the same approach as upstream's
// test/integration/scheduler_perf: Nodes are API objects created with status).
//
// Every child is tracked by PID and killed on stop(), on process 'exit', and by a detached
// shell "reaper" if this process dies without running its exit handlers (SIGKILL, vitest abort).

import { accessSync, constants as fsConstants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { locateBinaries, type ControlPlaneBinaries } from './binaries.js';
import { kubeconfigYaml, writeIdentities, writeKubeconfig, type Identities, type TokenUser } from './credentials.js';
import { apiServerArgs, etcdArgs, featureGateArgs, schedulerArgs } from './flags.js';
import { freePorts, httpGet } from './net.js';
import { Component, installExitHook, isPidAlive, removeDirs, removeDirsOnExit, startReaper, type Reaper, type StopOptions } from './processes.js';
import { patchSchedulerConfig, type SchedulerOptions } from './scheduler-config.js';

export type { StopOptions } from './processes.js';
export type { SchedulerOptions } from './scheduler-config.js';
export type { TokenUser } from './credentials.js';

export interface ControlPlaneOptions {
  /** 'AlwaysAllow' (default) or 'RBAC'. Both authenticate with bearer tokens. */
  authorization?: 'AlwaysAllow' | 'RBAC';
  /** Extra token users (for least-privilege tests). The admin (system:masters) is always there. */
  users?: TokenUser[];
  /** Start kube-scheduler right away; or call startScheduler() later (e.g. after the extender listens). */
  scheduler?: SchedulerOptions;
  /** Appended to kube-apiserver's flags (a repeated flag wins over the default). */
  extraApiServerArgs?: string[];
  /**
   * Version of kube-apiserver and kube-scheduler ("1.37.2"; build.sh builds and caches each version,
   * etcd stays 3.6.16). Default: env K8S_VERSION, else 1.35.4 (binaries.ts DEFAULT_K8S_VERSION).
   */
  k8sVersion?: string;
  /**
   * Feature gates given to kube-apiserver and to every kube-scheduler this control plane starts
   * (`--feature-gates`, before extraApiServerArgs and SchedulerOptions.extraArgs).
   */
  featureGates?: Record<string, boolean>;
  /** Per-component readiness timeout. Default 120 s (kube-apiserver takes ~10-20 s on 2 cores). */
  startTimeoutMs?: number;
  /** Timeout for build.sh. Default 60 min (a cold build; a warm call returns at once). */
  buildTimeoutMs?: number;
  /** Keep the temp dir (logs, configs, etcd data). Default: env KEEP_CONTROLPLANE=1. */
  keep?: boolean;
}

export interface ControlPlaneTimings {
  locateBinariesMs: number;
  etcdMs: number;
  apiServerMs: number;
  schedulerMs?: number;
  totalMs: number;
}

export interface ControlPlane {
  /** Temp dir holding configs, pki, token file and logs. */
  readonly dir: string;
  readonly logsDir: string;
  readonly binDir: string;
  /** The Kubernetes version of kube-apiserver and kube-scheduler ("1.35.4"). */
  readonly k8sVersion: string;
  /** Admin kubeconfig (token in system:masters, TLS verification off: loopback only). */
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly apiUrl: string;
  readonly etcdUrl: string;
  /** https://127.0.0.1:<port>/metrics of kube-scheduler (self-signed TLS), once it runs. */
  readonly schedulerMetricsUrl: string | undefined;
  readonly timings: ControlPlaneTimings;
  /** Bearer token of each token user, by name (including 'admin'). */
  readonly tokens: ReadonlyMap<string, string>;
  /** A KubeConfig (and file) authenticating as one token user. */
  kubeConfigFor(user: string): { kubeConfig: KubeConfig; kubeconfigPath: string };
  /** PIDs of every process this control plane started and that is still alive. */
  pids(): number[];
  /** Every PID this control plane ever started (including exited ones). */
  allPids(): number[];
  startScheduler(opts: SchedulerOptions): Promise<void>;
  stopScheduler(opts?: StopOptions): Promise<void>;
  /**
   * kube-apiserver stops listening within ~0.3 s of SIGTERM but may then wait for clients' open
   * requests to drain; the grace period caps that.
   */
  stopApiServer(opts?: StopOptions): Promise<void>;
  startApiServer(): Promise<void>;
  /** stop + start kube-apiserver on the same port and wait for /readyz (fault tests). */
  restartApiServer(opts?: StopOptions): Promise<void>;
  /** Stops etcd (SIGTERM or SIGKILL); its data directory is kept for startEtcd (fault tests). */
  stopEtcd(opts?: StopOptions): Promise<void>;
  /** Starts etcd again on the same ports and data directory and waits for its /readyz. */
  startEtcd(): Promise<void>;
  /** Sends SIGSTOP or SIGCONT to etcd, kube-apiserver or this control plane's kube-scheduler (a freeze, for fault tests). */
  signal(component: 'etcd' | 'kube-apiserver' | 'kube-scheduler', signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** Kills every child (SIGTERM, then SIGKILL after 2 s), then removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/** The temp dirs of one control plane. */
interface Workspace {
  dir: string;
  etcdDataDir: string;
  logsDir: string;
  pkiDir: string;
  keep: boolean;
}

function makeWorkspace(keep: boolean): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'gang-cp-'));
  let etcdDataDir = join(dir, 'etcd-data');
  // tmpfs makes etcd's writes free; fall back to the temp dir when /dev/shm is absent or read-only.
  try {
    accessSync('/dev/shm', fsConstants.W_OK);
    etcdDataDir = mkdtempSync('/dev/shm/gang-cp-etcd-');
  } catch {
    mkdirSync(etcdDataDir);
  }
  const logsDir = join(dir, 'logs');
  const pkiDir = join(dir, 'pki');
  mkdirSync(logsDir);
  mkdirSync(pkiDir);
  if (!keep) removeDirsOnExit([dir, etcdDataDir]);
  return { dir, etcdDataDir, logsDir, pkiDir, keep };
}

interface Ports {
  etcd: number;
  etcdPeer: number;
  api: number;
}

interface Setup {
  bins: ControlPlaneBinaries;
  ws: Workspace;
  ids: Identities;
  ports: Ports;
  authorization: 'AlwaysAllow' | 'RBAC';
  startTimeoutMs: number;
  extraApiServerArgs: readonly string[];
  featureGates: Readonly<Record<string, boolean>>;
  timings: ControlPlaneTimings;
}

class LocalControlPlane implements ControlPlane {
  readonly dir: string;
  readonly logsDir: string;
  readonly binDir: string;
  readonly k8sVersion: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly apiUrl: string;
  readonly etcdUrl: string;
  readonly timings: ControlPlaneTimings;
  readonly tokens: ReadonlyMap<string, string>;

  private readonly schedulerKubeconfigPath: string;
  private readonly pidFile: string;
  /** Stop order: scheduler, kube-apiserver, etcd. */
  private readonly components: Component[] = [];
  private readonly etcd: Component;
  private readonly apiServer: Component;
  private readonly scheduler: Component;
  private readonly reaper: Reaper;
  private schedulerPort: number | undefined;
  private schedulerFlags: string[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly s: Setup) {
    const { ws, ids, ports } = s;
    this.dir = ws.dir;
    this.logsDir = ws.logsDir;
    this.binDir = s.bins.binDir;
    this.k8sVersion = s.bins.k8sVersion;
    this.tokens = ids.tokens;
    this.timings = s.timings;
    this.etcdUrl = `http://127.0.0.1:${ports.etcd}`;
    this.apiUrl = `https://127.0.0.1:${ports.api}`;

    this.kubeconfigPath = join(ws.dir, 'admin.kubeconfig');
    this.kubeConfig = writeKubeconfig(this.kubeconfigPath, this.apiUrl, 'admin', this.token('admin'));
    const schedulerUser = s.authorization === 'RBAC' ? 'system:kube-scheduler' : 'admin';
    this.schedulerKubeconfigPath = join(ws.dir, 'scheduler.kubeconfig');
    writeFileSync(this.schedulerKubeconfigPath, kubeconfigYaml(this.apiUrl, schedulerUser, this.token(schedulerUser)), { mode: 0o600 });

    // Once this process is gone, the reaper kills the PIDs in pidFile and removes the temp dirs.
    this.pidFile = join(ws.dir, 'pids');
    this.writePidFile();
    this.reaper = startReaper(this.pidFile, ws.keep, [ws.dir, ws.etcdDataDir]);

    const log = (name: string) => join(ws.logsDir, `${name}.log`);
    const etcdFlags = etcdArgs({ dataDir: ws.etcdDataDir, clientUrl: this.etcdUrl, peerPort: ports.etcdPeer });
    this.etcd = new Component('etcd', s.bins.etcd, () => etcdFlags, log('etcd'), this.writePidFile);
    const apiFlags = apiServerArgs({
      etcdUrl: this.etcdUrl,
      port: ports.api,
      pkiDir: ws.pkiDir,
      saKeyPath: ids.saKeyPath,
      authorization: s.authorization,
      tokenFile: ids.tokenFile,
      extra: [...featureGateArgs(s.featureGates), ...s.extraApiServerArgs],
    });
    this.apiServer = new Component('kube-apiserver', s.bins.kubeApiServer, () => apiFlags, log('kube-apiserver'), this.writePidFile);
    this.scheduler = new Component('kube-scheduler', s.bins.kubeScheduler, () => this.schedulerFlags, log('kube-scheduler'), this.writePidFile);
    this.components.push(this.scheduler, this.apiServer, this.etcd);
  }

  private token(user: string): string {
    return this.tokens.get(user) as string;
  }

  private readonly writePidFile = (): void => {
    const pids = this.components.map((c) => c.pid).filter((p): p is number => p !== undefined);
    try {
      writeFileSync(this.pidFile, pids.join(' ') + '\n');
    } catch {
      // dir removed during stop(): nothing left to reap
    }
  };

  get schedulerMetricsUrl(): string | undefined {
    return this.scheduler.running && this.schedulerPort !== undefined ? `https://127.0.0.1:${this.schedulerPort}/metrics` : undefined;
  }

  /** etcd, then kube-apiserver with the 'default' namespace, then kube-scheduler when asked. */
  async boot(scheduler: SchedulerOptions | undefined): Promise<void> {
    let t = Date.now();
    this.etcd.start();
    await this.etcd.waitReady(async () => (await httpGet(`${this.etcdUrl}/readyz`)).status === 200, this.s.startTimeoutMs);
    this.timings.etcdMs = Date.now() - t;

    t = Date.now();
    await this.startApiServerInner();
    // /readyz does not wait for the system-namespaces controller; pods in 'default' need it.
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    await this.apiServer.waitReady(async () => {
      try {
        await core.readNamespace({ name: 'default' });
        return true;
      } catch {
        return false;
      }
    }, this.s.startTimeoutMs);
    this.timings.apiServerMs = Date.now() - t;

    if (scheduler) await this.startScheduler(scheduler);
  }

  private async startApiServerInner(): Promise<void> {
    this.apiServer.start();
    await this.apiServer.waitReady(async () => (await httpGet(`${this.apiUrl}/readyz`, this.token('admin'))).status === 200, this.s.startTimeoutMs);
  }

  kubeConfigFor(user: string): { kubeConfig: KubeConfig; kubeconfigPath: string } {
    const token = this.tokens.get(user);
    if (token === undefined) throw new Error(`no token user ${user}; pass it in ControlPlaneOptions.users`);
    const path = join(this.dir, `${user.replace(/[^A-Za-z0-9_.-]/g, '_')}.kubeconfig`);
    return { kubeConfig: writeKubeconfig(path, this.apiUrl, user, token), kubeconfigPath: path };
  }

  pids(): number[] {
    const reaperPid = this.reaper.pid;
    return [...this.components.map((c) => c.pid), reaperPid !== undefined && isPidAlive(reaperPid) ? reaperPid : undefined].filter((p): p is number => p !== undefined);
  }

  allPids(): number[] {
    return [...this.components.flatMap((c) => c.everPids), ...(this.reaper.pid !== undefined ? [this.reaper.pid] : [])];
  }

  async startScheduler(so: SchedulerOptions): Promise<void> {
    if (this.stopping) throw new Error('control plane is stopped');
    if (this.scheduler.running) throw new Error('kube-scheduler already runs; stopScheduler() first');
    const t = Date.now();
    this.schedulerPort ??= (await freePorts(1))[0] as number;
    const port = this.schedulerPort;
    const patched = patchSchedulerConfig(readFileSync(so.configPath, 'utf8'), this.schedulerKubeconfigPath, so);
    const cfgPath = join(this.dir, 'kube-scheduler-config.yaml');
    writeFileSync(cfgPath, patched);
    this.schedulerFlags = schedulerArgs({ configPath: cfgPath, port, certDir: join(this.s.ws.pkiDir, 'scheduler'), verbosity: so.verbosity ?? 2, extra: [...featureGateArgs(this.s.featureGates), ...(so.extraArgs ?? [])] });
    this.scheduler.bin = so.binary ?? this.s.bins.kubeScheduler;
    this.scheduler.start();
    await this.scheduler.waitReady(async () => (await httpGet(`https://127.0.0.1:${port}/readyz`)).status === 200, this.s.startTimeoutMs);
    this.timings.schedulerMs = Date.now() - t;
  }

  stopScheduler(so?: StopOptions): Promise<void> {
    return this.scheduler.stop(so);
  }

  stopApiServer(so?: StopOptions): Promise<void> {
    return this.apiServer.stop(so);
  }

  async startApiServer(): Promise<void> {
    if (this.stopping) throw new Error('control plane is stopped');
    if (!this.apiServer.running) await this.startApiServerInner();
  }

  async restartApiServer(so?: StopOptions): Promise<void> {
    await this.apiServer.stop(so);
    await this.startApiServerInner();
  }

  stopEtcd(so?: StopOptions): Promise<void> {
    return this.etcd.stop(so);
  }

  async startEtcd(): Promise<void> {
    if (this.stopping) throw new Error('control plane is stopped');
    if (this.etcd.running) return;
    this.etcd.start();
    await this.etcd.waitReady(async () => (await httpGet(`${this.etcdUrl}/readyz`)).status === 200, this.s.startTimeoutMs);
  }

  signal(component: 'etcd' | 'kube-apiserver' | 'kube-scheduler', sig: 'SIGSTOP' | 'SIGCONT'): void {
    const c = component === 'etcd' ? this.etcd : component === 'kube-apiserver' ? this.apiServer : this.scheduler;
    const pid = c.pid;
    if (pid === undefined) throw new Error(`${component} is not running`);
    process.kill(pid, sig);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const c of this.components) await c.stop({ graceMs: 2000 });
      this.writePidFile();
      await this.reaper.stop();
      const { ws } = this.s;
      if (ws.keep) process.stderr.write(`KEEP_CONTROLPLANE: kept ${ws.dir} (etcd data ${ws.etcdDataDir})\n`);
      else removeDirs([ws.dir, ws.etcdDataDir]);
    })();
    return this.stopping;
  }
}

/** Starts etcd + kube-apiserver (+ kube-scheduler when opts.scheduler is given). */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  installExitHook();
  const t0 = Date.now();
  const bins = await locateBinaries({ timeoutMs: opts.buildTimeoutMs, k8sVersion: opts.k8sVersion });
  const timings: ControlPlaneTimings = { locateBinariesMs: Date.now() - t0, etcdMs: 0, apiServerMs: 0, totalMs: 0 };
  const authorization = opts.authorization ?? 'AlwaysAllow';
  const ws = makeWorkspace(opts.keep ?? process.env.KEEP_CONTROLPLANE === '1');
  const ids = writeIdentities(ws.dir, ws.pkiDir, authorization, opts.users ?? []);
  const [etcd, etcdPeer, api] = (await freePorts(3)) as [number, number, number];
  const cp = new LocalControlPlane({
    bins,
    ws,
    ids,
    ports: { etcd, etcdPeer, api },
    authorization,
    startTimeoutMs: opts.startTimeoutMs ?? 120_000,
    extraApiServerArgs: opts.extraApiServerArgs ?? [],
    featureGates: opts.featureGates ?? {},
    timings,
  });
  try {
    await cp.boot(opts.scheduler);
    timings.totalMs = Date.now() - t0;
    return cp;
  } catch (err) {
    await cp.stop();
    throw err;
  }
}
