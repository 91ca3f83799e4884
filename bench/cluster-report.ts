// The result types of `npm run bench:cluster` (bench/cluster.ts), the small parsers it needs
// (Prometheus text, /proc, V8 .cpuprofile) and the writer of bench/RESULTS.md. RESULTS.md is always
// rendered from the JSON, so `tsx bench/cluster.ts --render bench/results/cluster-<date>.json`
// regenerates it without running anything.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chaosSection, type ChaosResultsFile } from './chaos/report.js';

export type Workload = 'W1' | 'W2' | 'W3' | 'W4' | 'W5';
/** bench/cluster-peers.ts SIDES says what each one runs. */
export type Side = 'ours' | 'ours-1.37' | 'vanilla' | 'coscheduling' | 'gang-1.35' | 'gang-1.37';

export interface ThroughputStats {
  /** scheduler_perf style: mean of the 1 s samples of the bound count, from the first bind to the last. */
  avg: number;
  p50: number;
  max: number;
  /** pods / (last bind - first bind). */
  overall: number;
  samples: number[];
}

export interface LatencyStats {
  /** scheduler_pod_scheduling_sli_duration_seconds (queue entry to bound), histogram-interpolated, seconds. */
  sliP50: number | null;
  sliP99: number | null;
  /** scheduler_scheduling_attempt_duration_seconds{result="scheduled"}: one scheduling cycle (filter, score, extender calls). */
  attemptP50: number | null;
  attemptP99: number | null;
  attemptMean: number | null;
  /** v1.37 in-tree gangs: scheduler_podgroup_scheduling_attempt_duration_seconds{result=scheduled} (one pod group cycle). */
  podGroupAttemptP50?: number | null;
  podGroupAttemptP99?: number | null;
}

export interface ProcStats {
  cpuS: number;
  /** VmHWM: the process's lifetime peak. */
  peakRssMiB: number;
  /** Max VmRSS sampled once a second during the workload. */
  workloadPeakRssMiB: number;
}

export interface ProfileEntry {
  fn: string;
  where: string;
  selfMs: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** Samples inside the workload window (approximate: aligned on the child's spawn time). */
  windowMs: number;
  /** Non-idle sampled time in the window. */
  busyMs: number;
  top: ProfileEntry[];
  byArea: { area: string; selfMs: number; pct: number }[];
}

export interface PartialStats {
  samples: number;
  /** Samples with at least one gang partly bound (0 < bound < size, gang not yet complete). */
  samplesWithPartial: number;
  samplesWithTwoOrMore: number;
  maxAtOnce: number;
  /** Longest continuous span one gang stayed partly bound. */
  longestPartialMs: number;
  /** Gangs that were ever seen partly bound. */
  gangsEverPartial: number;
  /** Gangs partly bound when the run ended (stuck holding resources). */
  partlyBoundAtEnd: number;
}

/** `--load <cores>`: busy loops during the measurement, and the machine's load average around it. */
export interface LoadRecord {
  cores: number;
  /** os.loadavg() (1, 5, 15 min) when the run began (before its control plane), at kube-scheduler start, at the end of the measurement. */
  loadAvgAtStart: number[];
  loadAvgAtSchedulerStart: number[];
  loadAvgAtEnd: number[];
  /** CPU seconds the busy loops got. */
  busyCpuS: number;
}

/** Per gang from the pod watch, ms since kube-scheduler start. */
export interface GangTimelineStats {
  gangsStarted: number;
  gangsComplete: number;
  /** First member bound -> last member bound, complete gangs. */
  spanP50Ms: number | null;
  spanP99Ms: number | null;
  spanMaxMs: number | null;
  /** kube-scheduler start -> the gang's last member bound. */
  allBoundP50Ms: number | null;
  allBoundP99Ms: number | null;
  /** [gang, first member bound, all bound] (ms since scheduler start; null: not yet). */
  perGang: [string, number | null, number | null][];
}

/** Our extender's GET /debug/gangs/timeline at the end of the run, summarised (ms). */
export interface ExtenderTimelineStats {
  gangs: number;
  planned: number;
  plans: number;
  released: number;
  firstFilterToPlanP50Ms: number | null;
  firstFilterToPlanP99Ms: number | null;
  /** planMs -> the first bind arrival at the barrier. */
  planToFirstArrivalP50Ms: number | null;
  planToFirstArrivalP99Ms: number | null;
  /** The first bind arrival -> release (every member bound together). */
  barrierWaitP50Ms: number | null;
  barrierWaitP99Ms: number | null;
  /** Release -> the last member bound as the pod watch saw it. */
  releaseToAllBoundP50Ms: number | null;
  releaseToAllBoundP99Ms: number | null;
  /** Binds failed or refused (the extender keeps the last 20 per gang). */
  failedBinds: number;
  gangsWithFailedBinds: number;
  /** "N× reason", digits replaced by N, most frequent first. */
  failedBindReasons: string[];
  requeued: number;
  /** Gangs the gang gate admitted (plan made before the first filter); absent in runs before it. */
  admitted?: number;
}

export interface RunResult {
  workload: Workload;
  nodes: number;
  side: Side;
  /** kube-apiserver and kube-scheduler version (absent in older results: v1.35.4). */
  k8sVersion?: string;
  pods: number;
  gangs?: number;
  gangSize?: number;
  completed: boolean;
  error?: string;
  setupS: { controlPlane: number; seed: number; schedulerStart: number };
  /** From the kube-scheduler start call. */
  firstBindS: number | null;
  allBoundS: number | null;
  boundPods: number;
  throughput: ThroughputStats;
  latency: LatencyStats;
  scheduleAttempts: Record<string, number>;
  /** Permit waits that ended in rejection (timeout or sibling rejected), by result label. */
  permitWaits?: Record<string, number>;
  /** v1.37 in-tree gangs: scheduler_podgroup_schedule_attempts_total by result. */
  podGroupAttempts?: Record<string, number>;
  load?: LoadRecord;
  /** Gang workloads: 'backlog' (every pod before kube-scheduler starts) or 'live' (submitted to a running scheduler). */
  arrival?: 'backlog' | 'live';
  gangTimeline?: GangTimelineStats;
  /** Ours only; null when the extender does not serve /debug/gangs/timeline (404). */
  extenderTimeline?: ExtenderTimelineStats | null;
  cpuS: Record<string, number>;
  wallS: number;
  extender?: {
    proc: ProcStats;
    verbs: Record<string, { count: number; meanMs: number }>;
    binds: Record<string, number>;
    barrierTimeouts: number;
    planFailures: number;
    /** extender_gang_replans_total: members re-planned because the scheduler did not offer their planned node; null when not exposed. */
    replans?: number | null;
    logWarnings: number;
    logErrors: number;
    logSamples: string[];
    /** Flags beyond the defaults (absent in runs before --ours-gate: none). */
    flags?: string[];
    /** extender_gang_gates_removed_total by result (the gang gate's patches). */
    gatesRemoved?: Record<string, number>;
  };
  schedulerLog: { errors: number; samples: string[] };
  w3?: { pvs: number; overcommitVgs: number; overcommitBytes: number; provisionerRefusals: number; vgSizeGiB: number };
  w4?: { gangsCompleted: number; timeToAllRunS: number | null; holdS: number; completionsS: number[] };
  w5?: W5Result;
  partial?: PartialStats;
  profile?: ProfileSummary;
}

/**
 * W5: plain pods, gang members and local-LVM pods interleaved, the same pods on both sides (ours and
 * vanilla). Results written before that change have a vanilla run with the plain pods alone
 * (gangPods = lvmPods = 0) and null in the gang and VG fields.
 */
export interface W5Result {
  plainPods: number;
  gangPods: number;
  lvmPods: number;
  vgSizeGiB: number;
  plainBound: number;
  /** Plain pods bound / (last plain bind - scheduler start). */
  plainPodsPerS: number;
  plainAllBoundS: number | null;
  /** The 1 s samples of the plain pods' bound count, as W1. */
  plainThroughput: ThroughputStats;
  gangPodsBound: number;
  lvmBound: number;
  /** Both sides (null for vanilla in older results). */
  gangsCompleted: number | null;
  gangPodsAllBoundS: number | null;
  lvmAllBoundS: number | null;
  /** Gangs partly bound when the run ended, the most at once, and ever (as result.partial; absent in older results). */
  gangsPartlyBoundAtEnd?: number | null;
  maxPartlyBoundAtOnce?: number | null;
  gangsEverPartlyBound?: number | null;
  pvs: number | null;
  overcommitVgs: number | null;
  overcommitBytes: number | null;
  provisionerRefusals: number | null;
  /** Ours only: GangPlanReleased Events (one per member of a released plan; a lower bound) and the gangs they name. */
  planReleasedEvents: number | null;
  gangsWithPlanReleased: number | null;
}

export interface Results {
  date: string;
  command: string;
  scale: 'full' | 'small';
  machine: { nproc: number; memGiB: number; cpuModel: string; node: string; loadAvgAtStart: number[] };
  /** kubernetes: the base version (ours, vanilla, Coscheduling, gang-1.35); next: the newer one (gang-1.37, ours-1.37). */
  versions: { kubernetes: string; schedulerPlugins: string; next?: string };
  /** --load (absent in older results: 0). */
  load?: { cores: number };
  sizes: Record<string, unknown>;
  peerBuild: { cached: boolean; seconds: number };
  durationS: number;
  runs: RunResult[];
}

// ---------------------------------------------------------------------------------------------------
// Prometheus text

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return out;
}

