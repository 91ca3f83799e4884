// The churning workload of a chaos run: plain pods, gangs of 2 to 5 (some with min-available below
// their size, some with a local claim per member), pods with local claims, and deletions (most jobs
// after they ran a while, some while still pending). Creation is retried every tick, as a Job or
// training controller would, while kube-apiserver, etcd or the webhook refuse it. The demand alive at
// once is kept under half of the cluster, so every job fits: a job that never runs is a failure.

import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { GiB, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, ensureNamespace, isConflict, isNotFound } from '../../src/localcluster/objects.js';
import { LABEL_LOCAL_STORAGE } from '../../src/wire/keys.js';
import { between, pick } from './schedule.js';

export const NAMESPACE = 'chaos';
export const LABEL_JOB = 'chaos.edge-gang.io/job';
export const WORKER_NODES = 10;
export const NODE_CPU = 8;
export const NODE_VG_GIB = 20;
/** Alive demand is kept at or below these (half the cluster). */
const MAX_CPU_MILLI = (WORKER_NODES * NODE_CPU * 1000) / 2;
const MAX_CLAIM_GIB = (WORKER_NODES * NODE_VG_GIB) / 2;

export type JobKind = 'plain' | 'gang' | 'gang-lvm' | 'lvm';

export interface Job {
  id: string;
  seq: number;
  kind: JobKind;
  size: number;
  /** Pods that must be bound for the job to run (min-available for gangs, else all). */
  min: number;
  cpuMilli: number;
  claimGiB: number[];
  createdPods: Set<string>;
  createdClaims: Set<string>;
  submittedAt: number;
  /** All of its objects created. */
  createdAt?: number;
  /** At least `min` pods bound. */
  runningAt?: number;
  /** How long it runs before it is deleted; a pending-deletion job is deleted this long after creation. */
  lifeMs: number;
  deleteWhilePending: boolean;
  deletingAt?: number;
  deleted?: boolean;
}

export interface WorkloadStats {
  submitted: number;
  ran: number;
  deleted: number;
  deletedPending: number;
  createRefusals: Record<string, number>;
}

const podName = (job: Job, i: number) => `${job.id}-${i}`;
const claimName = (job: Job, i: number) => `${job.id}-data-${i}`;

export function workerNodes() {
  return Array.from({ length: WORKER_NODES }, (_, i) =>
    makeNode(`chaos-${String(i).padStart(2, '0')}`).cpu(NODE_CPU).mem('32Gi').pods(50).label(LABEL_LOCAL_STORAGE, 'true').capacityReport([{ sizeBytes: NODE_VG_GIB * GiB }]),
  );
}

function refusalKey(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body ?? '');
  if (/failed calling webhook/.test(body)) return 'webhook unreachable';
  if (e.code !== undefined) return `HTTP ${e.code}`;
  return (e.message ?? 'error').split(':')[0]?.slice(0, 40) ?? 'error';
}

export class Workload {
  readonly jobs = new Map<string, Job>();
  readonly stats: WorkloadStats = { submitted: 0, ran: 0, deleted: 0, deletedPending: 0, createRefusals: {} };
  private seq = 0;
  private creating = true;

  /** `schedulerName`: ours (gangs and local volumes always; plain pods in one of two). */
  constructor(private readonly core: CoreV1Api, private readonly rng: RandomGenerator, private readonly schedulerName: string) {}

  async setUp(): Promise<void> {
    await ensureNamespace(this.core, NAMESPACE);
    await createNodes(this.core, workerNodes());
  }

  stopCreating(): void {
    this.creating = false;
  }

  private alive(): Job[] {
    return [...this.jobs.values()].filter((j) => !j.deleted);
  }

  private demand(): { cpuMilli: number; claimGiB: number } {
    let cpuMilli = 0;
    let claimGiB = 0;
    for (const j of this.alive()) {
      cpuMilli += j.cpuMilli * j.size;
      claimGiB += j.claimGiB.reduce((a, b) => a + b, 0);
    }
    return { cpuMilli, claimGiB };
  }

