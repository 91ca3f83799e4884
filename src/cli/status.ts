// The `edge-gang status` view: each gang with members seen / min-available / bound and its last reason,
// and each node's VolumeGroups with size, free space as a text bar and the age of the capacity report.
// Gangs come from the extender's GET /debug/gangs when its URL is given (plans and barriers are only in
// its memory), else from the pods' pod-group labels (either gang dialect: core/dialects.ts, with the
// PodGroups they name) plus the latest gang Event per gang. Capacity always
// comes from the Node annotation edge-gang.io/vg-capacity.
//
// The functions that shape and render are pure (tested on objects); collectStatus does the I/O.

import { CoreV1Api, CustomObjectsApi, KubeConfig, type CoreV1Event, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { takeFlag, UsageError } from './args.js';
import { parseCapacityReport } from '../wire/capacity.js';
import { ANNOTATION_VG_CAPACITY, GANG_EVENTS, LABEL_LOCAL_STORAGE, LABEL_POD_GROUP_NAME, LABEL_SCHEDULER_PLUGINS_POD_GROUP, PODGROUP_API } from '../wire/keys.js';
import type { PodGroupModel, PodGroupRef } from '../core/model.js';
import { groupKeyOf, podGroupKeyOf } from '../core/dialects.js';
import { toPodGroup } from '../extender/convert.js';
import type { GangConfig } from '../core/config.js';
import { gangSpec, type GangMemberFacts } from '../core/gang/spec.js';
import { defaultCoreConfig } from '../config/extender.js';

/** Event reasons the extender records on gang members (wire/keys.ts), in the order of a gang's life. */
export const GANG_EVENT_REASONS: readonly string[] = Object.freeze(Object.values(GANG_EVENTS).map((e) => e.reason));

export interface GangStatus {
  /** namespace/name */
  gang: string;
  phase: string;
  /** Members seen (pods that exist and are not finished). */
  members: number;
  /** null when the members disagree or the label is not a number. */
  minAvailable: number | null;
  bound: number;
  lastReason: string;
  /** Time of the Event carrying lastReason (cluster source only). */
  lastReasonAt: Date | null;
}

export interface VgStatus {
  name: string;
  sizeBytes: number;
  freeBytes: number;
}

export interface NodeStatus {
  node: string;
  report: 'ok' | 'missing' | 'invalid';
  /** Why the report is invalid. */
  detail: string;
  vgs: VgStatus[];
  /** Devices the agent refused (count). */
  refused: number;
  updatedAt: Date | null;
}

export interface ClusterStatus {
  gangSource: 'extender' | 'cluster' | 'none';
  gangs: GangStatus[];
  nodes: NodeStatus[] | null;
  /** Problems met while collecting (an unreachable extender, a forbidden list); the rest is still shown. */
  errors: string[];
}

// --- pure shaping ---------------------------------------------------------------------------------------

type PodLike = Pick<V1Pod, 'metadata' | 'spec' | 'status'>;
type EventLike = Pick<CoreV1Event, 'metadata' | 'involvedObject' | 'reason' | 'message' | 'lastTimestamp' | 'eventTime' | 'firstTimestamp'>;

function toDate(v: unknown): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v === 'string' && v !== '') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

function eventTime(e: EventLike): Date | null {
  return toDate(e.lastTimestamp) ?? toDate(e.eventTime) ?? toDate(e.firstTimestamp) ?? toDate(e.metadata?.creationTimestamp);
}

interface EventOrder {
  at: Date | null;
  /** Index in GANG_EVENT_REASONS: the order of a gang's life. */
  rank: number;
  /** resourceVersion as a number (NaN when not numeric). */
  rv: number;
}

/**
 * Event times have one-second resolution, and the extender posts a gang's Events concurrently, so neither
 * the time nor the write order (resourceVersion) alone tells which came last within a second. Ties on time
 * go by the gang's lifecycle (waiting, unschedulable, planned, barrier timeout, plan released, scheduled),
 * then by resourceVersion.
 */