/** Sums a counter/gauge over label sets matching `where`, grouped by label `by` (or '' when absent). */
export function sumBy(samples: Sample[], name: string, by: string, where: Record<string, string> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name || !Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    const k = s.labels[by] ?? '';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

/** histogram_quantile over every label set matching `where` (buckets merged), linear within a bucket. */
export function histogramQuantile(samples: Sample[], name: string, q: number, where: Record<string, string> = {}): number | null {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export function histogramMean(samples: Sample[], name: string, where: Record<string, string> = {}): number | null {
  const sum = Object.values(sumBy(samples, `${name}_sum`, '__none', where)).reduce((a, b) => a + b, 0);
  const count = Object.values(sumBy(samples, `${name}_count`, '__none', where)).reduce((a, b) => a + b, 0);
  return count > 0 ? sum / count : null;
}

// ---------------------------------------------------------------------------------------------------
// V8 .cpuprofile

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)']);

export function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (url === '') return `V8 builtins (${fn === '' ? 'anonymous' : 'JSON/Array/...'})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) {
    const pkg = m[1] as string;
    if (['fastify', 'find-my-way', 'avvio', 'light-my-request', 'secure-json-parse', 'fast-json-stringify', '@fastify/error', 'fast-querystring', 'toad-cache'].includes(pkg)) return 'fastify (+ deps)';
    if (pkg === 'pino' || pkg.startsWith('pino-') || pkg === 'sonic-boom' || pkg === 'thread-stream') return 'pino';
    if (pkg === '@kubernetes/client-node' || pkg === 'node-fetch' || pkg === 'js-yaml' || pkg === 'ws') return 'client-node (watch/informers)';
    if (pkg === 'prom-client') return 'prom-client';
    if (pkg === 'tsx' || pkg === 'esbuild' || pkg === 'get-tsconfig') return 'tsx loader';
    return `npm:${pkg}`;
  }
  // @kubernetes/client-node 1.4 builds a new https.Agent per request (KubeConfig.applySecurityAuthentication
  // -> createAgent), so each API call (every Binding) opens a new TLS connection.
  if (url.startsWith('node:_tls') || url.startsWith('node:tls') || fn === 'SecureContext') return 'TLS setup (node:_tls_*)';
  if (url.startsWith('node:')) return 'node internals (http, net, streams, timers)';
  const src = /\/src\/(core|extender|agent|localcluster|cli|wire|config|cmd)\//.exec(url);
  if (src) return `src/${src[1]}`;
  return 'other';
}

function shortUrl(url: string): string {
  const i = url.indexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const j = url.indexOf('/src/');
  if (j >= 0) return url.slice(j + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time per function from a .cpuprofile. windowUs (relative to the profile's start) limits the
 * samples to the workload; idle samples are dropped.
 */
export function summariseCpuProfile(file: string, windowUs?: [number, number], topN = 15): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = 0;
  let windowMs = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (windowUs && (t < windowUs[0] || t > windowUs[1])) continue;
    windowMs += dt / 1000;
    const id = prof.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + dt / 1000);
  }
  const byFn = new Map<string, ProfileEntry>();
  const byArea = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (IDLE.has(functionName)) continue;
    busyMs += ms;
    const fn = functionName === '' ? '(anonymous)' : functionName;
    const where = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${fn}@${where}`;
    const e = byFn.get(key) ?? { fn, where, selfMs: 0, pct: 0 };
    e.selfMs += ms;
    byFn.set(key, e);
    const area = areaOf(functionName, url);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  }
  const pct = (ms: number) => (busyMs > 0 ? (100 * ms) / busyMs : 0);
  return {
    file,
    windowMs: Math.round(windowMs),
    busyMs: Math.round(busyMs),
    top: [...byFn.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, topN).map((e) => ({ ...e, selfMs: Math.round(e.selfMs), pct: Math.round(pct(e.selfMs) * 10) / 10 })),
    byArea: [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({ area, selfMs: Math.round(ms), pct: Math.round(pct(ms) * 10) / 10 })),
  };
}

// ---------------------------------------------------------------------------------------------------
// RESULTS.md

const f = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));
const ms = (s: number | null | undefined): string => (s === null || s === undefined ? '–' : (s * 1000).toFixed(s < 0.1 ? 1 : 0));
const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;

