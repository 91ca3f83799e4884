// A local Kubernetes control plane for end-to-end tests: etcd + kube-apiserver + (optionally)
// kube-scheduler on loopback, no kubelet, no kube-controller-manager, no container runtime.
// Recipe and flags: /work/shared/reference/perf-and-harness.md section 3 (the same approach as
// upstream's test/integration/scheduler_perf: Nodes are API objects created with status).
//
// Every child is tracked by PID and killed on stop(), on process 'exit', and by a detached
// shell "reaper" if this process dies without running its exit handlers (SIGKILL, vitest abort).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_SCRIPT = join(REPO_ROOT, 'test/controlplane/build.sh');
const LOG_TAIL_LINES = 40;

/** A token-authenticated user (kube-apiserver --token-auth-file). */
export interface TokenUser {
  name: string;
  groups?: string[];
  /** Generated when omitted. */
  token?: string;
}

export interface SchedulerOptions {
  /** A KubeSchedulerConfiguration YAML file. Only addresses are patched (see startScheduler). */
  configPath: string;
  /** "host:port" substituted into every extenders[].urlPrefix (scheme and path are kept). */
  extenderAddress?: string;
  /**
   * Appends VolumeBinding args {bindTimeoutSeconds} to every profile's pluginConfig (unless the file
   * already configures VolumeBinding). Off by default: the shipped config stays as users deploy it.
   */
  volumeBindingTimeoutSeconds?: number;
  /** klog verbosity (-v). Default 2: one line per bound pod, enough to debug a test. */
  verbosity?: number;
  extraArgs?: string[];
  /**
   * Another kube-scheduler binary (e.g. one built with out-of-tree plugins by
   * test/controlplane/build-coscheduling.sh). Default: the one build.sh built.
   */
  binary?: string;
}