function isLater(a: EventOrder, b: EventOrder): boolean {
  if (a.at === null) return false;
  if (b.at === null) return true;
  if (a.at.getTime() !== b.at.getTime()) return a.at.getTime() > b.at.getTime();
  if (a.rank !== b.rank) return a.rank > b.rank;
  return !(a.rv < b.rv);
}

interface GangAcc {
  members: GangMemberFacts[];
  bound: number;
}

/** A member's PodGroup as the extender would resolve it: null podGroups = the cluster serves none. */
function podGroupRef(ns: string, labels: Record<string, string>, podGroups: ReadonlyMap<string, PodGroupModel> | null): PodGroupRef | undefined {
  const key = podGroupKeyOf({ namespace: ns, labels });
  if (key === null) return undefined;
  return podGroups === null ? 'no-crd' : podGroups.get(key) ?? 'missing';
}

/** Members by gang key from the pods' labels (finished and deleting pods are not members), and pod -> gang for Events. */
function membersByGang(pods: readonly PodLike[], podGroups: ReadonlyMap<string, PodGroupModel> | null): { gangs: Map<string, GangAcc>; byPod: Map<string, string> } {
  const gangs = new Map<string, GangAcc>();
  /** Pod UID and namespace/name -> gang key, to attribute Events. */
  const byPod = new Map<string, string>();
  for (const p of pods) {
    const ns = p.metadata?.namespace ?? 'default';
    const labels = p.metadata?.labels ?? {};
    const key = groupKeyOf({ namespace: ns, labels });
    if (key === null) continue;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || p.metadata?.deletionTimestamp) continue;
    let acc = gangs.get(key);
    if (!acc) {
      acc = { members: [], bound: 0 };
      gangs.set(key, acc);
    }
    const podGroup = podGroupRef(ns, labels, podGroups);
    acc.members.push({
      name: p.metadata?.name ?? '', labels, annotations: p.metadata?.annotations ?? {},
      priority: p.spec?.priority ?? 0, creationMs: toDate(p.metadata?.creationTimestamp)?.getTime() ?? 0,
      ...(podGroup !== undefined ? { podGroup } : {}),
    });
    if (p.spec?.nodeName) acc.bound++;
    if (p.metadata?.uid) byPod.set(`uid:${p.metadata.uid}`, key);
    byPod.set(`name:${ns}/${p.metadata?.name ?? ''}`, key);
  }
  return { gangs, byPod };
}

/** The newest gang Event per gang. */
function latestGangEvents(events: readonly EventLike[], byPod: Map<string, string>): Map<string, EventOrder & { text: string }> {
  const latest = new Map<string, EventOrder & { text: string }>();
  for (const e of events) {
    if (!e.reason || !GANG_EVENT_REASONS.includes(e.reason)) continue;
    const io = e.involvedObject;
    const key = io?.uid ? byPod.get(`uid:${io.uid}`) : byPod.get(`name:${io?.namespace ?? e.metadata?.namespace ?? 'default'}/${io?.name ?? ''}`);
    if (key === undefined) continue;
    const cand = { at: eventTime(e), rank: GANG_EVENT_REASONS.indexOf(e.reason), rv: Number(e.metadata?.resourceVersion ?? NaN), text: `${e.reason}: ${e.message ?? ''}`.trim() };
    const prev = latest.get(key);
    if (!prev || isLater(cand, prev)) latest.set(key, cand);
  }
  return latest;
}

/**
 * Gangs from pods' pod-group labels and the extender's Events on them. Finished pods (Succeeded, Failed)
 * and pods being deleted are not members, as in the extender, and the group's rules are the extender's
 * own (core/gang/spec.ts): a gang they refuse is invalid, with their reason when no Event says more.
 * `podGroups`: the PodGroup objects the pods may name; null when the cluster does not serve PodGroups.
 */