interface Metric {
  name: string;
  get: (r: RunResult) => number | null | undefined;
  fmt: (v: number | null | undefined) => string;
  /** Show the ratio even when a side did not complete (its other numbers then cover only part of the pods). */
  ratioAlways?: boolean;
  noRatio?: boolean;
  /** Which way is better, to pick the best peer (default: lower, as times, counts and CPU). */
  better?: 'higher' | 'lower';
}

const COMMON: Metric[] = [
  { name: 'completed', get: (r) => (r.completed ? 1 : 0), fmt: (v) => (v === 1 ? 'yes' : 'NO'), noRatio: true },
  { name: 'pods/s (avg of 1 s samples)', get: (r) => r.throughput.avg, fmt: (v) => f(v), better: 'higher' },
  { name: 'pods/s (pods / bind span)', get: (r) => r.throughput.overall, fmt: (v) => f(v), better: 'higher' },
  { name: 'time to all bound (s, from scheduler start)', get: (r) => r.allBoundS, fmt: (v) => f(v) },
  { name: 'SLI latency p50 (ms)', get: (r) => r.latency.sliP50, fmt: ms },
  { name: 'SLI latency p99 (ms)', get: (r) => r.latency.sliP99, fmt: ms },
  { name: 'scheduling attempt p50 (ms)', get: (r) => r.latency.attemptP50, fmt: ms },
  { name: 'scheduling attempt p99 (ms)', get: (r) => r.latency.attemptP99, fmt: ms },
  { name: 'attempts: unschedulable', get: (r) => r.scheduleAttempts.unschedulable ?? 0, fmt: (v) => f(v, 0) },
  { name: 'attempts: error', get: (r) => r.scheduleAttempts.error ?? 0, fmt: (v) => f(v, 0) },
  { name: 'kube-scheduler CPU s', get: (r) => r.cpuS['kube-scheduler'], fmt: (v) => f(v) },
  { name: 'kube-apiserver + etcd CPU s', get: (r) => (r.cpuS['kube-apiserver'] ?? 0) + (r.cpuS.etcd ?? 0), fmt: (v) => f(v) },
  { name: 'extender CPU s', get: (r) => r.extender?.proc.cpuS, fmt: (v) => f(v) },
  { name: 'extender peak RSS MiB (VmHWM)', get: (r) => r.extender?.proc.peakRssMiB, fmt: (v) => f(v, 0) },
];
const GANG: Metric[] = [
  { name: 'samples with a partly bound gang', get: (r) => r.partial?.samplesWithPartial, fmt: (v) => f(v, 0) },
  { name: 'max partly bound gangs at once', get: (r) => r.partial?.maxAtOnce, fmt: (v) => f(v, 0) },
  { name: 'longest partly bound span (ms, 100 ms samples)', get: (r) => r.partial?.longestPartialMs, fmt: (v) => f(v, 0) },
  { name: 'gangs partly bound at the end', get: (r) => r.partial?.partlyBoundAtEnd, fmt: (v) => f(v, 0) },
  { name: 'permit waits rejected (peer)', get: (r) => r.permitWaits?.Unschedulable ?? (PERMIT_SIDES.has(r.side) ? 0 : null), fmt: (v) => f(v, 0) },
  { name: 'extender barrier timeouts', get: (r) => r.extender?.barrierTimeouts, fmt: (v) => f(v, 0) },
  { name: 'pod group cycles: scheduled (in-tree 1.37)', get: (r) => r.podGroupAttempts?.scheduled, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'pod group cycles: unschedulable (in-tree 1.37)', get: (r) => r.podGroupAttempts?.unschedulable, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'pod group cycle p50 (ms, in-tree 1.37)', get: (r) => r.latency.podGroupAttemptP50, fmt: ms, noRatio: true },
  { name: 'gang first → last member bound p50 (ms, watch)', get: (r) => r.gangTimeline?.spanP50Ms, fmt: (v) => f(v, 0) },
  { name: 'gang first → last member bound p99 (ms, watch)', get: (r) => r.gangTimeline?.spanP99Ms, fmt: (v) => f(v, 0) },
  { name: 'scheduler start → gang all bound p50 (s)', get: (r) => msToS(r.gangTimeline?.allBoundP50Ms), fmt: (v) => f(v) },
  { name: 'scheduler start → gang all bound p99 (s)', get: (r) => msToS(r.gangTimeline?.allBoundP99Ms), fmt: (v) => f(v) },
];
const W4: Metric[] = [
  { name: 'gangs completed (of 20)', get: (r) => r.w4?.gangsCompleted, fmt: (v) => f(v, 0), ratioAlways: true, better: 'higher' },
  { name: 'time until all gangs have run (s)', get: (r) => r.w4?.timeToAllRunS, fmt: (v) => f(v) },
];
const W3: Metric[] = [
  { name: 'PVs provisioned', get: (r) => r.w3?.pvs, fmt: (v) => f(v, 0) },
  { name: 'over-committed VGs (must be 0)', get: (r) => r.w3?.overcommitVgs, fmt: (v) => f(v, 0) },
  { name: 'provisioner refusals (ResourceExhausted)', get: (r) => r.w3?.provisionerRefusals, fmt: (v) => f(v, 0) },
];

/** W5 partly bound gangs of one run: from its w5 record, else result.partial (older results); null without gangs. */
function w5Partial(r: RunResult | undefined): { atEnd: number | null; max: number | null; ever: number | null } {
  const w = r?.w5;
  const p = r?.partial;
  if (!w || !w.gangPods) return { atEnd: null, max: null, ever: null };
  return {
    atEnd: w.gangsPartlyBoundAtEnd ?? p?.partlyBoundAtEnd ?? null,
    max: w.maxPartlyBoundAtOnce ?? p?.maxAtOnce ?? null,
    ever: w.gangsEverPartlyBound ?? p?.gangsEverPartial ?? null,
  };
}