export interface ControlPlaneOptions {
  /** 'AlwaysAllow' (default) or 'RBAC'. Both authenticate with bearer tokens. */
  authorization?: 'AlwaysAllow' | 'RBAC';
  /** Extra token users (for least-privilege tests). The admin (system:masters) is always there. */
  users?: TokenUser[];
  /** Start kube-scheduler right away; or call startScheduler() later (e.g. after the extender listens). */
  scheduler?: SchedulerOptions;
  /** Appended to kube-apiserver's flags (a repeated flag wins over the default). */
  extraApiServerArgs?: string[];
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
  /** Kills every child (SIGTERM, then SIGKILL after 2 s), then removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Process-wide safety net: whatever happens to the test, children die with this process.

const livePids = new Set<number>();
/** Temp dirs of running control planes, removed on 'exit' (unless kept). */
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** True when a process with this PID exists (signal 0 probes without sending anything). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Binaries

export interface ControlPlaneBinaries {
  binDir: string;
  etcd: string;
  kubeApiServer: string;
  kubeScheduler: string;
}

function tail(text: string, lines = LOG_TAIL_LINES): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** Runs test/controlplane/build.sh (instant when the cache is warm) and returns the binaries. */
export async function locateBinaries(timeoutMs = 60 * 60_000): Promise<ControlPlaneBinaries> {
  const howTo =
    'The e2e tests need etcd, kube-apiserver and kube-scheduler built from Go modules. Install Go >= 1.24 ' +
    '(https://go.dev/dl/, with access to the Go module proxy) and run `npm run controlplane:build` ' +
    '(bash test/controlplane/build.sh; a cold build takes ~5-30 min on 2 cores and caches the binaries under ' +
    '~/.cache/gang-lvm-scheduler, or $GANG_LVM_CACHE).';
  const { stdout, stderr, error } = await new Promise<{ stdout: string; stderr: string; error: Error | null }>((res) => {
    execFile('bash', [BUILD_SCRIPT], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, cwd: REPO_ROOT }, (err, out, errOut) =>
      res({ stdout: String(out), stderr: String(errOut), error: err }),
    );
  });
  if (error) {
    throw new Error(`control plane binaries are not available: ${BUILD_SCRIPT} failed (${error.message.split('\n')[0]}).\n${howTo}\n--- build.sh stderr (last ${LOG_TAIL_LINES} lines) ---\n${tail(stderr)}`);
  }
  const binDir = stdout.trim().split('\n').pop() ?? '';
  const bins: ControlPlaneBinaries = {
    binDir,
    etcd: join(binDir, 'etcd'),
    kubeApiServer: join(binDir, 'kube-apiserver'),
    kubeScheduler: join(binDir, 'kube-scheduler'),
  };
  for (const p of [bins.etcd, bins.kubeApiServer, bins.kubeScheduler]) {
    try {
      accessSync(p, fsConstants.X_OK);
    } catch {
      throw new Error(`control plane binaries are not available: build.sh printed "${binDir}" but ${p} is not executable.\n${howTo}`);
    }
  }
  return bins;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open together so the kernel cannot hand the same port out twice.
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<ReturnType<typeof createServer>>((res, rej) => {
        const srv = createServer();
        srv.on('error', rej);
        srv.listen(0, '127.0.0.1', () => res(srv));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** GET with TLS verification off (loopback self-signed certs); never throws, status 0 on transport error. */
export function httpGet(url: string, token?: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((res) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', rejectUnauthorized: false, agent: false, timeout: timeoutMs, headers: token ? { Authorization: `Bearer ${token}` } : {} },
      (resp) => {
        let body = '';
        resp.setEncoding('utf8');
        resp.on('data', (c: string) => (body += c));
        resp.on('end', () => res({ status: resp.statusCode ?? 0, body }));
        resp.on('error', () => res({ status: 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => res({ status: 0, body: e.message }));
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// One managed child process

export interface StopOptions {
  /** SIGTERM (default, graceful) or SIGKILL (a crash). */
  signal?: 'SIGTERM' | 'SIGKILL';
  /** SIGKILL after this long. Default 5000 ms. */
  graceMs?: number;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class Component {
  child: ChildProcess | undefined;
  exited: Promise<ExitInfo> | undefined;
  exitInfo: ExitInfo | undefined;
  readonly everPids: number[] = [];

  constructor(
    readonly name: string,
    /** Mutable so kube-scheduler can be restarted from another binary (SchedulerOptions.binary). */
    public bin: string,
    readonly args: () => string[],
    readonly logPath: string,
    private readonly onPidsChanged: () => void,
  ) {}

  start(): void {
    const fd = openSync(this.logPath, 'a');
    writeFileSync(fd, `\n=== ${new Date().toISOString()} starting ${this.bin} ${this.args().join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(this.bin, this.args(), { stdio: ['ignore', fd, fd], detached: false });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitInfo = undefined;
    const pid = child.pid;
    if (pid !== undefined) {
      livePids.add(pid);
      this.everPids.push(pid);
    }
    this.exited = new Promise<ExitInfo>((res) => {
      const done = (info: ExitInfo) => {
        if (pid !== undefined) livePids.delete(pid);
        this.exitInfo = info;
        this.onPidsChanged();
        res(info);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (err) => {
        // spawn failure (ENOENT, EACCES): no 'exit' follows
        writeFileSync(this.logPath, `spawn error: ${err.message}\n`, { flag: 'a' });
        done({ code: -1, signal: null });
      });
    });
    this.onPidsChanged();
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  logTail(): string {
    try {
      return tail(readFileSync(this.logPath, 'utf8'));
    } catch {
      return '(no log)';
    }
  }

  failure(what: string): Error {
    const exit = this.exitInfo ? ` (exited with ${this.exitInfo.signal ?? `code ${this.exitInfo.code}`})` : '';
    return new Error(
      `${this.name} ${what}${exit}. Log ${this.logPath} (removed on stop unless KEEP_CONTROLPLANE=1), last ${LOG_TAIL_LINES} lines:\n${this.logTail()}`,
    );
  }

  /** Polls `probe` until true; fails fast when the process exits. */
  async waitReady(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw this.failure('exited during start-up');
      if (await probe()) return;
      await sleep(100);
    }
    throw this.failure(`was not ready after ${timeoutMs} ms`);
  }

  async stop({ signal = 'SIGTERM', graceMs = 5000 }: StopOptions = {}): Promise<void> {
    const child = this.child;
    if (!child || !this.running || !this.exited) return;
    child.kill(signal);
    const timer = setTimeout(() => {
      if (this.running) child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------

function kubeconfigYaml(server: string, user: string, token: string): string {
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: `${user}@local`, context: { cluster: 'local', user } }],
    'current-context': `${user}@local`,
  });
}

function csvField(s: string): string {
  return /[",\s]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

type YamlMap = Record<string, unknown>;

/**
 * Reads a KubeSchedulerConfiguration and patches only what a loopback test must change: the
 * kubeconfig, client QPS/burst (defaults 50/100 would cap binds), leader election (off: one
 * scheduler, no lease wait), extender host:port. Optionally appends VolumeBinding args.
 */
export function patchSchedulerConfig(text: string, kubeconfigPath: string, opts: SchedulerOptions): string {
  const cfg = parseYaml(text) as YamlMap | null;
  if (!cfg || cfg.kind !== 'KubeSchedulerConfiguration') {
    throw new Error(`${opts.configPath}: not a KubeSchedulerConfiguration (kind ${String(cfg?.kind)})`);
  }
  cfg.clientConnection = { ...((cfg.clientConnection as YamlMap | undefined) ?? {}), kubeconfig: kubeconfigPath, qps: 5000, burst: 5000 };
  cfg.leaderElection = { ...((cfg.leaderElection as YamlMap | undefined) ?? {}), leaderElect: false };
  if (opts.extenderAddress !== undefined && Array.isArray(cfg.extenders)) {
    for (const ext of cfg.extenders as YamlMap[]) {
      if (typeof ext.urlPrefix !== 'string') continue;
      const u = new URL(ext.urlPrefix);
      u.host = opts.extenderAddress;
      ext.urlPrefix = u.toString();
    }
  }
  if (opts.volumeBindingTimeoutSeconds !== undefined) {
    const profiles = (Array.isArray(cfg.profiles) && cfg.profiles.length > 0 ? cfg.profiles : [{ schedulerName: 'default-scheduler' }]) as YamlMap[];
    for (const p of profiles) {
      const pc = (Array.isArray(p.pluginConfig) ? p.pluginConfig : []) as YamlMap[];
      if (!pc.some((x) => x.name === 'VolumeBinding')) {
        pc.push({ name: 'VolumeBinding', args: { bindTimeoutSeconds: opts.volumeBindingTimeoutSeconds } });
      }
      p.pluginConfig = pc;
    }
    cfg.profiles = profiles;
  }
  return stringifyYaml(cfg);
}

function makeTempDirs(): { dir: string; etcdDataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gang-cp-'));
  let etcdDataDir = join(dir, 'etcd-data');
  // tmpfs makes etcd's writes free; fall back to the temp dir when /dev/shm is absent or read-only.
  try {
    accessSync('/dev/shm', fsConstants.W_OK);
    etcdDataDir = mkdtempSync('/dev/shm/gang-cp-etcd-');
  } catch {
    mkdirSync(etcdDataDir);
  }
  return { dir, etcdDataDir };
}

/** Starts etcd + kube-apiserver (+ kube-scheduler when opts.scheduler is given). */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  installExitHook();
  const t0 = Date.now();
  const bins = await locateBinaries(opts.buildTimeoutMs);
  const tBins = Date.now();
  const authorization = opts.authorization ?? 'AlwaysAllow';
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const keep = opts.keep ?? process.env.KEEP_CONTROLPLANE === '1';

  const { dir, etcdDataDir } = makeTempDirs();
  const logsDir = join(dir, 'logs');
  const pkiDir = join(dir, 'pki');
  mkdirSync(logsDir);
  mkdirSync(pkiDir);
  if (!keep) for (const d of [dir, etcdDataDir]) liveDirs.add(d);

  // --- identities -----------------------------------------------------------------------------
  const users: Required<TokenUser>[] = [{ name: 'admin', groups: ['system:masters'], token: randomBytes(24).toString('hex') }];
  if (authorization === 'RBAC') {
    // The scheduler runs as itself so the bootstrap ClusterRoles system:kube-scheduler and
    // system:volume-scheduler apply, as in a kubeadm cluster.
    users.push({ name: 'system:kube-scheduler', groups: [], token: randomBytes(24).toString('hex') });
  }
  for (const u of opts.users ?? []) {
    if (users.some((x) => x.name === u.name)) throw new Error(`duplicate token user ${u.name}`);
    users.push({ name: u.name, groups: u.groups ?? [], token: u.token ?? randomBytes(24).toString('hex') });
  }
  const tokens = new Map(users.map((u) => [u.name, u.token]));
  const tokenFile = join(dir, 'tokens.csv');
  // token,user,uid,"group1,group2"
  writeFileSync(tokenFile, users.map((u, i) => [u.token, csvField(u.name), `uid-${i}`, csvField(u.groups.join(','))].join(',')).join('\n') + '\n', { mode: 0o600 });

  const saKeyPath = join(pkiDir, 'sa.key');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  writeFileSync(saKeyPath, privateKey, { mode: 0o600 });

  const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3) as [number, number, number];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const apiUrl = `https://127.0.0.1:${apiPort}`;

  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(apiUrl, 'admin', tokens.get('admin') as string), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);

  const schedulerUser = authorization === 'RBAC' ? 'system:kube-scheduler' : 'admin';
  const schedulerKubeconfigPath = join(dir, 'scheduler.kubeconfig');
  writeFileSync(schedulerKubeconfigPath, kubeconfigYaml(apiUrl, schedulerUser, tokens.get(schedulerUser) as string), { mode: 0o600 });

  // --- reaper: once this process is gone, kills the PIDs in pidFile and removes the temp dirs ---
  const pidFile = join(dir, 'pids');
  const components: Component[] = [];
  const writePidFile = () => {
    const pids = components.map((c) => c.pid).filter((p): p is number => p !== undefined);
    try {
      writeFileSync(pidFile, pids.join(' ') + '\n');
    } catch {
      // dir removed during stop(): nothing left to reap
    }
  };
  writePidFile();
  const reaper = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; [ -s "$2" ] && kill -9 $(cat "$2") 2>/dev/null; [ "$3" = keep ] || rm -rf "$4" "$5"; exit 0',
      'gang-cp-reaper',
      String(process.pid),
      pidFile,
      keep ? 'keep' : 'remove',
      dir,
      etcdDataDir,
    ],
    { detached: true, stdio: 'ignore' },
  );
  reaper.unref();
  const reaperPid = reaper.pid;
  const reaperExited = new Promise<void>((r) => {
    reaper.once('exit', () => r());
    reaper.once('error', () => r());
  });

  // --- components -----------------------------------------------------------------------------
  const etcd = new Component(
    'etcd',
    bins.etcd,
    () => [
      '--name=default',
      `--data-dir=${etcdDataDir}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
    ],
    join(logsDir, 'etcd.log'),
    writePidFile,
  );
  const apiServer = new Component(
    'kube-apiserver',
    bins.kubeApiServer,
    () => [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${pkiDir}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saKeyPath}`,
      `--service-account-signing-key-file=${saKeyPath}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      `--authorization-mode=${authorization}`,
      `--token-auth-file=${tokenFile}`,
      // No kube-controller-manager: TaintNodesByCondition would taint every new Node not-ready forever,
      // ServiceAccount would wait for a token controller, and StorageObjectInUseProtection adds
      // pvc/pv-protection finalizers that only KCM removes (deleted PVCs would hang Terminating).
      '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition,StorageObjectInUseProtection',
      '--endpoint-reconciler-type=none',
      // Load tests: no in-flight limits, no priority-and-fairness queueing.
      '--max-requests-inflight=0',
      '--max-mutating-requests-inflight=0',
      '--enable-priority-and-fairness=false',
      ...(opts.extraApiServerArgs ?? []),
    ],
    join(logsDir, 'kube-apiserver.log'),
    writePidFile,
  );
  let schedulerPort: number | undefined;
  let schedulerArgs: string[] = [];
  const scheduler = new Component('kube-scheduler', bins.kubeScheduler, () => schedulerArgs, join(logsDir, 'kube-scheduler.log'), writePidFile);
  components.push(scheduler, apiServer, etcd); // stop order

  const timings: ControlPlaneTimings = { locateBinariesMs: tBins - t0, etcdMs: 0, apiServerMs: 0, totalMs: 0 };
  const adminToken = tokens.get('admin') as string;

  const startApiServerInner = async () => {
    apiServer.start();
    await apiServer.waitReady(async () => (await httpGet(`${apiUrl}/readyz`, adminToken)).status === 200, startTimeoutMs);
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const c of components) await c.stop({ graceMs: 2000 });
      writePidFile();
      if (reaperPid !== undefined && isPidAlive(reaperPid)) {
        reaper.ref(); // keep the event loop alive until its exit is reaped
        try {
          process.kill(reaperPid, 'SIGKILL');
        } catch {
          // gone
        }
        await reaperExited; // reaped, so the PID is really gone (no zombie)
      }
      if (keep) {
        process.stderr.write(`KEEP_CONTROLPLANE: kept ${dir} (etcd data ${etcdDataDir})\n`);
      } else {
        for (const d of [dir, etcdDataDir]) {
          rmSync(d, { recursive: true, force: true });
          liveDirs.delete(d);
        }
      }
    })();
    return stopping;
  };

  const startScheduler = async (so: SchedulerOptions): Promise<void> => {
    if (stopping) throw new Error('control plane is stopped');
    if (scheduler.running) throw new Error('kube-scheduler already runs; stopScheduler() first');
    const t = Date.now();
    schedulerPort ??= (await freePorts(1))[0] as number;
    const patched = patchSchedulerConfig(readFileSync(so.configPath, 'utf8'), schedulerKubeconfigPath, so);
    const cfgPath = join(dir, 'kube-scheduler-config.yaml');
    writeFileSync(cfgPath, patched);
    schedulerArgs = [
      `--config=${cfgPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      `--cert-dir=${join(pkiDir, 'scheduler')}`,
      // No --authentication/authorization-kubeconfig: delegated auth is off, so these paths must be open.
      '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
      '--authentication-skip-lookup=true',
      `-v=${so.verbosity ?? 2}`,
      ...(so.extraArgs ?? []),
    ];
    scheduler.bin = so.binary ?? bins.kubeScheduler;
    scheduler.start();
    await scheduler.waitReady(async () => (await httpGet(`https://127.0.0.1:${schedulerPort}/readyz`)).status === 200, startTimeoutMs);
    timings.schedulerMs = Date.now() - t;
  };

  const cp: ControlPlane = {
    dir,
    logsDir,
    binDir: bins.binDir,
    kubeconfigPath,
    kubeConfig,
    apiUrl,
    etcdUrl,
    get schedulerMetricsUrl() {
      return scheduler.running && schedulerPort !== undefined ? `https://127.0.0.1:${schedulerPort}/metrics` : undefined;
    },
    timings,
    tokens,
    kubeConfigFor(user: string) {
      const token = tokens.get(user);
      if (token === undefined) throw new Error(`no token user ${user}; pass it in ControlPlaneOptions.users`);
      const path = join(dir, `${user.replace(/[^A-Za-z0-9_.-]/g, '_')}.kubeconfig`);
      writeFileSync(path, kubeconfigYaml(apiUrl, user, token), { mode: 0o600 });
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      return { kubeConfig: kc, kubeconfigPath: path };
    },
    pids: () => [...components.map((c) => c.pid), reaperPid !== undefined && isPidAlive(reaperPid) ? reaperPid : undefined].filter((p): p is number => p !== undefined),
    allPids: () => [...components.flatMap((c) => c.everPids), ...(reaperPid !== undefined ? [reaperPid] : [])],
    startScheduler,
    stopScheduler: (so?: StopOptions) => scheduler.stop(so),
    stopApiServer: (so?: StopOptions) => apiServer.stop(so),
    async startApiServer() {
      if (stopping) throw new Error('control plane is stopped');
      if (!apiServer.running) await startApiServerInner();
    },
    async restartApiServer(so?: StopOptions) {
      await apiServer.stop(so);
      await startApiServerInner();
    },
    stop,
  };

  try {
    let t = Date.now();
    etcd.start();
    await etcd.waitReady(async () => (await httpGet(`${etcdUrl}/readyz`)).status === 200, startTimeoutMs);
    timings.etcdMs = Date.now() - t;

    t = Date.now();
    await startApiServerInner();
    // /readyz does not wait for the system-namespaces controller; pods in 'default' need it.
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await apiServer.waitReady(async () => {
      try {
        await core.readNamespace({ name: 'default' });
        return true;
      } catch {
        return false;
      }
    }, startTimeoutMs);
    timings.apiServerMs = Date.now() - t;

    if (opts.scheduler) await startScheduler(opts.scheduler);
    timings.totalMs = Date.now() - t0;
    return cp;
  } catch (err) {
    await stop();
    throw err;
  }
}

