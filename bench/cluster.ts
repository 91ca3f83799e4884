// npm run bench:cluster — the product on a real local control plane against its peers (issue 7).
//
//   W1  plain pods:        kube-scheduler + our extender   vs  vanilla kube-scheduler
//   W2  gangs of 8:        ours                            vs  scheduler-plugins Coscheduling (PodGroup CRD) and
//                          Kubernetes' own gang scheduling: gang-1.35 (v1.35.4 alpha, Workload v1alpha1) and gang-1.37
//                          (v1.37.2 beta, Workload + PodGroup v1beta1); opt-in ours-1.37 = ours on v1.37.2 (bench/cluster-peers.ts)
//   W3  one local-LVM PVC: ours only (pods/s, over-commit count, must be 0)
//   W4  contention:        20 gangs each needing 60 % of the GPUs; partly bound gangs, time until all ran (the W2 sides)
//   W5  mixed:             plain pods, gangs of 8 and local-LVM pods interleaved; ours vs vanilla kube-scheduler
//                          on the SAME pods (names, order, pod-group labels, GPU requests, PVCs, fake provisioner;
//                          vanilla treats gang members as plain pods and knows no VGs): plain pods/s ours / vanilla
//                          (target >= 0.95), and per side all-bound time, gangs complete, partly bound gangs (end,
//                          most at once), local-LVM pods bound, VG over-commit; for ours also re-plans, plan
//                          failures, barrier timeouts and released plans (GangPlanReleased)
//
// Each (node count, workload, side) gets a fresh etcd + kube-apiserver (src/localcluster/controlplane.ts),
// N Ready Node objects, and every pod created before kube-scheduler starts; the bound count is then
// sampled from a watch (1 s for throughput as scheduler_perf does, 100 ms for gang states). The
// extender runs as a child process so its CPU seconds and peak RSS come from /proc, from the compiled
// build (dist/, as the image runs it; --extender-runtime tsx for the sources), and during W1 it runs
// with node --cpu-prof for the "what limits us" section.
//
// Every gang side also gets a per-gang timeline from the watch (first / last member bound), and the
// ours sides the extender's GET /debug/gangs/timeline (bench/cluster-timeline.ts).
//
// Flags: --nodes 1000,5000  --workloads W1,W2,W3,W4,W5  --scale full|small  --profile true|false
//        --run-timeout-s 900 (per run)  --w4-max-nodes 1000 (W4 is skipped above it: it needs
//        ceil(0.6 N) x 20 pods)  --sides ours,vanilla,coscheduling,gang-1.35,gang-1.37 (+ ours-1.37)
//        --load 0 (busy-loop processes during each measurement, bench/cluster-load.ts)
//        --ours-gate true (ours with the gang gate, --gang-quorum-gate true; false: the extender's defaults)
//        BENCH_PROFILE_GANGS=1 with --profile true: the extender's CPU profile in the gang workloads too
//        --size w2Gangs=200,w5Plain=4000,w5Gangs=50,w5Lvm=200,...  --out bench  --render <results.json> (only rewrite RESULTS.md)
// Writes bench/results/cluster-<date>[-small].json and regenerates bench/RESULTS.md from it.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { CoreV1Api, StorageV1Api, Watch, type KubeConfig, type V1PersistentVolume, type V1Pod } from '@kubernetes/client-node';
import { locateBinaries } from '../src/localcluster/binaries.js';
import { startControlPlane, type ControlPlane } from '../src/localcluster/controlplane.js';
import { freePort, httpGet } from '../src/localcluster/net.js';
import { GiB, makeNode, makePod, makePvc, type PodBuilder } from '../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, inBatches, waitFor } from '../src/localcluster/objects.js';
import { startFakeProvisioner, type FakeProvisioner } from '../src/localcluster/provisioner.js';
import { registerLocalWebhook, waitForCaBundle } from '../src/localcluster/webhook.js';
import { SHIPPED_SCHEDULER_CONFIG } from '../src/localcluster/paths.js';
import { parseQuantityBytes } from '../src/localcluster/quantity.js';
import { DEFAULT_VG_NAME, LABEL_LOCAL_STORAGE, STORAGE_CLASS_VG_PARAMETER } from '../src/wire/keys.js';
import {
  histogramMean, histogramQuantile, parseProm, renderMarkdown, summariseCpuProfile, sumBy,
  type PartialStats, type ProcStats, type Results, type RunResult, type Side, type ThroughputStats, type Workload,
} from './cluster-report.js';
import { installChildHooks, loadAvg, startLoad, trackChild, type CpuLoad } from './cluster-load.js';
import {
  ALL_SIDES, K8S_BASE, K8S_NEXT, SIDES, SP_VERSION, createInTreeGangs, createPodGroups, createPodsRaw, inTreePodSpecFields,
  installPodGroupCrd, preparePeer, verifyInTreePod, writeConfigs, type Configs, type Peer, type SideSpec,
} from './cluster-peers.js';
import { fetchExtenderTimeline, summariseExtenderTimeline, watchTimeline } from './cluster-timeline.js';
import { GANG_LABEL, NS, PG_LABEL, REPO, log, sleep } from './cluster-util.js';

const W4_HOLD_MS = 2000;
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------------------------------------------
// Arguments and sizes

interface Args {
  nodes: number[];
  workloads: Workload[];
  scale: 'full' | 'small';
  profile: boolean;
  runTimeoutS: number;
  w4MaxNodes: number;
  sides: Side[];
  /** dist: the compiled build (npm run build), as the image runs it; tsx: the sources through the tsx loader (+~100 MiB RSS). */
  extenderRuntime: 'dist' | 'tsx';
  /**
   * Gang workloads. backlog: every pod exists before kube-scheduler starts (a restart or failover with
   * a queue; its first list arrives in no order of ours, so a gang's members are spread through the
   * queue); live: kube-scheduler runs, then the jobs are submitted one after another.
   */
  arrival: 'backlog' | 'live';
  /** --load 2: busy-loop processes during each measurement. */
  load: number;
  /** --ours-gate true: ours runs with the gang gate (--gang-quorum-gate true, admission window at its default). */
  oursGate: boolean;
  /** --size w2Gangs=200,w1Pods=1000: overrides of the scale's sizes. */
  sizeOverrides: Record<string, number>;
  out: string;
  render?: string;
}

function arrivalOf(v: string): 'backlog' | 'live' {
  if (v !== 'backlog' && v !== 'live') throw new Error('--arrival must be backlog or live');
  return v;
}

function boolOf(v: string, flag: string): boolean {
  if (v !== 'true' && v !== 'false') throw new Error(`${flag} must be true or false`);
  return v === 'true';
}

function runtimeOf(v: string): 'dist' | 'tsx' {
  if (v !== 'dist' && v !== 'tsx') throw new Error('--extender-runtime must be dist or tsx');
  return v;
}