const W5: Metric[] = [
  { name: 'completed (every pod bound)', get: (r) => (r.completed ? 1 : 0), fmt: (v) => (v === 1 ? 'yes' : 'NO'), noRatio: true },
  { name: '**plain pods/s (scheduler start to last plain pod bound; target ours / vanilla ≥ 0.95)**', get: (r) => r.w5?.plainPodsPerS, fmt: (v) => f(v), ratioAlways: true, better: 'higher' },
  { name: 'plain pods/s (avg of 1 s samples)', get: (r) => r.w5?.plainThroughput.avg, fmt: (v) => f(v), ratioAlways: true, better: 'higher' },
  { name: 'plain pods/s (plain pods / bind span)', get: (r) => r.w5?.plainThroughput.overall, fmt: (v) => f(v), ratioAlways: true, better: 'higher' },
  { name: 'plain pods bound', get: (r) => r.w5?.plainBound, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'time to last plain pod bound (s)', get: (r) => r.w5?.plainAllBoundS, fmt: (v) => f(v), ratioAlways: true },
  { name: 'pods scheduled (plain + gang members + local-LVM)', get: (r) => r.pods, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'time to all pods bound (s, from scheduler start)', get: (r) => r.allBoundS, fmt: (v) => f(v) },
  { name: 'gang pods bound', get: (r) => (r.w5?.gangPods ? r.w5.gangPodsBound : null), fmt: (v) => f(v, 0), noRatio: true },
  { name: 'gangs completed', get: (r) => (r.w5?.gangPods ? r.w5.gangsCompleted : null), fmt: (v) => f(v, 0), noRatio: true },
  { name: 'time to all gang pods bound (s)', get: (r) => r.w5?.gangPodsAllBoundS, fmt: (v) => f(v) },
  { name: '**gangs partly bound at the end**', get: (r) => w5Partial(r).atEnd, fmt: (v) => f(v, 0), noRatio: true },
  { name: '**max partly bound gangs at once**', get: (r) => w5Partial(r).max, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'gangs ever seen partly bound', get: (r) => w5Partial(r).ever, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'samples with a partly bound gang', get: (r) => (r.w5?.gangPods ? r.partial?.samplesWithPartial : null), fmt: (v) => f(v, 0), noRatio: true },
  { name: 'longest partly bound span (ms, 100 ms samples)', get: (r) => (r.w5?.gangPods ? r.partial?.longestPartialMs : null), fmt: (v) => f(v, 0), noRatio: true },
  { name: 'extender barrier timeouts (ours)', get: (r) => r.extender?.barrierTimeouts, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'gang members re-planned (extender_gang_replans_total, ours)', get: (r) => r.extender?.replans, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'gang plan failures (extender_gang_plan_failures_total, ours)', get: (r) => r.extender?.planFailures, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'GangPlanReleased Events (one per member of a released plan, ours)', get: (r) => r.w5?.planReleasedEvents, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'local-LVM pods bound', get: (r) => (r.w5?.lvmPods ? r.w5.lvmBound : null), fmt: (v) => f(v, 0), noRatio: true },
  { name: 'time to all local-LVM pods bound (s)', get: (r) => r.w5?.lvmAllBoundS, fmt: (v) => f(v) },
  { name: 'PVs provisioned', get: (r) => r.w5?.pvs, fmt: (v) => f(v, 0), noRatio: true },
  { name: '**over-committed VGs** (ours must be 0)', get: (r) => r.w5?.overcommitVgs, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'bytes over-committed (ours must be 0)', get: (r) => r.w5?.overcommitBytes, fmt: (v) => f(v, 0), noRatio: true },
  { name: 'provisioner refusals (ResourceExhausted, pod sent back)', get: (r) => r.w5?.provisionerRefusals, fmt: (v) => f(v, 0), noRatio: true },
  ...COMMON.filter((m) => !m.name.startsWith('completed') && !m.name.startsWith('pods/s') && !m.name.startsWith('time to all bound')),
];

const PEER_NAMES: Partial<Record<Side, string>> = {
  coscheduling: 'scheduler-plugins Coscheduling',
  'gang-1.35': 'in-tree gang scheduling 1.35 (alpha)',
  'gang-1.37': 'in-tree gang scheduling 1.37 (beta)',
};

/** W2/W4 name the peers that ran; the rest keep their fixed titles. */
function title(w: Workload, runs: RunResult[]): string {
  if (w !== 'W2' && w !== 'W4') return TITLES[w];
  const peers = runs.map((r) => PEER_NAMES[r.side]).filter((x): x is string => x !== undefined);
  return `${TITLES[w]}, ours vs ${peers.length > 0 ? peers.join(', ') : 'no peer'}${runs.some((r) => r.side === 'ours-1.37') ? ' (and ours on 1.37)' : ''}`;
}

const IN_TREE_METHOD = "In-tree gang scheduling (Kubernetes' own, no scheduler-plugins): **gang-1.35** = kube-apiserver and kube-scheduler v1.35.4 with `--feature-gates=GangScheduling=true,GenericWorkload=true` on both and `--runtime-config=scheduling.k8s.io/v1alpha1=true`, one `scheduling.k8s.io/v1alpha1` Workload per gang (`spec.podGroups: [{name: workers, policy: {gang: {minCount: <gang size>}}}]`) and `spec.workloadRef: {name, podGroup: workers}` on each pod; its GangScheduling plugin (in the default profile once the gate is on) gates a gang at PreEnqueue until minCount pods exist and holds members at Permit until minCount are assumed (a fixed 5 min timeout). **gang-1.37** = v1.37.2 with `--feature-gates=GenericWorkload=true` (1.37 has no GangScheduling gate; the plugin and the pod group scheduling cycle come with GenericWorkload) and `--runtime-config=scheduling.k8s.io/v1beta1=true`, a `scheduling.k8s.io/v1beta1` Workload (`spec.podGroupTemplates`) and PodGroup (`spec.workloadRef: {workloadName, templateName}`, `spec.schedulingPolicy.gang.minCount`) per gang and `spec.schedulingGroup.podGroupName` on each pod; kube-scheduler places a whole pod group in one cycle. Both use the vanilla default profile. Only the bench's own `bench/gang` label is on their pods (no pod-group labels or annotations). Like Coscheduling, their members waiting at Permit hold resources inside kube-scheduler without being bound. \"ours / best peer\" compares ours with the best value among the peers that completed (named in brackets). The gang timeline rows come from the pod watch (first and last member bound per gang); for ours the extender's GET /debug/gangs/timeline adds where a gang's time went before its binds (plan, barrier arrivals, release).";

const TITLES: Record<Workload, string> = {
  W1: 'W1: plain pods, kube-scheduler + extender vs vanilla kube-scheduler',
  W2: 'W2: gangs of 8 (1 GPU + 500m each)',
  W3: 'W3: one csi-local-lvm PVC per pod (ours only)',
  W4: 'W4: contention, 20 gangs each needing 60 % of the GPUs',
  W5: 'W5: mixed plain, gang and local-LVM pods, the same pods on both sides: ours vs vanilla kube-scheduler',
};

/** One side's W5 outcome beyond the plain pods: all bound, gangs, partly bound gangs, local-LVM pods, over-commit. */
function w5SideLine(who: string, r: RunResult, w: W5Result): string {
  const gangs = r.gangs ?? 0;
  const p = w5Partial(r);
  const over = w.overcommitVgs;
  const parts: string[] = [];
  parts.push(r.completed ? `all ${r.pods} pods bound in ${f(r.allBoundS)} s` : `**${r.boundPods} of ${r.pods} pods bound** (did not complete)`);
  if (w.gangPods > 0) {
    const atEnd = p.atEnd ?? 0;
    parts.push(`${w.gangsCompleted ?? '–'} of ${gangs} gangs complete, ${atEnd > 0 ? `**${atEnd} partly bound at the end**` : `${p.atEnd ?? '–'} partly bound at the end`} (max ${p.max ?? '–'} at once, ${p.ever ?? '–'} ever${r.partial ? `, longest ${r.partial.longestPartialMs} ms` : ''})`);
  }
  if (w.lvmPods > 0) {
    parts.push(`${w.lvmBound} of ${w.lvmPods} local-LVM pods bound, ${over === null ? 'over-commit not measured' : over === 0 ? '0 over-committed VGs' : `**${over} over-committed VGs (${w.overcommitBytes ?? '–'} bytes)**`}, ${w.provisionerRefusals ?? '–'} provisioner refusals`);
  }
  if (r.extender) {
    const x = r.extender;
    parts.push(`extender: ${x.replans ?? 'no counter for'} gang members re-planned, ${x.planFailures} plan failures, ${x.barrierTimeouts} barrier timeouts, ${w.planReleasedEvents ?? 0} GangPlanReleased Events (${w.gangsWithPlanReleased ?? 0} gangs)`);
  }
  return `- ${who}: ${parts.join('; ')}.`;
}