export function gangsFromPods(pods: readonly PodLike[], events: readonly EventLike[], rules: GangConfig = defaultCoreConfig().gang, podGroups: readonly unknown[] | null = []): GangStatus[] {
  const byKey = podGroups === null ? null : new Map(podGroups.map(toPodGroup).filter((m): m is PodGroupModel => m !== null).map((m) => [`${m.namespace}/${m.name}`, m]));
  const { gangs, byPod } = membersByGang(pods, byKey);
  const latest = latestGangEvents(events, byPod);
  const out: GangStatus[] = [];
  for (const [key, acc] of gangs) {
    const spec = gangSpec(key, acc.members, rules);
    const min = spec.kind === 'ok' ? spec.spec.minAvailable : null;
    const phase = min === null ? 'invalid' : acc.bound >= min ? 'running' : acc.members.length < min ? 'waiting-for-members' : 'pending';
    const last = latest.get(key);
    const lastReason = last?.text ?? (spec.kind === 'invalid' ? spec.reason : '');
    out.push({ gang: key, phase, members: acc.members.length, minAvailable: min, bound: acc.bound, lastReason, lastReasonAt: last?.at ?? null });
  }
  return out.sort((a, b) => (a.gang < b.gang ? -1 : a.gang > b.gang ? 1 : 0));
}

/** Gangs from the extender's GET /debug/gangs body ({gangs: GangDescription[]}); malformed entries are skipped. */
export function gangsFromExtender(body: unknown): GangStatus[] {
  const list = (body as { gangs?: unknown } | null)?.gangs;
  if (!Array.isArray(list)) throw new Error('GET /debug/gangs: the answer has no gangs list');
  const out: GangStatus[] = [];
  for (const g of list as Record<string, unknown>[]) {
    if (typeof g?.gang !== 'string') continue;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    out.push({
      gang: g.gang,
      phase: typeof g.phase === 'string' ? g.phase : '',
      members: num(g.members),
      minAvailable: typeof g.minAvailable === 'number' ? g.minAvailable : null,
      bound: num(g.bound),
      lastReason: typeof g.lastReason === 'string' ? g.lastReason : '',
      lastReasonAt: null,
    });
  }
  return out.sort((a, b) => (a.gang < b.gang ? -1 : a.gang > b.gang ? 1 : 0));
}

/**
 * Each node with a capacity report, plus local-storage nodes (label alibabacloud.com/edge-enable-localstorage=true)
 * without one, so a node whose agent never reported shows up.
 */
export function nodesFromNodes(nodes: readonly Pick<V1Node, 'metadata'>[]): NodeStatus[] {
  const out: NodeStatus[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name ?? '';
    const text = n.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
    if (text === undefined) {
      if (n.metadata?.labels?.[LABEL_LOCAL_STORAGE] === 'true') out.push({ node: name, report: 'missing', detail: '', vgs: [], refused: 0, updatedAt: null });
      continue;
    }
    const parsed = parseCapacityReport(text);
    if (parsed.kind === 'invalid') {
      out.push({ node: name, report: 'invalid', detail: parsed.reason, vgs: [], refused: 0, updatedAt: null });
      continue;
    }
    out.push({
      node: name,
      report: 'ok',
      detail: '',
      vgs: parsed.report.vgs.map((v) => ({ name: v.name, sizeBytes: v.sizeBytes, freeBytes: v.freeBytes })),
      refused: parsed.report.refused.length,
      updatedAt: toDate(parsed.report.updatedAt),
    });
  }
  return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

// --- rendering --------------------------------------------------------------------------------------------

const UNITS = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];