  private draw(now: number): Job {
    const kind = pick<JobKind>(this.rng, ['plain', 'plain', 'gang', 'gang', 'gang', 'gang-lvm', 'lvm', 'lvm']);
    const id = `j${String(++this.seq).padStart(4, '0')}-${kind}`;
    const size = kind === 'gang' ? between(this.rng, [2, 5]) : kind === 'gang-lvm' ? between(this.rng, [2, 3]) : 1;
    const min = kind === 'gang' && size > 2 && between(this.rng, [0, 2]) === 0 ? size - 1 : size;
    const cpuMilli = kind === 'plain' ? 500 : 1000;
    const claimGiB = kind === 'gang-lvm' || kind === 'lvm' ? Array.from({ length: size }, () => between(this.rng, [1, 3])) : [];
    // One job in eight is deleted soon after its creation, whether it runs by then or not.
    const deleteWhilePending = between(this.rng, [0, 7]) === 0;
    return {
      id, seq: this.seq, kind, size, min, cpuMilli, claimGiB, createdPods: new Set(), createdClaims: new Set(), submittedAt: now,
      lifeMs: deleteWhilePending ? between(this.rng, [0, 2000]) : between(this.rng, [4000, 15000]), deleteWhilePending,
    };
  }

  private pod(job: Job, i: number): V1Pod {
    const b = makePod(podName(job, i)).ns(NAMESPACE).label(LABEL_JOB, job.id).cpu(`${job.cpuMilli}m`).mem('256Mi');
    if (job.kind !== 'plain' || job.seq % 2 === 0) b.scheduler(this.schedulerName);
    if (job.kind === 'gang' || job.kind === 'gang-lvm') b.group(job.id, job.min);
    if (job.claimGiB.length > 0) b.pvc(claimName(job, i));
    return b.manifest();
  }

  /** Creates what is missing; a refusal is counted and retried next tick. */
  private async create(job: Job): Promise<void> {
    for (let i = 0; i < job.claimGiB.length; i++) {
      const name = claimName(job, i);
      if (job.createdClaims.has(name)) continue;
      try {
        await this.core.createNamespacedPersistentVolumeClaim({ namespace: NAMESPACE, body: makePvc(name, `${job.claimGiB[i]}Gi`).ns(NAMESPACE).label(LABEL_JOB, job.id).manifest() });
        job.createdClaims.add(name);
      } catch (err) {
        if (isConflict(err)) job.createdClaims.add(name);
        else return this.refused(err);
      }
    }
    for (let i = 0; i < job.size; i++) {
      const name = podName(job, i);
      if (job.createdPods.has(name)) continue;
      try {
        await this.core.createNamespacedPod({ namespace: NAMESPACE, body: this.pod(job, i) });
        job.createdPods.add(name);
      } catch (err) {
        if (isConflict(err)) job.createdPods.add(name);
        else return this.refused(err);
      }
    }
    job.createdAt ??= Date.now();
  }

  private refused(err: unknown): void {
    const k = refusalKey(err);
    this.stats.createRefusals[k] = (this.stats.createRefusals[k] ?? 0) + 1;
  }

  private async remove(job: Job): Promise<void> {
    job.deletingAt ??= Date.now();
    try {
      for (const name of job.createdPods) {
        await this.core.deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 0 }).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
      }
      for (const name of job.createdClaims) {
        await this.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: NAMESPACE }).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
      }
      job.deleted = true;
      this.stats.deleted++;
      if (job.runningAt === undefined) this.stats.deletedPending++;
    } catch {
      // kube-apiserver away: next tick
    }
  }

  /** One tick: observe the pods, delete jobs whose time is up, retry creations, maybe submit a job. */
  async tick(pods: readonly V1Pod[], now: number): Promise<void> {
    const bound = new Map<string, number>();
    for (const p of pods) {
      const j = p.metadata?.labels?.[LABEL_JOB];
      if (j && p.spec?.nodeName) bound.set(j, (bound.get(j) ?? 0) + 1);
    }
    for (const job of this.alive()) {
      if (job.runningAt === undefined && (bound.get(job.id) ?? 0) >= job.min) {
        job.runningAt = now;
        this.stats.ran++;
      }
      const due = job.deleteWhilePending
        ? job.createdAt !== undefined && now - job.createdAt >= job.lifeMs
        : job.runningAt !== undefined && now - job.runningAt >= job.lifeMs;
      if (due && this.creating) await this.remove(job);
      else if (job.createdAt === undefined) await this.create(job);
    }
    if (!this.creating) return;
    const next = this.draw(now);
    const d = this.demand();
    if (d.cpuMilli + next.cpuMilli * next.size > MAX_CPU_MILLI || d.claimGiB + next.claimGiB.reduce((a, b) => a + b, 0) > MAX_CLAIM_GIB) {
      this.seq--; // not submitted: the same id is drawn again
      return;
    }
    this.jobs.set(next.id, next);
    this.stats.submitted++;
    await this.create(next);
  }

  /** Jobs still alive that have not run. */
  waiting(): Job[] {
    return this.alive().filter((j) => j.runningAt === undefined);
  }

  isDeleting(jobId: string): boolean {
    const j = this.jobs.get(jobId);
    return j?.deletingAt !== undefined;
  }
}