/** The W5 pods, the comparison that counts (plain pods/s ours / vanilla) and per side partly bound gangs and VG over-commit. */
function w5Summary(ours: RunResult | undefined, vanilla: RunResult | undefined): string[] {
  const o = ours?.w5;
  const v = vanilla?.w5;
  const L: string[] = [];
  const x = o ?? v;
  const xr = o ? ours : vanilla;
  // Older results: vanilla got the plain pods alone.
  const vanillaPlainOnly = !!v && !!o && v.gangPods === 0 && v.lvmPods === 0 && (o.gangPods > 0 || o.lvmPods > 0);
  if (x && xr) {
    const mix = `${x.plainPods} plain pods (cpu 100m, memory 128Mi, as W1), ${xr.gangs ?? 0} gangs of ${xr.gangSize ?? 0} (1 GPU + 500m each, with the pod-group labels, as W2) and ${x.lvmPods} pods with one csi-local-lvm PVC (as W3), interleaved in one creation order`;
    if (!vanillaPlainOnly) {
      L.push(`**Both sides schedule the same pods**: ${mix}, under the same names, all created before kube-scheduler starts, with the same PVCs and the same fake provisioner running. Vanilla kube-scheduler treats the gang members as ordinary pods and knows nothing of VGs. The same nodes on both sides, each a local-storage node with one ${x.vgSizeGiB} GiB VG. The comparison that counts is what our extender costs plain pods in the same mixed workload: **plain pods/s ours / vanilla, target ≥ 0.95**, each counted from the scheduler start to the last plain pod bound. Next to it, per side, the gangs partly bound (at the end and the most at once; vanilla binds gang members one by one, so it is expected to show them) and the VGs over-committed (counted from the PVs; the fake provisioner, like the real one, refuses a claim that does not fit, so a misplaced claim on vanilla shows as a provisioner refusal and a rescheduled pod rather than as over-commit).`, '');
    } else {
      L.push(`Ours: ${mix}; **vanilla (this older run): the same ${x.plainPods} plain pods alone**, so its gang and local-LVM columns are empty and the ratio compares plain pods in a mixed workload with plain pods alone. The same nodes on both sides, each a local-storage node with one ${x.vgSizeGiB} GiB VG. Plain pods/s is counted from the scheduler start to the last plain pod bound; target ours / vanilla ≥ 0.95.`, '');
    }
  }
  if (o && v) {
    const r = v.plainPodsPerS > 0 ? o.plainPodsPerS / v.plainPodsPerS : null;
    const allPlain = o.plainBound >= o.plainPods && v.plainBound >= v.plainPods;
    const verdict = r === null || !allPlain ? '**not measured** (a side did not bind every plain pod)' : r >= 0.95 ? 'met' : '**NOT met**';
    const po = w5Partial(ours);
    const pv = w5Partial(vanilla);
    const side = (a: number | null | undefined, b: number | null | undefined) => `ours ${a ?? '–'} / vanilla ${b ?? '–'}`;
    L.push(`- **Plain pods/s ours / vanilla = ${r === null ? '–' : `${r.toFixed(2)}×`}** (${f(o.plainPodsPerS)} vs ${f(v.plainPodsPerS)} pods/s; target ≥ 0.95: ${verdict}). Partly bound gangs at the end: ${side(po.atEnd, pv.atEnd)}, most at once: ${side(po.max, pv.max)}; over-committed VGs: ${side(o.overcommitVgs, v.overcommitVgs)}; provisioner refusals: ${side(o.provisionerRefusals, v.provisionerRefusals)}.`);
  }
  if (o && ours) L.push(w5SideLine('Ours', ours, o));
  if (v && vanilla) L.push(vanillaPlainOnly ? `- Vanilla: ${vanilla.completed ? `all ${vanilla.pods} plain pods bound in ${f(vanilla.allBoundS)} s` : `**${vanilla.boundPods} of ${vanilla.pods} pods bound**`} (plain pods alone: no gangs or local-LVM pods on this side in this run).` : w5SideLine('Vanilla', vanilla, v));
  if (L.length > 0 && L.at(-1) !== '') L.push('');
  return L;
}

/** Column order of the sides; ours first, then the peers. */
const SIDE_ORDER: Side[] = ['ours', 'ours-1.37', 'vanilla', 'coscheduling', 'gang-1.35', 'gang-1.37'];
const OURS_SIDES: ReadonlySet<Side> = new Set<Side>(['ours', 'ours-1.37']);
/** Sides whose gangs wait at Permit inside kube-scheduler. */
const PERMIT_SIDES: ReadonlySet<Side> = new Set<Side>(['coscheduling', 'gang-1.35', 'gang-1.37']);
const isOursSide = (r: RunResult): boolean => OURS_SIDES.has(r.side);
const msToS = (x: number | null | undefined): number | null | undefined => (x === null || x === undefined ? x : x / 1000);

interface RatioColumn {
  name: string;
  a: RunResult;
  /** One run: a plain ratio; several: against the best of them. */
  b: RunResult[];
}

function ratioColumns(sides: RunResult[]): RatioColumn[] {
  const ours = sides.find((r) => r.side === 'ours') ?? sides.find(isOursSide);
  const peers = sides.filter((r) => !isOursSide(r));
  const cols: RatioColumn[] = [];
  if (!ours) return cols;
  for (const p of peers) cols.push({ name: `${ours.side} / ${p.side}`, a: ours, b: [p] });
  if (peers.length >= 2) cols.push({ name: `${ours.side} / best peer`, a: ours, b: peers });
  const o137 = sides.find((r) => r.side === 'ours-1.37');
  const g137 = sides.find((r) => r.side === 'gang-1.37');
  if (o137 && g137 && o137 !== ours) cols.push({ name: 'ours-1.37 / gang-1.37', a: o137, b: [g137] });
  return cols;
}

const present = (v: number | null | undefined): v is number => v !== null && v !== undefined;