/** 1073741824 -> "1Gi", 1610612736 -> "1.5Gi" (binary units, at most one decimal). */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${text}${UNITS[i]}`;
}

/** 42_000 -> "42s", 300_000 -> "5m", 7_200_000 -> "2h", 172_800_000 -> "2d". Negative (clock skew) -> "0s". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Free space as a bar: `[######..............] 30% free`; the '#' part is free. */
export function freeBar(freeBytes: number, sizeBytes: number, width = 20): string {
  const frac = sizeBytes > 0 ? Math.min(1, Math.max(0, freeBytes / sizeBytes)) : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% free`;
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** The text the status command prints. */
export function renderStatus(s: ClusterStatus, nowMs: number): string {
  const lines: string[] = [];
  const from = s.gangSource === 'extender' ? 'from the extender' : s.gangSource === 'cluster' ? 'from pod labels and Events' : 'unavailable';
  lines.push(`GANGS (${from})`);
  if (s.gangs.length === 0) lines.push(s.gangSource === 'none' ? '  (not collected)' : '  (none)');
  else {
    const rows = [['GANG', 'PHASE', 'SEEN', 'MIN', 'BOUND', 'LAST REASON']];
    for (const g of s.gangs) {
      const when = g.lastReasonAt ? ` (${formatAge(nowMs - g.lastReasonAt.getTime())} ago)` : '';
      rows.push([g.gang, g.phase, String(g.members), g.minAvailable === null ? '?' : String(g.minAvailable), String(g.bound), g.lastReason ? `${g.lastReason}${when}` : '-']);
    }
    lines.push(...table(rows));
  }
  lines.push('');
  lines.push(`VOLUME GROUPS (node annotation ${ANNOTATION_VG_CAPACITY})`);
  if (s.nodes === null) lines.push('  (not collected)');
  else if (s.nodes.length === 0) lines.push('  (no node has a capacity report)');
  else {
    const rows = [['NODE', 'VG', 'SIZE', 'FREE', 'FREE SPACE', 'REPORTED']];
    // Long texts go below the table so they do not widen its columns.
    const notes: string[] = [];
    for (const n of s.nodes) {
      const age = n.updatedAt ? `${formatAge(nowMs - n.updatedAt.getTime())} ago` : '';
      if (n.report === 'missing') rows.push([n.node, '-', '', '', 'no capacity report', '']);
      else if (n.report === 'invalid') {
        rows.push([n.node, '-', '', '', 'invalid report', '']);
        notes.push(`${n.node}: invalid capacity report: ${n.detail}`);
      } else if (n.vgs.length === 0) rows.push([n.node, '-', '', '', 'no VolumeGroup', age]);
      else {
        n.vgs.forEach((v, i) => rows.push([i === 0 ? n.node : '', v.name, formatBytes(v.sizeBytes), formatBytes(v.freeBytes), freeBar(v.freeBytes, v.sizeBytes), i === 0 ? age : '']));
      }
      if (n.refused > 0) notes.push(`${n.node}: ${n.refused} configured device(s) refused (kubectl describe node ${n.node})`);
    }
    lines.push(...table(rows));
    if (notes.length > 0) lines.push('', ...notes);
  }
  if (s.errors.length > 0) {
    lines.push('');
    for (const e of s.errors) lines.push(`error: ${e}`);
  }
  return `${lines.join('\n')}\n`;
}

// --- collection (I/O) ----------------------------------------------------------------------------------------

export interface CollectOptions {
  /** null: no cluster access (gangs from the extender only, no capacity). */
  kubeConfig: KubeConfig | null;
  /** Base URL of the extender, e.g. http://127.0.0.1:8888 (kubectl port-forward). */
  extenderUrl?: string;
  /** Per-request time limit. Default 10 s. */
  timeoutMs?: number;
}

function message(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e?.code === 'number') {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
    const m = /"message":"([^"]*)"/.exec(body);
    return `HTTP ${e.code}${m ? `: ${m[1]}` : ''}`;
  }
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ...) is in its cause.
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause ? ` (${cause.code ?? cause.message ?? ''})` : '';
  return `${e?.message ?? String(err)}${why}`;
}

async function listAll<T>(page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const r = await page(cont);
    out.push(...r.items);
    cont = r.metadata?._continue || undefined;
  } while (cont);
  return out;
}

/** Pods of either gang dialect (a pod with both labels once). */
async function gangPods(core: CoreV1Api): Promise<V1Pod[]> {
  const byUid = new Map<string, V1Pod>();
  for (const label of [LABEL_POD_GROUP_NAME, LABEL_SCHEDULER_PLUGINS_POD_GROUP]) {
    for (const p of await listAll((c) => core.listPodForAllNamespaces({ labelSelector: label, limit: 500, ...(c ? { _continue: c } : {}) }))) {
      byUid.set(p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`, p);
    }
  }
  return [...byUid.values()];
}

