// The invariants of a chaos run, checked all the time from a view of its own: a list of pods, nodes
// and PVs every second straight from kube-apiserver (a list never misses a change the way a broken
// watch can, and needs no reconnect logic while kube-apiserver or etcd is down), and checksums of the
// node agent's devices. Nothing here uses the product's code: quantities, gang membership and
// capacity are read from the objects as kubectl would show them.
//
//  1. No gang with 0 < bound < min-available for longer than PARTIAL_BOUND_MS counted outside fault
//     windows (a fault window: from the strike until FAULT_GRACE_MS after the component is back).
//  2. No node over-committed: the requests of the pods bound to it stay within its allocatable
//     (cpu, memory, pods); nothing lands on the agent's tainted node.
//  3. No VolumeGroup over-committed: the local PVs on a node stay within its VG's size.
//  4. On the node agent's devices no byte outside the blank listed devices changes (sha256 of the
//     listed device holding a file system and of an unlisted one), and its VG never loses a PV or shrinks.
//  5. At the end (checkEnd): every job still alive has run, and every pending pod carries a reason.

import type { CoreV1Api, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_SELECTED_NODE, ANNOTATION_VG_CAPACITY, LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME } from '../../src/wire/keys.js';
import { AGENT_NODE, ChaosCluster, type AgentDevices } from './cluster.js';
import { LABEL_JOB, type Job } from './workload.js';

export const PARTIAL_BOUND_MS = 30_000;
export const FAULT_GRACE_MS = 30_000;
export const POLL_MS = 1000;
const CHECKSUM_EVERY_MS = 15_000;

export interface Violation {
  at: string;
  /** Seconds since the run started. */
  atS: number;
  invariant: string;
  detail: string;
}

const SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

/** A Kubernetes quantity as a number of base units ("500m" → 0.5, "1Gi" → 1073741824). */
export function quantity(q: string | undefined): number {
  if (q === undefined || q === '') return 0;
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(q.trim());
  if (!m) throw new Error(`cannot read quantity ${JSON.stringify(q)}`);
  const unit = m[2] ?? '';
  if (unit !== '' && SUFFIX[unit] === undefined) throw new Error(`unknown quantity suffix in ${JSON.stringify(q)}`);
  return Number(m[1]) * (unit === '' ? 1 : (SUFFIX[unit] as number));
}

function podRequests(p: V1Pod): Record<string, number> {
  const out: Record<string, number> = { pods: 1 };
  for (const c of p.spec?.containers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.requests ?? {})) out[k] = (out[k] ?? 0) + quantity(String(v));
  }
  return out;
}

function vgSizeBytes(node: V1Node): number | undefined {
  const text = node.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { vgs: { sizeBytes: number }[] }).vgs.reduce((a, v) => a + v.sizeBytes, 0);
  } catch {
    return undefined;
  }
}

function pvNode(pv: V1PersistentVolume): string | undefined {
  return pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.find((e) => e.key === 'kubernetes.io/hostname')?.values?.[0];
}

export function reasonOf(p: V1Pod): string | undefined {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
  return c?.message || undefined;
}

export interface CheckerDeps {
  core: CoreV1Api;
  cluster: ChaosCluster;
  seed: number;
  startedAt: number;
  /** True while a fault is active or within FAULT_GRACE_MS of its end. */
  inFaultWindow(now: number): boolean;
  /** Jobs the workload is deleting (their pods go one by one: not a partial gang). */
  isDeleting(jobId: string): boolean;
  log(line: string): void;
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  polls = 0;
  pollsFailed = 0;
  /** Longest time a gang was partly bound (wall clock, faults included), ms. */
  maxPartialMs = 0;
  /** Local PVs seen, and the largest committed share of a VG. */
  maxVgShare = 0;
  maxCpuShare = 0;
  private readonly partialSince = new Map<string, { since: number; last: number; cleanMs: number; reported: boolean }>();
  private readonly reported = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private sums = new Map<string, string>();
  private lastChecksum = 0;
  private agentVgMax: { sizeBytes: number; pvs: string[] } | undefined;

  constructor(private readonly d: CheckerDeps) {}

  /** A violation found outside the polls (the runner's recovery limit). */
  add(invariant: string, detail: string): void {
    this.violate(invariant, detail);
  }