function ratioCell(m: Metric, col: RatioColumn): string {
  if (m.noRatio) return '';
  const a = m.get(col.a);
  if (col.b.length === 1) {
    const peer = col.b[0] as RunResult;
    const b = m.get(peer);
    const comparable = !present(a) || !present(b) || m.ratioAlways || (col.a.completed && peer.completed);
    return comparable ? ratio(a, b) : '– (incomplete)';
  }
  if (!present(a)) return '–';
  if (!m.ratioAlways && !col.a.completed) return '– (incomplete)';
  const candidates = col.b.filter((p) => present(m.get(p)) && (m.ratioAlways || p.completed));
  if (candidates.length === 0) return '–';
  const higher = m.better === 'higher';
  const best = candidates.reduce((x, y) => ((higher ? (m.get(y) as number) > (m.get(x) as number) : (m.get(y) as number) < (m.get(x) as number)) ? y : x));
  const r = ratio(a, m.get(best));
  return r === '–' ? r : `${r} (${best.side})`;
}

/** One column per side (ours first), then ours / each peer, ours / the best peer, and ours-1.37 / gang-1.37. */
function table(runs: RunResult[], metrics: Metric[]): string {
  const sides = [...runs].sort((a, b) => SIDE_ORDER.indexOf(a.side) - SIDE_ORDER.indexOf(b.side));
  const cols = ratioColumns(sides);
  const rows: string[] = [];
  rows.push(`| metric | ${[...sides.map((r) => r.side), ...cols.map((c) => c.name)].join(' | ')} |`);
  rows.push(`|---|${[...sides, ...cols].map(() => '---:').join('|')}|`);
  for (const m of metrics) {
    const values = sides.map((r) => m.get(r));
    if (!values.some(present)) continue;
    rows.push(`| ${m.name} | ${[...values.map((v) => m.fmt(v)), ...cols.map((c) => ratioCell(m, c))].join(' | ')} |`);
  }
  return rows.join('\n');
}

function notes(r: RunResult | undefined): string[] {
  if (!r) return [];
  const out: string[] = [];
  const who = r.side;
  if (r.error) out.push(`- ${who}: **${r.error}**`);
  if (r.extender && (r.extender.logErrors > 0 || r.extender.logWarnings > 0)) {
    out.push(`- ${who}: extender logged ${r.extender.logErrors} errors, ${r.extender.logWarnings} warnings; e.g. ${r.extender.logSamples.slice(0, 3).map((s) => `\`${s.slice(0, 160)}\``).join('; ')}`);
  }
  if (r.schedulerLog.errors > 0) out.push(`- ${who}: kube-scheduler logged ${r.schedulerLog.errors} error lines; e.g. ${r.schedulerLog.samples.slice(0, 2).map((s) => `\`${s.slice(0, 200)}\``).join('; ')}`);
  if (r.extender && r.extender.barrierTimeouts > 0) {
    out.push(`- ${who}: **${r.extender.barrierTimeouts} gang bind barriers timed out** (${r.extender.binds.held_timeout ?? 0} held binds failed); plan failures ${r.extender.planFailures}; first bind ${f(r.firstBindS)} s after scheduler start`);
  }
  if (r.w4) out.push(`- ${who}: gangs completed at ${r.w4.completionsS.map((x) => `${x.toFixed(1)}`).join(', ') || '(none)'} s`);
  if (r.extender?.flags?.length) out.push(`- ${who}: extender flags \`${r.extender.flags.join(' ')}\`${r.extender.gatesRemoved && Object.keys(r.extender.gatesRemoved).length ? `; gang gates removed ${JSON.stringify(r.extender.gatesRemoved)}` : ''}`);
  if (r.extender && Object.keys(r.extender.binds).length > 0) out.push(`- ${who}: extender binds ${JSON.stringify(r.extender.binds)}; server time per verb ${Object.entries(r.extender.verbs).map(([v, x]) => `${v} ${x.count}× ${x.meanMs.toFixed(2)} ms`).join(', ')}`);
  if (r.extenderTimeline === null) out.push(`- ${who}: extender timeline: not served by this extender (GET /debug/gangs/timeline answered 404)`);
  else if (r.extenderTimeline) out.push(extenderTimelineLine(who, r.extenderTimeline));
  if (r.permitWaits && Object.keys(r.permitWaits).length > 0) out.push(`- ${who}: Permit waits by result ${JSON.stringify(r.permitWaits)}${r.podGroupAttempts ? `; pod group cycles by result ${JSON.stringify(r.podGroupAttempts)}` : ''}`);
  return out;
}

const p50p99 = (a: number | null, b: number | null): string => `p50 ${a ?? '–'} / p99 ${b ?? '–'} ms`;

/** Where our gangs' time went, from the extender's own timeline. */
function extenderTimelineLine(who: string, t: ExtenderTimelineStats): string {
  const failed = t.failedBinds === 0
    ? 'no failed binds'
    : `**${t.failedBinds} failed binds** in ${t.gangsWithFailedBinds} gangs (the extender keeps the last 20 per gang): ${t.failedBindReasons.map((x) => `\`${x.slice(0, 200)}\``).join('; ')}`;
  return `- ${who}: where the gangs' time went (extender /debug/gangs/timeline: ${t.gangs} gangs, ${t.planned} planned in ${t.plans} plans, ${t.released} released${t.requeued ? `, ${t.requeued} members requeued` : ''}${t.admitted ? `, ${t.admitted} admitted by the gang gate (plan made before any member's filter)` : ''}): first filter → plan ${p50p99(t.firstFilterToPlanP50Ms, t.firstFilterToPlanP99Ms)}; **plan → first bind arrival ${p50p99(t.planToFirstArrivalP50Ms, t.planToFirstArrivalP99Ms)}**; **barrier wait (first arrival → release) ${p50p99(t.barrierWaitP50Ms, t.barrierWaitP99Ms)}**; release → last member bound (watch) ${p50p99(t.releaseToAllBoundP50Ms, t.releaseToAllBoundP99Ms)}; ${failed}`;
}

/** One line per run: the --load busy loops and the machine's load average around the measurement. */
/** "cores|arrival" of a run; runs before --load and --arrival count as quiet backlog. */
function conditionOf(r: RunResult): string {
  return `${r.load?.cores ?? 0}|${r.arrival ?? 'backlog'}`;
}

function conditionText(c: string): string {
  const [cores, arrival] = c.split('|');
  const load = cores === '0' ? 'quiet machine' : `loaded: ${cores} busy ${cores === '1' ? 'core' : 'cores'} (--load ${cores})`;
  return `${load}, ${arrival === 'live' ? 'pods submitted to a running scheduler (--arrival live)' : 'every pod queued before kube-scheduler starts (backlog)'}`;
}

function loadLines(res: Results): string[] {
  const runs = res.runs.filter((r) => r.load);
  if (runs.length === 0) return [];
  const la = (x: number[]) => x.map((v) => v.toFixed(2)).join(' / ');
  const L = ['## CPU load and load average per run', ''];
  L.push(`\`--load ${res.load?.cores ?? 0}\`: that many \`node -e 'for(;;){}'\` busy loops (nice 0) run from just before kube-scheduler starts to the end of the measurement, the same on every side. Load average (1 / 5 / 15 min) at the run's start (before its control plane), at kube-scheduler start and at the end of the measurement.`, '');
  for (const r of runs) {
    const l = r.load as LoadRecord;
    L.push(`- ${r.workload}, ${r.nodes} nodes, ${r.side} (Kubernetes ${r.k8sVersion ?? res.versions.kubernetes.replace(/^v/, '')}${r.arrival ? `, arrival ${r.arrival}` : ''}): ${l.cores === 1 ? '1 busy loop' : `${l.cores} busy loops`}${l.cores > 0 ? ` (${l.busyCpuS.toFixed(1)} CPU s in ${r.wallS.toFixed(1)} s)` : ''}; load average ${la(l.loadAvgAtStart)} at start, ${la(l.loadAvgAtSchedulerStart)} at scheduler start, ${la(l.loadAvgAtEnd)} at the end`);
  }
  L.push('');
  return L;
}