/** The extender's entry point and node flags for the chosen runtime; dist is built once per bench run. */
let distBuilt = false;
function extenderEntry(runtime: 'dist' | 'tsx'): { nodeArgs: string[]; entry: string } {
  if (runtime === 'tsx') return { nodeArgs: ['--import', 'tsx'], entry: join(REPO, 'src/cmd/extender.ts') };
  if (!distBuilt) {
    const t = Date.now();
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json')], { cwd: REPO, stdio: 'inherit' });
    log(`extender compiled to dist/ (npm run build) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    distBuilt = true;
  }
  return { nodeArgs: [], entry: join(REPO, 'dist/cmd/extender.js') };
}

function parseArgs(argv: string[]): Args {
  const kv = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) kv.set(a.slice(2, eq), a.slice(eq + 1));
    else kv.set(a.slice(2), argv[++i] ?? '');
  }
  const known = new Set(['nodes', 'workloads', 'scale', 'profile', 'run-timeout-s', 'w4-max-nodes', 'sides', 'load', 'size', 'out', 'render', 'extender-runtime', 'arrival', 'ours-gate']);
  for (const k of kv.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k} (known: ${[...known].join(', ')})`);
  const scale = (kv.get('scale') ?? 'full') as Args['scale'];
  if (scale !== 'full' && scale !== 'small') throw new Error('--scale must be full or small');
  const nodes = (kv.get('nodes') ?? (scale === 'small' ? '100' : '1000,5000')).split(',').map((x) => Number(x.trim()));
  if (nodes.some((n) => !Number.isInteger(n) || n < 10)) throw new Error('--nodes: a comma-separated list of integers >= 10');
  const workloads = (kv.get('workloads') ?? 'W1,W2,W3,W4,W5').split(',').map((x) => x.trim().toUpperCase()) as Workload[];
  if (workloads.some((w) => !['W1', 'W2', 'W3', 'W4', 'W5'].includes(w))) throw new Error('--workloads: a comma-separated subset of W1,W2,W3,W4,W5');
  const sides = (kv.get('sides') ?? DEFAULT_SIDES.join(',')).split(',').map((x) => x.trim()) as Side[];
  if (sides.some((x) => !ALL_SIDES.includes(x))) throw new Error(`--sides: a comma-separated subset of ${ALL_SIDES.join(',')}`);
  const load = Number(kv.get('load') ?? 0);
  if (!Number.isInteger(load) || load < 0 || load > 256) throw new Error('--load: an integer number of busy-loop processes (cores), 0..256');
  return {
    nodes, workloads, scale,
    profile: (kv.get('profile') ?? 'true') !== 'false',
    runTimeoutS: Number(kv.get('run-timeout-s') ?? (scale === 'small' ? 300 : 900)),
    // W4 needs ceil(0.6 N) pods of 8 GPUs per gang: 12,000 pods at 1,000 nodes, 60,000 at 5,000.
    w4MaxNodes: Number(kv.get('w4-max-nodes') ?? 1000),
    sides, load,
    oursGate: boolOf(kv.get('ours-gate') ?? 'true', '--ours-gate'),
    extenderRuntime: runtimeOf(kv.get('extender-runtime') ?? 'dist'),
    arrival: arrivalOf(kv.get('arrival') ?? 'backlog'),
    sizeOverrides: Object.fromEntries((kv.get('size') ?? '').split(',').filter((x) => x.includes('=')).map((x) => {
      const [k, v] = x.split('=') as [string, string];
      if (!Number.isFinite(Number(v))) throw new Error(`--size ${x}: not a number`);
      return [k.trim(), Number(v)];
    })),
    out: resolve(kv.get('out') ?? join(REPO, 'bench')),
    render: kv.get('render'),
  };
}

/** ours-1.37 is opt-in. */
const DEFAULT_SIDES: Side[] = ['ours', 'vanilla', 'coscheduling', 'gang-1.35', 'gang-1.37'];
/** The sides each workload compares, in this order. */
const SIDES_OF: Record<Workload, Side[]> = {
  W1: ['ours', 'vanilla'],
  W2: ['ours', 'ours-1.37', 'coscheduling', 'gang-1.35', 'gang-1.37'],
  W3: ['ours'],
  W4: ['ours', 'ours-1.37', 'coscheduling', 'gang-1.35', 'gang-1.37'],
  W5: ['ours', 'vanilla'],
};

function baseSizes(scale: Args['scale']) {
  return scale === 'small'
    ? { w1Pods: 200, w2Gangs: 20, gangSize: 8, w3Pods: 100, w4Gangs: 20, w4Share: 0.6, w5Plain: 200, w5Gangs: 5, w5Lvm: 20 }
    : { w1Pods: 5000, w2Gangs: 500, gangSize: 8, w3Pods: 2000, w4Gangs: 20, w4Share: 0.6, w5Plain: 4000, w5Gangs: 50, w5Lvm: 200 };
}
type Sizes = ReturnType<typeof baseSizes>;
function sizes(args: Args): Sizes {
  const s = baseSizes(args.scale);
  for (const [k, v] of Object.entries(args.sizeOverrides)) {
    if (!(k in s)) throw new Error(`--size: unknown key ${k} (known: ${Object.keys(s).join(', ')})`);
    (s as Record<string, number>)[k] = v;
  }
  return s;
}

/** W3 claim sizes: a fixed cycle (mean 7.6 GiB) so runs are comparable. */
const W3_CLAIM_GIB = [1, 2, 5, 10, 20];
function w3VgGiB(pods: number, nodes: number): number {
  let demand = 0;
  for (let i = 0; i < pods; i++) demand += W3_CLAIM_GIB[i % W3_CLAIM_GIB.length] as number;
  // 1.5x the total demand spread over the nodes, and room for two of the largest claims per VG.
  return Math.max(Math.ceil((1.5 * demand) / nodes), 2 * Math.max(...W3_CLAIM_GIB));
}

/**
 * W5 creation order: the units of each stream (a plain pod, a whole gang, a local-LVM pod) spread evenly
 * over the run, unit j of n at (j + 0.5) / n, ties in stream order; deterministic.
 */
function interleave<T>(streams: T[][][]): T[] {
  const placed = streams.flatMap((units, s) => units.map((unit, j) => ({ at: (j + 0.5) / units.length, s, unit })));
  placed.sort((a, b) => a.at - b.at || a.s - b.s);
  return placed.flatMap((x) => x.unit);
}

// ---------------------------------------------------------------------------------------------------
// Small process and HTTP helpers


interface ProcSnap {
  comm: string;
  ticks: number;
}

function readStat(pid: number): ProcSnap | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const fields = s.slice(close + 2).split(' ');
    return { comm, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function readStatusKiB(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU ticks of this process's direct children (etcd, kube-apiserver, kube-scheduler, the extender), by pid. */
function childCpu(): Map<number, ProcSnap> {
  const out = new Map<number, ProcSnap>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = s.lastIndexOf(')');
      const fields = s.slice(close + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      const snap = readStat(Number(d));
      if (snap) out.set(Number(d), snap);
    } catch {
      // raced with an exit
    }
  }
  return out;
}

function cpuDelta(before: Map<number, ProcSnap>, after: Map<number, ProcSnap>, extenderPid: number | undefined, skip: readonly number[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, a] of after) {
    if (skip.includes(pid)) continue; // --load busy loops: reported apart (result.load)
    const b = before.get(pid);
    let name = pid === extenderPid ? 'extender' : a.comm;
    if (name === 'sh' || name === 'bash') continue;
    if (name === 'esbuild') name = 'bench (this process)'; // tsx's transpiler, serving this process
    out[name] = (out[name] ?? 0) + (a.ticks - (b?.ticks ?? 0)) / CLK_TCK;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The extender as a child process

interface ExtenderChild {
  pid: number;
  url: string;
  spawnedAtMs: number;
  logPath: string;
  profileDir: string | undefined;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The extender flags ours runs with beyond the defaults (recorded with each run). */
function oursFlags(args: Args): string[] {
  return args.oursGate ? ['--gang-quorum-gate', 'true'] : [];
}

async function startExtender(cp: ControlPlane, workDir: string, opts: { profile: boolean; tag: string; runtime: 'dist' | 'tsx'; extraArgs?: string[] }): Promise<ExtenderChild> {
  const port = await freePort();
  const logPath = join(workDir, `extender-${opts.tag}.log`);
  const profileDir = opts.profile ? join(workDir, `prof-${opts.tag}`) : undefined;
  const { nodeArgs, entry } = extenderEntry(opts.runtime);
  if (profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=1000');
  const fd = openSync(logPath, 'a');
  const spawnedAtMs = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...nodeArgs, entry, '--kubeconfig', cp.kubeconfigPath, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...(opts.extraArgs ?? [])], {
      cwd: REPO, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_ENV: 'production' },
    });
  } finally {
    closeSync(fd);
  }
  trackChild(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`extender exited with ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    return (await httpGet(`${url}/readyz`, undefined, 2000)).status === 200;
  }, 120_000, 'extender /readyz', 200);
  return {
    pid: child.pid as number, url, spawnedAtMs, logPath, profileDir, child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function extenderLogIssues(path: string): { warnings: number; errors: number; samples: string[] } {
  let warnings = 0;
  let errors = 0;
  const samples = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { warnings, errors, samples: [] };
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let level = 50;
    let msg = line;
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      level = j.level ?? 30;
      msg = `${j.msg ?? ''}${j.err?.message ? `: ${j.err.message}` : ''}`;
    } catch {
      // not JSON (a crash trace): count it as an error
    }
    if (level >= 50) errors++;
    else if (level >= 40) warnings++;
    else continue;
    const key = msg.replace(/\d+/g, 'N').slice(0, 200);
    samples.set(key, (samples.get(key) ?? 0) + 1);
  }
  return { warnings, errors, samples: [...samples.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([m, n]) => `${n}× ${m}`) };
}

function schedulerLogErrors(cp: ControlPlane): { errors: number; samples: string[] } {
  let text = '';
  try {
    text = readFileSync(join(cp.logsDir, 'kube-scheduler.log'), 'utf8');
  } catch {
    return { errors: 0, samples: [] };
  }
  let errors = 0;
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!/^E\d{4} /.test(line)) continue;
    errors++;
    const key = line.slice(line.indexOf(']') + 1).replace(/\d+/g, 'N').trim().slice(0, 240);
    samples.set(key, (samples.get(key) ?? 0) + 1);
  }
  return { errors, samples: [...samples.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([m, n]) => `${n}× ${m}`) };
}

// ---------------------------------------------------------------------------------------------------
// Watching pods

/** What a pod is, from its labels and volumes: a gang member, a pod with a claim (local-LVM here), or plain. */
type PodKind = 'plain' | 'gang' | 'lvm';

interface PodState {
  gang: string | undefined;
  kind: PodKind;
  bound: boolean;
}

interface KindState {
  bound: number;
  firstBindMs: number | null;
  lastBindMs: number | null;
}

interface GangState {
  size: number;
  bound: number;
  /** The first member bound (epoch ms); kept when W4 deletes the gang's pods. */
  firstBoundMs: number | null;
  completedAtMs: number | null;
  partialSinceMs: number | null;
  everPartial: boolean;
}

class PodWatcher {
  readonly pods = new Map<string, PodState>();
  readonly gangs = new Map<string, GangState>();
  /** Bound counts by kind (W5 measures the plain pods apart from the rest). */
  readonly kinds: Record<PodKind, KindState> = {
    plain: { bound: 0, firstBindMs: null, lastBindMs: null },
    gang: { bound: 0, firstBindMs: null, lastBindMs: null },
    lvm: { bound: 0, firstBindMs: null, lastBindMs: null },
  };
  boundEver = 0;
  firstBindMs: number | null = null;
  lastBindMs: number | null = null;
  completedGangs = 0;
  lastGangCompletionMs: number | null = null;
  onGangComplete: (gang: string) => void = () => undefined;
  private abort: AbortController | undefined;
  private stopped = false;

  constructor(private readonly kc: KubeConfig, private readonly core: CoreV1Api) {}

  defineGang(name: string, size: number): void {
    this.gangs.set(name, { size, bound: 0, firstBoundMs: null, completedAtMs: null, partialSinceMs: null, everPartial: false });
  }

  async start(): Promise<void> {
    const list = await this.core.listNamespacedPod({ namespace: NS });
    for (const p of list.items) this.apply('ADDED', p);
    await this.watch(list.metadata?.resourceVersion ?? '');
  }

  private async watch(rv: string): Promise<void> {
    const w = new Watch(this.kc);
    this.abort = await w.watch(`/api/v1/namespaces/${NS}/pods`, { resourceVersion: rv, allowWatchBookmarks: true }, (phase, obj) => {
      if (phase === 'BOOKMARK') return;
      this.apply(phase, obj as V1Pod);
    }, (err) => {
      if (this.stopped) return;
      if (err) log(`pod watch ended (${(err as Error).message ?? String(err)}); relisting`);
      void this.start().catch((e: Error) => log(`pod relist failed: ${e.message}`));
    });
  }

  private apply(phase: string, p: V1Pod): void {
    const name = p.metadata?.name ?? '';
    let st = this.pods.get(name);
    if (!st) {
      const gang = p.metadata?.labels?.[GANG_LABEL];
      const kind: PodKind = gang ? 'gang' : (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim) ? 'lvm' : 'plain';
      st = { gang, kind, bound: false };
      this.pods.set(name, st);
    }
    const g = st.gang ? this.gangs.get(st.gang) : undefined;
    if (phase === 'DELETED') {
      if (st.bound && g) g.bound--;
      this.pods.delete(name);
      return;
    }
    if (!st.bound && p.spec?.nodeName) {
      st.bound = true;
      const now = Date.now();
      this.boundEver++;
      this.firstBindMs ??= now;
      this.lastBindMs = now;
      const k = this.kinds[st.kind];
      k.bound++;
      k.firstBindMs ??= now;
      k.lastBindMs = now;
      if (g) {
        g.bound++;
        g.firstBoundMs ??= now;
        if (g.bound === g.size && g.completedAtMs === null) {
          g.completedAtMs = now;
          this.completedGangs++;
          this.lastGangCompletionMs = now;
          this.onGangComplete(st.gang as string);
        }
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

// ---------------------------------------------------------------------------------------------------
// One run

interface RunContext {
  args: Args;
  sizes: Sizes;
  workDir: string;
  configs: Configs;
  peer: Peer | undefined;
}

function throughputStats(samples: number[], pods: number, firstMs: number | null, lastMs: number | null): ThroughputStats {
  // samples are cumulative bound counts every second from scheduler start; drop the leading zeros.
  const deltas: number[] = [];
  for (let i = 1; i < samples.length; i++) deltas.push((samples[i] as number) - (samples[i - 1] as number));
  let start = deltas.findIndex((d) => d > 0);
  if (start < 0) start = deltas.length;
  let end = deltas.length;
  while (end > start && deltas[end - 1] === 0) end--;
  const used = deltas.slice(start, end);
  const sorted = [...used].sort((a, b) => a - b);
  const spanS = firstMs !== null && lastMs !== null ? (lastMs - firstMs) / 1000 : 0;
  return {
    avg: used.length > 0 ? used.reduce((a, b) => a + b, 0) / used.length : 0,
    p50: sorted.length > 0 ? (sorted[Math.floor(sorted.length / 2)] as number) : 0,
    max: sorted.at(-1) ?? 0,
    overall: spanS > 0 && pods > 1 ? pods / spanS : 0,
    samples: used,
  };
}

async function runOne(ctx: RunContext, workload: Workload, nodes: number, side: Side): Promise<RunResult> {
  const { sizes: S } = ctx;
  const spec: SideSpec = SIDES[side];
  const tag = `${workload}-${nodes}-${side}`;
  // W5: both sides get the same pods (plain, gang members, local-LVM), under the same names and in the
  // same order; vanilla kube-scheduler treats the gang members as ordinary pods and knows nothing of VGs.
  const mixed = workload === 'W5';
  const gangWorkload = workload === 'W2' || workload === 'W4' || mixed;
  const gangSize = workload === 'W2' || mixed ? S.gangSize : workload === 'W4' ? Math.ceil(S.w4Share * nodes) : 1;
  const gangs = workload === 'W2' ? S.w2Gangs : workload === 'W4' ? S.w4Gangs : mixed ? S.w5Gangs : 0;
  const lvmPods = workload === 'W3' ? S.w3Pods : mixed ? S.w5Lvm : 0;
  const plainPods = workload === 'W1' ? S.w1Pods : mixed ? S.w5Plain : 0;
  const pods = workload === 'W3' ? lvmPods : plainPods + gangs * gangSize + lvmPods;
  const result: RunResult = {
    workload, nodes, side, k8sVersion: spec.k8sVersion, pods, ...(gangWorkload ? { gangs, gangSize } : {}),
    completed: false, setupS: { controlPlane: 0, seed: 0, schedulerStart: 0 },
    firstBindS: null, allBoundS: null, boundPods: 0,
    throughput: { avg: 0, p50: 0, max: 0, overall: 0, samples: [] },
    latency: { sliP50: null, sliP99: null, attemptP50: null, attemptP99: null, attemptMean: null },
    scheduleAttempts: {}, cpuS: {}, wallS: 0, schedulerLog: { errors: 0, samples: [] },
  };
  log(`${tag}: ${pods} pods${mixed ? ` (${plainPods} plain, ${gangs} gangs of ${gangSize}, ${lvmPods} local-LVM)` : gangWorkload ? ` (${gangs} gangs of ${gangSize})` : ''} on ${nodes} nodes`);
  let cp: ControlPlane | undefined;
  let ext: ExtenderChild | undefined;
  let provisioner: FakeProvisioner | undefined;
  let watcher: PodWatcher | undefined;
  let load: CpuLoad | undefined;
  const loadAvgAtStart = loadAvg();
  const timers: NodeJS.Timeout[] = [];
  try {
    let t = Date.now();
    cp = await startControlPlane({ k8sVersion: spec.k8sVersion, featureGates: spec.featureGates, extraApiServerArgs: spec.apiServerArgs });
    result.setupS.controlPlane = (Date.now() - t) / 1000;
    t = Date.now();
    const kc = cp.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);

    // Nodes: Ready, no kubelet; 8 GPUs each; W3 and W5 nodes (both sides of W5) are local-storage nodes with one VG.
    const vgGiB = w3VgGiB(mixed ? S.w5Lvm : S.w3Pods, nodes);
    const nodeList = Array.from({ length: nodes }, (_, i) => {
      const b = makeNode(`node-${String(i).padStart(5, '0')}`).cpu(32).mem('128Gi').pods(110).gpus(8);
      if (workload === 'W3' || mixed) b.label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: vgGiB * GiB }]);
      return b;
    });
    await createNodes(core, nodeList, 50);

    watcher = new PodWatcher(kc, core);
    const gangNames = Array.from({ length: gangs }, (_, i) => `gang-${String(i).padStart(4, '0')}`);
    for (const g of gangNames) watcher.defineGang(g, gangSize);
    await watcher.start();

    if (gangWorkload && spec.gangApi === 'coscheduling') {
      if (!ctx.peer) throw new Error('peer not prepared');
      await installPodGroupCrd(cp, ctx.peer.crd);
      await createPodGroups(cp, gangNames, gangSize);
    }
    const inTree = gangWorkload && (spec.gangApi === 'workload-v1alpha1' || spec.gangApi === 'podgroup-v1beta1');
    if (inTree) await createInTreeGangs(cp, spec.gangApi, gangNames, gangSize);
    if (lvmPods > 0) {
      await ensureStorageClass(kc.makeApiClient(StorageV1Api));
      await inBatches(Array.from({ length: lvmPods }, (_, i) => i), 50, (i) => createPvc(core, makePvc(`data-${i}`).storage(`${W3_CLAIM_GIB[i % W3_CLAIM_GIB.length]}Gi`)));
      provisioner = await startFakeProvisioner(kc, { updateReports: true });
    }

    if (spec.ours) {
      // The scheduling-mark webhook marks gang and local-LVM pods as they are created, so the extender
      // (which serves it) starts first; kube-scheduler then sends it only the marked pods.
      const webhook = await registerLocalWebhook(kc);
      ext = await startExtender(cp, ctx.workDir, { profile: ctx.args.profile && (workload === 'W1' || process.env.BENCH_PROFILE_GANGS === '1'), tag, runtime: ctx.args.extenderRuntime, extraArgs: [...webhook.extenderArgs, ...oursFlags(ctx.args)] });
      await waitForCaBundle(kc);
    }

    const podList: PodBuilder[] = [];
    if (workload === 'W1') {
      for (let i = 0; i < pods; i++) podList.push(makePod(`pod-${i}`).cpu('100m').mem('128Mi'));
    } else if (workload === 'W3') {
      for (let i = 0; i < pods; i++) podList.push(makePod(`pod-${i}`).cpu('100m').mem('128Mi').pvc(`data-${i}`));
    } else if (mixed) {
      // Plain pods as W1, gang members as W2, local-LVM pods as W3, in one interleaved creation order
      // (the sequence number in every name). kube-scheduler pops the pods of its first list in no
      // order of ours (seen shuffled: equal priority, queue time = arrival from its informer), so the
      // kinds are mixed in its queue either way. Vanilla gets exactly these pods too: the same names,
      // labels (bench/gang and the pod-group labels), GPU requests and claims.
      const units = interleave<{ kind: PodKind; i: number; gang?: string }>([
        Array.from({ length: S.w5Plain }, (_, i) => [{ kind: 'plain', i }]),
        Array.from({ length: S.w5Gangs }, (_, g) => Array.from({ length: S.gangSize }, (_, i) => ({ kind: 'gang', i, gang: gangNames[g] ?? `gang-${String(g).padStart(4, '0')}` }))),
        Array.from({ length: S.w5Lvm }, (_, i) => [{ kind: 'lvm', i }]),
      ]);
      units.forEach((u, seq) => {
        const name = `w5-${String(seq).padStart(5, '0')}-${u.kind === 'gang' ? `${u.gang}-${u.i}` : u.kind === 'lvm' ? `lvm-${u.i}` : `pod-${u.i}`}`;
        if (u.kind === 'plain') podList.push(makePod(name).cpu('100m').mem('128Mi'));
        else if (u.kind === 'gang') podList.push(makePod(name).gpu(1).cpu('500m').mem('256Mi').label(GANG_LABEL, u.gang as string).group(u.gang as string, gangSize));
        else podList.push(makePod(name).cpu('100m').mem('128Mi').pvc(`data-${u.i}`));
      });
    } else {
      const perPod = workload === 'W2' ? { gpu: 1, cpu: '500m' } : { gpu: 8, cpu: '1' };
      for (const g of gangNames) {
        for (let i = 0; i < gangSize; i++) {
          const p = makePod(`${g}-${i}`).gpu(perPod.gpu).cpu(perPod.cpu).mem('256Mi').label(GANG_LABEL, g);
          if (spec.gangApi === 'coscheduling') p.label(PG_LABEL, g);
          else if (spec.ours) p.group(g, gangSize);
          // in-tree: only the bench's label; the gang reference goes into the spec below
          podList.push(p);
        }
      }
    }
    const live = ctx.args.arrival === 'live' && gangWorkload;
    const plane = cp;
    const createAll = async (): Promise<void> => {
      if (inTree) {
        // workloadRef / schedulingGroup are not in the client's V1PodSpec: raw manifests, then one read back.
        await createPodsRaw(plane, podList.map((b) => {
          const m = b.manifest();
          const gang = m.metadata?.labels?.[GANG_LABEL] as string;
          return { ...m, spec: { ...m.spec, ...inTreePodSpecFields(spec.gangApi, gang) } };
        }), 50);
        const first = podList[0]?.manifest();
        if (first) await verifyInTreePod(plane, spec.gangApi, first.metadata?.name as string, first.metadata?.labels?.[GANG_LABEL] as string);
      } else {
        await createPods(core, podList, 50);
      }
    };
    if (!live) {
      await createAll();
      await waitFor(() => (watcher as PodWatcher).pods.size >= pods, 120_000, 'watch sees every pod', 100);
      result.setupS.seed = (Date.now() - t) / 1000;
    }

    if (ext && !live) {
      const e = ext;
      await waitFor(async () => {
        const s = parseProm((await httpGet(`${e.url}/metrics`, undefined, 10_000)).body);
        const c = sumBy(s, 'extender_cache_objects', 'kind');
        return (c.pods ?? 0) >= pods && (c.nodes ?? 0) >= nodes;
      }, 120_000, 'extender cache has every node and pod', 200);
    }

    // --- measure -------------------------------------------------------------------------------
    // --load: the busy loops run from here (just before kube-scheduler starts) to the end of the measurement.
    if (ctx.args.load > 0) load = startLoad(ctx.args.load);
    const loadAvgAtSchedulerStart = loadAvg();
    const cpuBefore = childCpu();
    const benchCpuBefore = process.cpuUsage();
    let tStart = Date.now();
    const deleter = kc.makeApiClient(CoreV1Api);
    if (workload === 'W4') {
      watcher.onGangComplete = (g) => {
        timers.push(setTimeout(() => {
          void deleter.deleteCollectionNamespacedPod({ namespace: NS, labelSelector: `${GANG_LABEL}=${g}`, gracePeriodSeconds: 0 })
            .catch((err: Error) => log(`${tag}: deleting ${g} failed: ${err.message}`));
        }, W4_HOLD_MS));
      };
    }
    await cp.startScheduler({
      // In-tree gangs: the vanilla profile (GangScheduling joins the default plugins when its gate is on).
      configPath: spec.ours ? SHIPPED_SCHEDULER_CONFIG : spec.gangApi === 'coscheduling' ? ctx.configs.coscheduling : ctx.configs.vanilla,
      ...(ext ? { extenderAddress: new URL(ext.url).host } : {}),
      ...(spec.gangApi === 'coscheduling' ? { binary: ctx.peer?.binary } : {}),
      ...(workload === 'W3' || mixed ? { volumeBindingTimeoutSeconds: 60 } : {}),
      verbosity: Number(process.env.BENCH_SCHEDULER_V ?? 1),
    });
    result.setupS.schedulerStart = (Date.now() - tStart) / 1000;
    // --arrival live: the scheduler runs first, then the jobs are submitted (gang by gang, 50 creates
    // at a time), so its queue holds them in arrival order; the clock starts at the first create.
    let creating: Promise<void> | null = null;
    if (gangWorkload) result.arrival = live ? 'live' : 'backlog';
    if (live) {
      tStart = Date.now();
      creating = createAll().catch((err: Error) => { log(`${tag}: creating pods failed: ${err.message}`); });
    }

    const samples: number[] = [0];
    const plainSamples: number[] = [0];
    const partial: PartialStats = { samples: 0, samplesWithPartial: 0, samplesWithTwoOrMore: 0, maxAtOnce: 0, longestPartialMs: 0, gangsEverPartial: 0, partlyBoundAtEnd: 0 };
    let peakRssKiB = 0;
    const deadline = tStart + ctx.args.runTimeoutS * 1000;
    const done = () => (workload === 'W4' ? (watcher as PodWatcher).completedGangs >= gangs : (watcher as PodWatcher).boundEver >= pods);
    let nextSecond = tStart + 1000;
    let lastProgress = '';
    while (!done() && Date.now() < deadline) {
      await sleep(100);
      const now = Date.now();
      if (gangWorkload) {
        let n = 0;
        for (const g of watcher.gangs.values()) {
          const isPartial = g.completedAtMs === null && g.bound > 0 && g.bound < g.size;
          if (isPartial) {
            n++;
            g.partialSinceMs ??= now;
            if (!g.everPartial) {
              g.everPartial = true;
              partial.gangsEverPartial++;
            }
            // Consecutive samples x 100 ms: a gang seen partly bound in one sample counts 100 ms.
            partial.longestPartialMs = Math.max(partial.longestPartialMs, now - g.partialSinceMs + 100);
          } else {
            g.partialSinceMs = null;
          }
        }
        partial.samples++;
        if (n > 0) partial.samplesWithPartial++;
        if (n > 1) partial.samplesWithTwoOrMore++;
        partial.maxAtOnce = Math.max(partial.maxAtOnce, n);
      }
      while (now >= nextSecond) {
        samples.push(watcher.boundEver);
        plainSamples.push(watcher.kinds.plain.bound);
        nextSecond += 1000;
        if (ext) peakRssKiB = Math.max(peakRssKiB, readStatusKiB(ext.pid, 'VmRSS'));
        const progress = `${watcher.boundEver}/${pods} bound${mixed ? ` (${watcher.kinds.plain.bound}/${plainPods} plain)` : ''}${gangWorkload ? `, ${watcher.completedGangs}/${gangs} gangs complete` : ''}`;
        if (samples.length % 10 === 0 && progress !== lastProgress) log(`${tag}: ${progress} after ${((now - tStart) / 1000).toFixed(0)} s`);
        lastProgress = progress;
      }
    }
    samples.push(watcher.boundEver);
    plainSamples.push(watcher.kinds.plain.bound);
    const tEnd = Date.now();
    if (creating) await creating;
    if (load) {
      const busyCpuS = load.cpuS(CLK_TCK);
      await load.stop();
      result.load = { cores: load.cores, loadAvgAtStart, loadAvgAtSchedulerStart, loadAvgAtEnd: loadAvg(), busyCpuS: Math.round(busyCpuS * 10) / 10 };
    } else {
      result.load = { cores: 0, loadAvgAtStart, loadAvgAtSchedulerStart, loadAvgAtEnd: loadAvg(), busyCpuS: 0 };
    }
    result.completed = done();
    if (!result.completed) result.error = `timed out after ${ctx.args.runTimeoutS} s: ${watcher.boundEver}/${pods} pods bound${gangWorkload ? `, ${watcher.completedGangs}/${gangs} gangs complete` : ''}`;
    result.wallS = (tEnd - tStart) / 1000;
    result.boundPods = watcher.boundEver;
    result.firstBindS = watcher.firstBindMs !== null ? (watcher.firstBindMs - tStart) / 1000 : null;
    result.allBoundS = result.completed ? ((workload === 'W4' ? watcher.lastGangCompletionMs : watcher.lastBindMs) as number - tStart) / 1000 : null;
    result.throughput = throughputStats(samples, watcher.boundEver, watcher.firstBindMs, watcher.lastBindMs);
    if (gangWorkload) {
      partial.partlyBoundAtEnd = [...watcher.gangs.values()].filter((g) => g.completedAtMs === null && g.bound > 0 && g.bound < g.size).length;
      result.partial = partial;
    }
    if (gangWorkload) result.gangTimeline = watchTimeline(watcher.gangs, tStart);
    if (workload === 'W4') {
      const completions = [...watcher.gangs.values()].map((g) => g.completedAtMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
      result.w4 = { gangsCompleted: watcher.completedGangs, timeToAllRunS: result.allBoundS, holdS: W4_HOLD_MS / 1000, completionsS: completions.map((c) => Math.round((c - tStart) / 100) / 10) };
    }

    // --- collect ---------------------------------------------------------------------------------
    const cpuAfter = childCpu();
    const benchCpu = process.cpuUsage(benchCpuBefore);
    result.cpuS = cpuDelta(cpuBefore, cpuAfter, ext?.pid, load?.pids);
    result.cpuS['bench (this process)'] = (result.cpuS['bench (this process)'] ?? 0) + (benchCpu.user + benchCpu.system) / 1e6;
    const metricsUrl = cp.schedulerMetricsUrl;
    if (metricsUrl) {
      const s = parseProm((await httpGet(metricsUrl, undefined, 10_000)).body);
      result.latency = {
        sliP50: histogramQuantile(s, 'scheduler_pod_scheduling_sli_duration_seconds', 0.5),
        sliP99: histogramQuantile(s, 'scheduler_pod_scheduling_sli_duration_seconds', 0.99),
        attemptP50: histogramQuantile(s, 'scheduler_scheduling_attempt_duration_seconds', 0.5, { result: 'scheduled' }),
        attemptP99: histogramQuantile(s, 'scheduler_scheduling_attempt_duration_seconds', 0.99, { result: 'scheduled' }),
        attemptMean: histogramMean(s, 'scheduler_scheduling_attempt_duration_seconds', { result: 'scheduled' }),
      };
      result.scheduleAttempts = sumBy(s, 'scheduler_schedule_attempts_total', 'result');
      if (spec.permit) result.permitWaits = sumBy(s, 'scheduler_permit_wait_duration_seconds_count', 'result');
      // v1.37 with GenericWorkload: one scheduling cycle per pod group.
      if (s.some((x) => x.name === 'scheduler_podgroup_schedule_attempts_total')) {
        result.podGroupAttempts = sumBy(s, 'scheduler_podgroup_schedule_attempts_total', 'result');
        result.latency.podGroupAttemptP50 = histogramQuantile(s, 'scheduler_podgroup_scheduling_attempt_duration_seconds', 0.5, { result: 'scheduled' });
        result.latency.podGroupAttemptP99 = histogramQuantile(s, 'scheduler_podgroup_scheduling_attempt_duration_seconds', 0.99, { result: 'scheduled' });
      }
    }
    if (ext) {
      const s = parseProm((await httpGet(`${ext.url}/metrics`, undefined, 10_000)).body);
      const sums = sumBy(s, 'extender_request_duration_seconds_sum', 'verb');
      const counts = sumBy(s, 'extender_request_duration_seconds_count', 'verb');
      const verbs: Record<string, { count: number; meanMs: number }> = {};
      for (const [v, c] of Object.entries(counts)) if (c > 0) verbs[v] = { count: c, meanMs: (1000 * (sums[v] ?? 0)) / c };
      const proc: ProcStats = { cpuS: result.cpuS.extender ?? 0, peakRssMiB: readStatusKiB(ext.pid, 'VmHWM') / 1024, workloadPeakRssMiB: peakRssKiB / 1024 };
      result.extender = {
        proc, verbs,
        binds: sumBy(s, 'extender_binds_total', 'result'),
        barrierTimeouts: Object.values(sumBy(s, 'extender_gang_barrier_timeouts_total', '')).reduce((a, b) => a + b, 0),
        planFailures: Object.values(sumBy(s, 'extender_gang_plan_failures_total', '')).reduce((a, b) => a + b, 0),
        // Members re-planned because kube-scheduler did not offer their planned node; null: not exposed by this build.
        replans: s.some((x) => x.name === 'extender_gang_replans_total') ? Object.values(sumBy(s, 'extender_gang_replans_total', '')).reduce((a, b) => a + b, 0) : null,
        logWarnings: 0, logErrors: 0, logSamples: [],
        flags: oursFlags(ctx.args),
        gatesRemoved: sumBy(s, 'extender_gang_gates_removed_total', 'result'),
      };
    }
    result.schedulerLog = schedulerLogErrors(cp);
    if (workload === 'W3' && provisioner) {
      result.w3 = { ...(await vgOvercommit(core, vgGiB)), provisionerRefusals: provisioner.failures.length, vgSizeGiB: vgGiB };
    }
    if (mixed) {
      const k = watcher.kinds;
      const sinceStart = (ms: number | null) => (ms !== null ? (ms - tStart) / 1000 : null);
      const lastPlainS = sinceStart(k.plain.lastBindMs);
      const w5: NonNullable<RunResult['w5']> = {
        plainPods, gangPods: gangs * gangSize, lvmPods, vgSizeGiB: vgGiB,
        plainBound: k.plain.bound,
        plainPodsPerS: lastPlainS ? k.plain.bound / lastPlainS : 0,
        plainAllBoundS: k.plain.bound >= plainPods ? lastPlainS : null,
        plainThroughput: throughputStats(plainSamples, k.plain.bound, k.plain.firstBindMs, k.plain.lastBindMs),
        gangPodsBound: k.gang.bound, lvmBound: k.lvm.bound,
        gangsCompleted: watcher.completedGangs,
        gangPodsAllBoundS: watcher.completedGangs >= gangs ? sinceStart(gangs > 0 ? watcher.lastGangCompletionMs : tStart) : null,
        lvmAllBoundS: k.lvm.bound >= lvmPods ? sinceStart(lvmPods > 0 ? k.lvm.lastBindMs : tStart) : null,
        // Gangs partly bound when the run ended and the most seen at once (also in result.partial): on
        // vanilla the members are ordinary pods, so partly bound gangs are expected there.
        gangsPartlyBoundAtEnd: partial.partlyBoundAtEnd, maxPartlyBoundAtOnce: partial.maxAtOnce, gangsEverPartlyBound: partial.gangsEverPartial,
        pvs: null, overcommitVgs: null, overcommitBytes: null, provisionerRefusals: null,
        planReleasedEvents: null, gangsWithPlanReleased: null,
      };
      // VG over-commit from the PVs, on both sides (vanilla knows nothing of VGs; the fake provisioner, like
      // the real one, refuses a claim that does not fit, so vanilla's misplacements show as refusals).
      Object.assign(w5, await vgOvercommit(core, vgGiB), { provisionerRefusals: provisioner?.failures.length ?? null });
      if (spec.ours) {
        // The extender records GangPlanReleased on every member of a released plan (deduplicated per pod and
        // message for 60 s, shed above 200 in flight): a lower bound, and per gang.
        const released = (await core.listNamespacedEvent({ namespace: NS, fieldSelector: 'reason=GangPlanReleased' })).items;
        w5.planReleasedEvents = released.length;
        w5.gangsWithPlanReleased = new Set(released.map((e) => watcher?.pods.get(e.involvedObject.name ?? '')?.gang ?? e.involvedObject.name)).size;
      }
      result.w5 = w5;
    }
    const rate = result.throughput.avg.toFixed(1);
    log(`${tag}: ${result.completed ? 'done' : 'INCOMPLETE'} in ${result.wallS.toFixed(1)} s, ${rate} pods/s avg${result.w5 ? `, plain ${result.w5.plainPodsPerS.toFixed(1)} pods/s from scheduler start` : ''}${result.w4 ? `, ${result.w4.gangsCompleted} gangs ran` : ''}${result.partial ? `, max partly bound gangs ${result.partial.maxAtOnce} (${result.partial.partlyBoundAtEnd} at the end)` : ''}${result.w5?.overcommitVgs ? `, ${result.w5.overcommitVgs} VGs OVER-COMMITTED` : ''}`);

    // The profile is written when the extender exits; its gang timeline must be read before.
    if (ext && gangWorkload) {
      try {
        const { raw } = await fetchExtenderTimeline(ext.url);
        if (raw) writeFileSync(join(ctx.workDir, `timeline-${tag}.json`), JSON.stringify(raw));
        result.extenderTimeline = raw ? summariseExtenderTimeline(raw, watcher.gangs) : null;
      } catch (err) {
        // Not the run's failure: the rest of the results stand, the report shows no timeline.
        log(`${tag}: extender timeline not read: ${(err as Error).message}`);
      }
    }
    if (ext) {
      await ext.stop();
      const issues = extenderLogIssues(ext.logPath);
      if (result.extender) Object.assign(result.extender, { logWarnings: issues.warnings, logErrors: issues.errors, logSamples: issues.samples });
      if (ext.profileDir && existsSync(ext.profileDir)) {
        // One file per thread; with --import tsx the module-loader hooks run on a second thread. The
        // main thread's file (thread id 0) is the one that serves requests.
        const files = readdirSync(ext.profileDir).filter((x) => x.endsWith('.cpuprofile'));
        const file = files.find((x) => x.includes(`.${ext?.pid}.0.`)) ?? files[0];
        if (file) {
          const path = join(ext.profileDir, file);
          result.profile = summariseCpuProfile(path, [(tStart - ext.spawnedAtMs) * 1000, (tEnd - ext.spawnedAtMs) * 1000]);
        }
      }
    }
  } catch (err) {
    result.error = `${(err as Error).message.split('\n')[0]}`;
    log(`${tag}: FAILED: ${(err as Error).stack ?? String(err)}`);
  } finally {
    for (const t of timers) clearTimeout(t);
    if (load) await load.stop();
    watcher?.stop();
    if (cp) {
      try {
        await cp.stopScheduler({ graceMs: 2000 });
      } catch {
        // reported by stop()
      }
    }
    if (ext) await ext.stop().catch(() => undefined);
    if (provisioner) await provisioner.stop().catch(() => undefined);
    if (cp) await cp.stop().catch(() => undefined);
  }
  return result;
}

/** Bytes provisioned beyond a VG's size, from the PersistentVolumes (every node has one VG of vgGiB). */
async function vgOvercommit(core: CoreV1Api, vgGiB: number): Promise<{ pvs: number; overcommitVgs: number; overcommitBytes: number }> {
  const pvs = (await core.listPersistentVolume()).items;
  const used = new Map<string, number>();
  for (const pv of pvs) {
    const node = pvNode(pv);
    const vg = pv.spec?.csi?.volumeAttributes?.[STORAGE_CLASS_VG_PARAMETER] ?? DEFAULT_VG_NAME;
    const key = `${node}/${vg}`;
    used.set(key, (used.get(key) ?? 0) + parseQuantityBytes(pv.spec?.capacity?.storage ?? '0'));
  }
  let overcommitVgs = 0;
  let overcommitBytes = 0;
  for (const b of used.values()) {
    if (b > vgGiB * GiB) {
      overcommitVgs++;
      overcommitBytes += b - vgGiB * GiB;
    }
  }
  return { pvs: pvs.length, overcommitVgs, overcommitBytes };
}

function pvNode(pv: V1PersistentVolume): string {
  for (const term of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const e of term.matchExpressions ?? []) if (e.values?.[0]) return e.values[0];
  }
  return '?';
}

// ---------------------------------------------------------------------------------------------------

function machine(): Results['machine'] {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  return { nproc: cpus().length, memGiB: totalmem() / GiB, cpuModel, node: process.version, loadAvgAtStart: loadAvg() };
}

function writeOutputs(res: Results, out: string, jsonPath: string): void {
  writeFileSync(jsonPath, JSON.stringify(res, null, 2) + '\n');
  writeFileSync(join(out, 'RESULTS.md'), renderMarkdown(res, relative(REPO, jsonPath)));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    // Several files (comma-separated, e.g. quiet and loaded runs) render as one: their runs together.
    const paths = args.render.split(',').map((p) => resolve(p.trim()));
    const all = paths.map((p) => JSON.parse(readFileSync(p, 'utf8')) as Results);
    const res: Results = paths.length === 1 ? (all[0] as Results) : {
      ...(all[0] as Results),
      command: all.map((r) => r.command).join('; '),
      // A later file's run of the same workload, nodes, side, load and arrival replaces an earlier one.
      runs: [...new Map(all.flatMap((r) => r.runs).map((r) => [`${r.workload}|${r.nodes}|${r.side}|${r.load?.cores ?? 0}|${r.arrival ?? 'backlog'}`, r])).values()],
      durationS: all.reduce((t, r) => t + r.durationS, 0),
    };
    writeFileSync(join(args.out, 'RESULTS.md'), renderMarkdown(res, paths.map((p) => relative(REPO, p)).join(', ')));
    log(`rendered ${join(args.out, 'RESULTS.md')} from ${paths.join(', ')}`);
    return;
  }
  installChildHooks(); // SIGINT/SIGTERM: exit through the 'exit' hooks that kill every child
  const t0 = Date.now();
  const date = new Date().toISOString();
  const S = sizes(args);
  const workDir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const configs = writeConfigs(workDir);
  const planned = args.workloads.flatMap((w) => SIDES_OF[w].filter((x) => args.sides.includes(x)));
  // Each version's binaries once up front (a cold build of a new version takes ~30 min on 2 cores), not inside a run.
  const versions = [...new Set(planned.map((x) => SIDES[x].k8sVersion))];
  for (const v of versions) {
    const t = Date.now();
    const bins = await locateBinaries({ k8sVersion: v });
    log(`control plane v${v}: ${bins.binDir} (${((Date.now() - t) / 1000).toFixed(0)} s)`);
  }
  const needPeer = planned.includes('coscheduling') && args.workloads.some((w) => w === 'W2' || w === 'W4');
  const peer = needPeer ? await preparePeer() : undefined;
  if (peer) log(`peer kube-scheduler: ${peer.binary} (${peer.cached ? 'cached' : `built in ${peer.buildS.toFixed(0)} s`})`);
  const resultsDir = join(args.out, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, `cluster-${date.slice(0, 10)}${args.scale === 'small' ? '-small' : ''}.json`);
  const res: Results = {
    date,
    command: `npm run bench:cluster -- ${process.argv.slice(2).join(' ')}`.trim(),
    scale: args.scale,
    machine: machine(),
    versions: { kubernetes: `v${K8S_BASE}`, schedulerPlugins: SP_VERSION, ...(versions.includes(K8S_NEXT) ? { next: `v${K8S_NEXT}` } : {}) },
    load: { cores: args.load },
    sizes: { nodes: args.nodes, workloads: args.workloads, ...S, w3ClaimGiB: W3_CLAIM_GIB, w4HoldS: W4_HOLD_MS / 1000, runTimeoutS: args.runTimeoutS, w4MaxNodes: args.w4MaxNodes },
    peerBuild: { cached: peer?.cached ?? true, seconds: peer?.buildS ?? 0 },
    durationS: 0,
    runs: [],
  };
  const ctx: RunContext = { args, sizes: S, workDir, configs, peer };
  for (const n of args.nodes) {
    for (const w of args.workloads) {
      if (w === 'W4' && n > args.w4MaxNodes) {
        log(`W4 skipped at ${n} nodes (above --w4-max-nodes ${args.w4MaxNodes}: it would need ${20 * Math.ceil(S.w4Share * n)} pods per side)`);
        continue;
      }
      for (const side of SIDES_OF[w].filter((x) => args.sides.includes(x))) {
        res.runs.push(await runOne(ctx, w, n, side));
        res.durationS = (Date.now() - t0) / 1000;
        writeOutputs(res, args.out, jsonPath); // partial results survive an abort
      }
    }
  }
  res.durationS = (Date.now() - t0) / 1000;
  writeOutputs(res, args.out, jsonPath);
  // The work dir keeps the extender logs and raw .cpuprofile files (not committed; the JSON has the summary).
  log(`wrote ${relative(REPO, jsonPath)} and ${relative(REPO, join(args.out, 'RESULTS.md'))} in ${(res.durationS / 60).toFixed(1)} min; extender logs and profiles in ${workDir}`);
}

main().then(() => process.exit(0), (err: Error) => {
  log(`failed: ${err.stack ?? String(err)}`);
  process.exit(1);
});