/** Every PodGroup; null when the cluster does not serve them (404), [] (with an error) when they could not be read. */
async function listPodGroups(kc: KubeConfig, errors: string[]): Promise<unknown[] | null> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = PODGROUP_API;
  try {
    return await listAll(async (c) => (await api.listClusterCustomObject({ group, version, plural, limit: 500, ...(c ? { _continue: c } : {}) })) as { items: unknown[]; metadata?: { _continue?: string } });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return null;
    errors.push(`podgroups: ${message(err)} (gangs naming a PodGroup are shown as waiting for it)`);
    return [];
  }
}

export async function collectStatus(opts: CollectOptions): Promise<ClusterStatus> {
  const errors: string[] = [];
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let gangs: GangStatus[] = [];
  let gangSource: ClusterStatus['gangSource'] = 'none';
  let nodes: NodeStatus[] | null = null;
  const core = opts.kubeConfig ? opts.kubeConfig.makeApiClient(CoreV1Api) : null;

  if (opts.extenderUrl) {
    const url = `${opts.extenderUrl.replace(/\/+$/, '')}/debug/gangs`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      gangs = gangsFromExtender(await res.json());
      gangSource = 'extender';
    } catch (err) {
      errors.push(`extender ${url}: ${message(err)}`);
    }
  } else if (core && opts.kubeConfig) {
    try {
      const pods = await gangPods(core);
      const podGroups = await listPodGroups(opts.kubeConfig, errors);
      const namespaces = [...new Set(pods.map((p) => p.metadata?.namespace ?? 'default'))].sort();
      const events: CoreV1Event[] = [];
      for (const namespace of namespaces) {
        try {
          events.push(...(await listAll((c) => core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Pod', limit: 500, ...(c ? { _continue: c } : {}) }))));
        } catch (err) {
          errors.push(`events in ${namespace}: ${message(err)} (gangs are shown without their last reason)`);
        }
      }
      gangs = gangsFromPods(pods, events, undefined, podGroups);
      gangSource = 'cluster';
    } catch (err) {
      errors.push(`pods: ${message(err)}`);
    }
  }

  if (core) {
    try {
      nodes = nodesFromNodes(await listAll((c) => core.listNode({ limit: 500, ...(c ? { _continue: c } : {}) })));
    } catch (err) {
      errors.push(`nodes: ${message(err)}`);
    }
  }
  return { gangSource, gangs, nodes, errors };
}

// --- the command ------------------------------------------------------------------------------------------

/** Runs `status`; exit code 1 when something could not be collected (what could be is still printed). */
export async function runStatus(args: string[], write: (s: string) => void): Promise<number> {
  const kubeconfig = takeFlag(args, 'kubeconfig');
  const extenderUrl = takeFlag(args, 'extender');
  const asJson = args.includes('--json');
  if (asJson) args.splice(args.indexOf('--json'), 1);
  if (args.length > 0) throw new UsageError(`status: unexpected argument ${args[0]}`);
  if (kubeconfig === '' || extenderUrl === '') throw new UsageError('status: --kubeconfig and --extender need a value');
  let kc: KubeConfig | null = new KubeConfig();
  let kubeError = '';
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
  } catch (err) {
    kubeError = `kubeconfig: ${(err as Error).message}`;
    kc = null;
  }
  const s = await collectStatus({ kubeConfig: kc, ...(extenderUrl ? { extenderUrl } : {}) });
  if (kubeError) s.errors.unshift(kubeError);
  write(asJson ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s, Date.now()));
  return s.errors.length > 0 ? 1 : 0;
}