export function renderMarkdown(res: Results, jsonPath: string): string {
  const L: string[] = [];
  L.push('# Cluster benchmark (`npm run bench:cluster`)', '');
  L.push(`Generated from \`${jsonPath}\` by bench/cluster-report.ts; do not edit by hand (re-render with \`npx tsx bench/cluster.ts --render ${jsonPath}\`).`, '');
  if (res.scale === 'small') L.push('> **Scale: small** (a quick functional check). These numbers are tiny and noisy and say nothing about performance.', '');
  L.push(`- Date: ${res.date}; total run time ${(res.durationS / 60).toFixed(1)} min`);
  L.push(`- Command: \`${res.command}\``);
  L.push(`- Machine: ${res.machine.nproc} CPUs (${res.machine.cpuModel}), ${res.machine.memGiB.toFixed(1)} GiB memory, Node ${res.machine.node}; load average at start ${res.machine.loadAvgAtStart.map((x) => x.toFixed(2)).join(' / ')}${res.load ? `; \`--load ${res.load.cores}\` (busy loops during each measurement; per run below)` : ''}`);
  L.push(`- Kubernetes ${res.versions.kubernetes} (etcd, kube-apiserver, kube-scheduler from test/controlplane/build.sh); peer: kube-scheduler ${res.versions.kubernetes} + sigs.k8s.io/scheduler-plugins ${res.versions.schedulerPlugins} Coscheduling (test/controlplane/build-coscheduling.sh${res.peerBuild.cached ? ', cached' : `, built in ${res.peerBuild.seconds.toFixed(0)} s`})`);
  const inTree = res.runs.some((r) => r.side === 'gang-1.35' || r.side === 'gang-1.37' || r.side === 'ours-1.37');
  if (inTree) L.push(`- Kubernetes' own gang scheduling: gang-1.35 = kube-apiserver + kube-scheduler ${res.versions.kubernetes} (alpha), gang-1.37 = ${res.versions.next ?? 'v1.37.2'} (beta), both from test/controlplane/build.sh with K8S_VERSION; ours-1.37 = ours against ${res.versions.next ?? 'v1.37.2'}`);
  L.push(`- Sizes: \`${JSON.stringify(res.sizes)}\``);
  L.push('');
  L.push('Method: a fresh etcd + kube-apiserver per run (one run per workload and side), N Ready Node objects (no kubelets; cpu 32, memory 128Gi, pods 110, 8 nvidia.com/gpu), every pod created **before** kube-scheduler starts, then the scheduler is started and the bound count is sampled (1 s for throughput, 100 ms for gang states) from a watch. Client QPS/burst 5000. Ours = the shipped manifests/scheduler/kube-scheduler-config.yaml (extender with filter and bind, nodeCacheCapable, the adaptive default percentageOfNodesToScore) and the extender as a child process (`node dist/cmd/extender.js`, the compiled build as the image runs it, default flags, and in runs that list them under each table (`extender flags`) the gang gate: `--gang-quorum-gate true`, which admits a gang into kube-scheduler\'s queue only when it fits as a whole; in W1 with `--cpu-prof`, 1 ms sampling, a few % overhead; `--profile false` turns it off). Vanilla = no extenders, default percentageOfNodesToScore. Coscheduling = queueSort/preFilter/postFilter/permit/reserve Coscheduling, PrioritySort off, permitWaitingTimeSeconds 10, PodGroups with minMember = gang size. Latencies come from kube-scheduler\'s own histograms (interpolated within buckets); because all pods are queued at scheduler start, the SLI latency mostly measures queueing and tracks the time to all bound, while the attempt duration (scheduler_scheduling_attempt_duration_seconds{result=scheduled}, recorded after the bind) spans one pod\'s scheduling and binding cycles: the extender\'s filter round trip and its bind, including the gang barrier wait; for Coscheduling the Permit wait. Ratios are ours / peer: above 1 is better for pods/s, below 1 is better for times; they are left out when a side did not complete (its numbers then cover only the pods it bound).', '');
  L.push('Partly bound gangs are observed through the API (a gang with some but not all members bound and not yet complete, sampled every 100 ms). Both gang mechanisms release a gang at once (our bind barrier, Coscheduling\'s Permit) and then write one Binding per pod, so a sample can catch a gang half-written for a few hundred ms; the longest span and the count at the end separate that from a gang that really holds part of the cluster. Coscheduling\'s members waiting at Permit hold resources inside the scheduler without being bound, so they never show here; "permit waits rejected" counts those that timed out or were rejected.', '');
  if (inTree) L.push(IN_TREE_METHOD, '');
  const nodesList = [...new Set(res.runs.map((r) => r.nodes))].sort((a, b) => a - b);
  for (const n of nodesList) {
    L.push(`## ${n} nodes`, '');
    for (const w of ['W1', 'W2', 'W3', 'W4', 'W5'] as Workload[]) {
      // One table per condition: the CPU load (--load) and, for gangs, how the pods arrived (--arrival).
      const conditions = [...new Set(res.runs.filter((r) => r.nodes === n && r.workload === w).map(conditionOf))].sort();
      for (const c of conditions) {
      const runs = res.runs.filter((r) => r.nodes === n && r.workload === w && conditionOf(r) === c);
      if (runs.length === 0) continue;
      runs.sort((a, b) => SIDE_ORDER.indexOf(a.side) - SIDE_ORDER.indexOf(b.side));
      const ours = runs.find((r) => r.side === 'ours');
      const sizeNote = runs[0] as RunResult;
      L.push(`### ${title(w, runs)}${conditions.length > 1 || c !== '0|backlog' ? ` — ${conditionText(c)}` : ''}`, '');
      if (w === 'W5') L.push(...w5Summary(ours, runs.find((r) => r.side === 'vanilla')));
      else L.push(`${sizeNote.pods} pods${sizeNote.gangs ? ` in ${sizeNote.gangs} gangs of ${sizeNote.gangSize}` : ''}.`, '');
      const metrics = w === 'W1' ? COMMON : w === 'W3' ? [...COMMON, ...W3] : w === 'W4' ? [...W4, ...COMMON.filter((m) => !m.name.startsWith('pods/s (pods')), ...GANG] : w === 'W5' ? W5 : [...COMMON, ...GANG];
      L.push(table(runs, metrics), '');
      const ns = runs.flatMap((r) => notes(r));
      if (ns.length > 0) L.push(...ns, '');
      }
    }
  }
  L.push(...loadLines(res));
  // What limits us
  L.push('## What limits us', '');
  const gangTrouble = res.runs.filter((r) => isOursSide(r) && r.extender && (r.extender.barrierTimeouts > 0 || !r.completed));
  for (const r of gangTrouble) {
    const x = r.extender as NonNullable<RunResult['extender']>;
    L.push(`- ${r.workload}, ${r.nodes} nodes${r.side === 'ours' ? '' : ` (${r.side})`}: ${r.completed ? 'completed' : `**did not complete** (${r.error ?? ''})`}; ${x.barrierTimeouts} bind barriers timed out, ${x.binds.held_timeout ?? 0} held binds failed against ${x.binds.bound ?? 0} bound; ${r.scheduleAttempts.unschedulable ?? 0} unschedulable and ${r.scheduleAttempts.error ?? 0} error attempts for ${r.pods} pods. kube-scheduler pops pods in its own queue order (no QueueSort from an extender), so a planned gang's members are spread through the pending queue; the barrier fails when no new member has reached it for the barrier timeout (20 s default), and the barrier waits while every missing member is still coming (up to --barrier-max-wait-ms, 300 s) and fails at its timeout (20 s) only when one is not, and each held bind is answered after 20 s (--bind-hold-limit-ms, inside the scheduler's 30 s httpTimeout) while the member keeps its place: those answers are the \"held binds failed\".`);
  }
  if (gangTrouble.length > 0) L.push('');
  const profiled = res.runs.filter((r) => r.profile);
  if (profiled.length === 0) L.push('No profile in this run (pass W1 and leave `--profile` on).', '');
  for (const r of profiled) {
    const p = r.profile as ProfileSummary;
    const cpu = r.cpuS;
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    const capacity = res.machine.nproc * r.wallS;
    L.push(`### W1, ${r.nodes} nodes, extender profile (node --cpu-prof, 1 ms sampling, workload window)`, '');
    L.push(`- CPU during the workload (${r.wallS.toFixed(1)} s wall, ${res.machine.nproc} CPUs = ${capacity.toFixed(0)} CPU s available): ${Object.entries(cpu).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; total ${total.toFixed(1)} s (${capacity > 0 ? ((100 * total) / capacity).toFixed(0) : '–'} % of the machine).`);
    if (r.extender) {
      const perPod = r.boundPods > 0 ? (1000 * r.extender.proc.cpuS) / r.boundPods : 0;
      L.push(`- Extender: ${r.extender.proc.cpuS.toFixed(1)} CPU s for ${r.boundPods} pods = ${perPod.toFixed(2)} ms CPU per pod; server time per verb ${Object.entries(r.extender.verbs).map(([v, x]) => `${v} ${x.meanMs.toFixed(2)} ms`).join(', ')}; scheduling attempt p50 ${ms(r.latency.attemptP50)} ms.`);
    }
    L.push(`- Profile: ${(p.busyMs / 1000).toFixed(1)} s busy of ${(p.windowMs / 1000).toFixed(1)} s sampled. By area: ${p.byArea.slice(0, 8).map((a) => `${a.area} ${a.pct}%`).join(', ')}.`, '');
    L.push('| self ms | % of busy | function | where |', '|---:|---:|---|---|');
    for (const e of p.top) L.push(`| ${e.selfMs} | ${e.pct} | \`${e.fn}\` | ${e.where || '(builtin)'} |`);
    L.push('');
  }
  L.push(...renderExtras());
  return L.join('\n') + '\n';
}