  private violate(invariant: string, detail: string, key = `${invariant}:${detail}`): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const now = Date.now();
    const v = { at: new Date(now).toISOString(), atS: Math.round((now - this.d.startedAt) / 100) / 10, invariant, detail };
    this.violations.push(v);
    this.d.log(`VIOLATION (seed ${this.d.seed}, t=${v.atS} s, ${v.at}): ${invariant}: ${detail}`);
  }

  async start(): Promise<void> {
    const dev = this.d.cluster.agentDevices;
    if (dev) for (const x of [dev.listedWithData, dev.unlisted]) this.sums.set(x, await ChaosCluster.checksum(x));
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const now = Date.now();
    try {
      const [pods, nodes, pvs] = await Promise.all([
        this.d.core.listPodForAllNamespaces({ timeoutSeconds: 5 }).then((l) => l.items),
        this.d.core.listNode({ timeoutSeconds: 5 }).then((l) => l.items),
        this.d.core.listPersistentVolume({ timeoutSeconds: 5 }).then((l) => l.items),
      ]);
      this.observe(pods, nodes, pvs, now);
    } catch {
      this.pollsFailed++;
    }
    try {
      await this.checkDevices(now);
    } finally {
      this.running = false;
    }
  }

  /** One look at the cluster (a poll; tests call it with objects of their own). */
  observe(pods: V1Pod[], nodes: V1Node[], pvs: V1PersistentVolume[], now: number): void {
    this.polls++;
    this.checkNodes(pods, nodes);
    this.checkVgs(nodes, pvs);
    this.checkGangs(pods, now);
  }

  private checkNodes(pods: V1Pod[], nodes: V1Node[]): void {
    const byNode = new Map<string, Record<string, number>>();
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      if (n === AGENT_NODE && p.metadata?.namespace !== 'kube-system') this.violate('taint ignored', `pod ${p.metadata?.namespace}/${p.metadata?.name} bound to the tainted ${AGENT_NODE}`);
      const sum = byNode.get(n) ?? {};
      for (const [k, v] of Object.entries(podRequests(p))) sum[k] = (sum[k] ?? 0) + v;
      byNode.set(n, sum);
    }
    for (const node of nodes) {
      const name = node.metadata?.name ?? '';
      const used = byNode.get(name);
      if (!used) continue;
      for (const [res, amount] of Object.entries(used)) {
        const alloc = quantity(String(node.status?.allocatable?.[res] ?? '0'));
        if (res === 'cpu' && alloc > 0) this.maxCpuShare = Math.max(this.maxCpuShare, amount / alloc);
        if (res.startsWith('edge-gang.io/')) continue; // the scheduling mark: no node lists it (ignoredByScheduler)
        if (amount > alloc + 1e-9) this.violate('node over-committed', `${name}: ${res} requested ${amount} > allocatable ${alloc}`, `node:${name}:${res}`);
      }
    }
  }

  private checkVgs(nodes: V1Node[], pvs: V1PersistentVolume[]): void {
    const used = new Map<string, number>();
    for (const pv of pvs) {
      const n = pvNode(pv);
      if (!n || pv.spec?.storageClassName !== 'csi-local-lvm') continue;
      used.set(n, (used.get(n) ?? 0) + quantity(String(pv.spec?.capacity?.storage ?? '0')));
    }
    for (const node of nodes) {
      const name = node.metadata?.name ?? '';
      const u = used.get(name) ?? 0;
      const size = vgSizeBytes(node);
      if (u === 0) continue;
      if (size === undefined) {
        this.violate('VG over-committed', `${name}: ${u} bytes of local PVs on a node without a VolumeGroup report`, `vg:${name}:none`);
        continue;
      }
      this.maxVgShare = Math.max(this.maxVgShare, u / size);
      if (u > size) this.violate('VG over-committed', `${name}: local PVs ${u} bytes > VG size ${size}`, `vg:${name}`);
    }
  }

  private checkGangs(pods: V1Pod[], now: number): void {
    const gangs = new Map<string, { bound: number; min: number; job: string }>();
    for (const p of pods) {
      const labels = p.metadata?.labels ?? {};
      const name = labels[LABEL_POD_GROUP_NAME];
      if (!name) continue;
      const g = `${p.metadata?.namespace}/${name}`;
      const e = gangs.get(g) ?? { bound: 0, min: Number(labels[LABEL_POD_GROUP_MIN_AVAILABLE] ?? '0'), job: labels[LABEL_JOB] ?? g };
      if (p.spec?.nodeName) e.bound++;
      gangs.set(g, e);
    }
    const inFault = this.d.inFaultWindow(now);
    for (const [g, e] of gangs) {
      const partial = e.bound > 0 && e.bound < e.min && !this.d.isDeleting(e.job);
      const s = this.partialSince.get(g);
      if (!partial) {
        this.partialSince.delete(g);
        continue;
      }
      if (!s) {
        this.partialSince.set(g, { since: now, last: now, cleanMs: 0, reported: false });
        continue;
      }
      if (!inFault) s.cleanMs += now - s.last;
      s.last = now;
      this.maxPartialMs = Math.max(this.maxPartialMs, now - s.since);
      if (s.cleanMs > PARTIAL_BOUND_MS && !s.reported) {
        s.reported = true;
        this.violate('gang partly bound', `${g}: ${e.bound} of min-available ${e.min} bound for ${((now - s.since) / 1000).toFixed(0)} s (${(s.cleanMs / 1000).toFixed(0)} s outside fault windows)`);
      }
    }
  }

  private async checkDevices(now: number): Promise<void> {
    const dev: AgentDevices | undefined = this.d.cluster.agentDevices;
    if (!dev || now - this.lastChecksum < CHECKSUM_EVERY_MS) return;
    this.lastChecksum = now;
    await this.checkDevicesNow();
  }

  /** Checksums and the agent's VG, now (also called at the end). */
  async checkDevicesNow(): Promise<void> {
    const dev = this.d.cluster.agentDevices;
    if (!dev) return;
    for (const [device, sum] of this.sums) {
      const now = await ChaosCluster.checksum(device).catch((err: Error) => `unreadable: ${err.message}`);
      if (now !== sum) this.violate('device bytes changed', `${device} (${device === dev.unlisted ? 'not listed' : 'listed, holds a file system'}): sha256 ${sum.slice(0, 12)}… → ${now.slice(0, 12)}…`, `dev:${device}`);
    }
    const vg = this.d.cluster.agentVg();
    if (!vg || vg.pvs.length === 0) return;
    const max = this.agentVgMax;
    if (max) {
      const lost = max.pvs.filter((p) => !vg.pvs.includes(p));
      if (lost.length > 0) this.violate('VG lost a PV', `${dev.vgName}: ${lost.join(', ')} no longer in it`, `vgpv:${lost.join(',')}`);
      if (vg.sizeBytes < max.sizeBytes) this.violate('VG shrank', `${dev.vgName}: ${max.sizeBytes} → ${vg.sizeBytes} bytes`, 'vgsize');
    }
    if (!max || vg.pvs.length >= max.pvs.length) this.agentVgMax = vg;
  }

  /** After the drain: every alive job ran; every pending pod says why. `claims` (optional) adds each stuck claim's state. */
  checkEnd(alive: readonly Job[], pods: readonly V1Pod[], claims: readonly V1PersistentVolumeClaim[] = []): void {
    const claimState = (p: V1Pod) =>
      (p.spec?.volumes ?? []).flatMap((v) => {
        const name = v.persistentVolumeClaim?.claimName;
        if (!name) return [];
        const c = claims.find((x) => x.metadata?.name === name);
        if (!c) return [`claim ${name} absent`];
        return [`claim ${name} ${c.status?.phase ?? '?'}${c.spec?.volumeName ? ` → ${c.spec.volumeName}` : ''}${c.metadata?.annotations?.[ANNOTATION_SELECTED_NODE] ? ` selected-node ${c.metadata.annotations[ANNOTATION_SELECTED_NODE]}` : ''}`];
      });
    const byJob = new Map<string, V1Pod[]>();
    for (const p of pods) {
      const j = p.metadata?.labels?.[LABEL_JOB];
      if (j) byJob.set(j, [...(byJob.get(j) ?? []), p]);
    }
    for (const job of alive) {
      const ps = byJob.get(job.id) ?? [];
      const bound = ps.filter((p) => p.spec?.nodeName).length;
      if (job.runningAt === undefined || bound < job.min) {
        const why = [...new Set(ps.filter((p) => !p.spec?.nodeName).map((p) => [reasonOf(p) ?? '(no reason on the pod)', ...claimState(p)].join('; ')))].join(' | ').slice(0, 600);
        this.violate('job that fits never ran', `${job.id} (${job.kind}, ${bound} of ${job.min} bound, ${ps.length} of ${job.size} pods exist): ${why}`);
      }
    }
    for (const p of pods) {
      if (p.spec?.nodeName) continue;
      if (!reasonOf(p)) this.violate('pod without a reason', `${p.metadata?.namespace}/${p.metadata?.name} pending with no PodScheduled=False message`);
    }
  }
}