/** The extender on its own (bench:extender, bench:memory) and the soak (bench:soak), from their JSON in bench/results. */
function renderExtras(dir = join(process.cwd(), 'bench/results')): string[] {
  const L: string[] = [];
  const read = (f: string): Record<string, any> | null => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
  const ext = read('extender.json');
  const mem = read('memory.json');
  if (ext || mem) L.push('## The extender on its own (`npm run bench:extender`, `npm run bench:memory`)', '');
  if (ext) {
    L.push(`Loopback HTTP, one keep-alive connection, sequential calls as kube-scheduler makes them; ${ext.nodes} nodes and ${ext.cachedPods} pods in the cache; ${ext.iterations} calls per case after warm-up; ${ext.node}. The floor is JSON.parse + JSON.stringify of the same request and response bodies in one process.`, '');
    L.push('| case | p50 ms | p99 ms | floor p50 ms | p50 / floor | request bytes | response bytes |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const [k, v] of Object.entries(ext.results as Record<string, any>)) L.push(`| ${k} | ${v.p50Ms} | ${v.p99Ms} | ${v.floorP50Ms} | ${v.ratioToFloorP50} | ${v.requestBytes} | ${v.responseBytes} |`);
    L.push('');
  }
  if (mem) L.push(`Memory: the extender's model of ${mem.nodes} nodes and ${mem.pods} pods (${mem.groups} pod groups) holds ${mem.heapMiB} MiB of heap after GC (${mem.bytesPerPod} bytes per pod).`, '');
  const soaks = existsSync(dir) ? readdirSync(dir).filter((f) => /^soak-.*\.json$/.test(f)).sort() : [];
  const soak = soaks.length ? read(soaks[soaks.length - 1] as string) : null;
  if (soak) {
    L.push(`## Soak (\`npm run bench:soak -- --minutes ${soak.minutes}\`)`, '');
    L.push(`${soak.minutes} minutes of churn through the real kube-scheduler (${soak.nodes} nodes): every second 10 plain pods, a gang of 4 and 2 pods with a local-LVM claim are created, and pods are deleted 5 s after they are bound; ${soak.podsCreated} pods created, ${soak.podsDeleted} deleted. The extender's /metrics is scraped every 10 s.`, '');
    L.push('| | after 1 min | end | max |', '|---|---:|---:|---:|');
    L.push(`| RSS MiB | ${soak.rssStartMiB} | ${soak.rssEndMiB} | ${soak.rssMaxMiB} |`);
    L.push(`| heap used MiB | ${soak.heapStartMiB} | ${soak.heapEndMiB} | |`);
    L.push(`| event-loop lag p99 ms | | | ${soak.maxEventLoopLagP99Ms} |`);
    L.push(`| pods in the cache | | ${soak.cacheEnd?.pods} | ${soak.maxCachePods} |`, '');
    const marks = (soak.samples as any[]).filter((x) => x.atS % 300 < 10);
    L.push(`Every 5 minutes (s: RSS MiB / heap MiB / lag p99 ms): ${marks.map((x) => `${x.atS}: ${x.rssMiB} / ${x.heapMiB} / ${x.lagP99Ms}`).join('; ')}.`, '');
  }
  const chaos = existsSync(dir) ? readdirSync(dir).filter((f) => /^chaos-.*\.json$/.test(f)).sort() : [];
  L.push(...chaosSection(chaos.map((f) => read(f) as ChaosResultsFile)));
  return L;
}
