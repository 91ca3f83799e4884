// PodGroup status write-back, as scheduler-plugins' PodGroup controller keeps it, from the extender's own
// view: phase, running, succeeded, failed and scheduleStartTime (core/gang/podgroup.ts computes them).
// A merge patch of the status subresource with only the fields that differ from the object as last seen
// (the watch, or the answer to our own patch), at most once per --podgroup-status-ms per PodGroup, and
// only for PodGroups whose members this extender serves (by schedulerName), so a PodGroup of another
// scheduler is left to it. `kubectl get podgroups` then shows what the extender did.
//
// Finished members are not in ClusterState (its pod watch leaves them out), so a reflector of finished
// pods labelled scheduling.x-k8s.io/pod-group feeds FinishedMembers, which counts them per PodGroup.

import type { Logger } from 'pino';
import type { ClusterState } from '../../core/state.js';
import type { PodGroupModel } from '../../core/model.js';
import { podGroupStatus, statusPatch, type FinishedCounts, type PodGroupStatusFields } from '../../core/gang/podgroup.js';
import { LABEL_SCHEDULER_PLUGINS_POD_GROUP, type PodGroupPhase } from '../../wire/keys.js';
import { obj, str, strMap } from '../json.js';
import type { Sink } from './reflector.js';

/** Status patches in flight at once; the rest wait for the next tick. */
const MAX_INFLIGHT = 20;

const EMPTY_STATUS: PodGroupStatusFields = Object.freeze({ phase: '', running: 0, succeeded: 0, failed: 0, scheduleStartTime: '' });

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The status fields we write, as an object carries them. */
export function readStatus(raw: unknown): PodGroupStatusFields {
  const s = obj(obj(raw).status);
  const t = s.scheduleStartTime;
  return {
    phase: str(s.phase) as PodGroupPhase | '',
    running: count(s.running),
    succeeded: count(s.succeeded),
    failed: count(s.failed),
    scheduleStartTime: typeof t === 'string' ? t : t instanceof Date ? t.toISOString().replace(/\.\d{3}Z$/, 'Z') : '',
  };
}

/** Finished (Succeeded or Failed) pods naming a PodGroup, counted per PodGroup key. */
export class FinishedMembers implements Sink {
  private readonly byUid = new Map<string, { key: string; failed: boolean }>();
  private readonly counts = new Map<string, FinishedCounts>();

  of(key: string): FinishedCounts {
    return this.counts.get(key) ?? { succeeded: 0, failed: 0 };
  }

  replace(items: unknown[]): void {
    for (const uid of [...this.byUid.keys()]) this.drop(uid);
    for (const it of items) this.upsert(it);
  }

  upsert(o: unknown): void {
    const meta = obj(obj(o).metadata);
    const uid = str(meta.uid);
    const name = strMap(meta.labels)[LABEL_SCHEDULER_PLUGINS_POD_GROUP];
    const phase = str(obj(obj(o).status).phase);
    this.drop(uid);
    if (!uid || !name || (phase !== 'Succeeded' && phase !== 'Failed')) return;
    const key = `${str(meta.namespace) || 'default'}/${name}`;
    this.byUid.set(uid, { key, failed: phase === 'Failed' });
    this.add(key, phase === 'Failed', 1);
  }

  remove(o: unknown): void {
    this.drop(str(obj(obj(o).metadata).uid));
  }

  private drop(uid: string): void {
    const prev = this.byUid.get(uid);
    if (!prev) return;
    this.byUid.delete(uid);
    this.add(prev.key, prev.failed, -1);
  }

  private add(key: string, failed: boolean, sign: 1 | -1): void {
    const c = { ...this.of(key) };
    if (failed) c.failed += sign;
    else c.succeeded += sign;
    if (c.failed === 0 && c.succeeded === 0) this.counts.delete(key);
    else this.counts.set(key, c);
  }
}

export interface StatusWriterOptions {
  /** A PodGroup is patched at most this often (ms). */
  intervalMs: number;
  clock: () => number;
  servesScheduler: (schedulerName: string) => boolean;
  logger: Logger;
  /** Sends the merge patch to the status subresource; resolves to the object after it. */
  patch: (pg: PodGroupModel, body: { status: Partial<PodGroupStatusFields> }) => Promise<unknown>;
  onPatched?: (result: 'patched' | 'failed') => void;
}

export class PodGroupStatusWriter {
  private readonly observed = new Map<string, { status: PodGroupStatusFields; rv: number }>();
  private readonly lastWriteMs = new Map<string, number>();
  private readonly inflight = new Set<string>();

  constructor(private readonly state: ClusterState, private readonly finished: FinishedMembers, private readonly opts: StatusWriterOptions) {}

  /** The status as an object carries it (watch event or patch answer); an older resourceVersion is ignored. */
  observe(raw: unknown): void {
    const meta = obj(obj(raw).metadata);
    const key = `${str(meta.namespace) || 'default'}/${str(meta.name)}`;
    const rv = Number(str(meta.resourceVersion));
    const prev = this.observed.get(key);
    if (prev && Number.isFinite(prev.rv) && Number.isFinite(rv) && rv < prev.rv) return;
    this.observed.set(key, { status: readStatus(raw), rv });
  }

  forget(key: string): void {
    this.observed.delete(key);
    this.lastWriteMs.delete(key);
  }

  /** The members this extender serves decide; a PodGroup with no live member yet is ours to start (Pending). */
  private ours(key: string): boolean {
    let members = 0;
    for (const uid of this.state.podGroups.membersOf(key)) {
      const p = this.state.pods.get(uid);
      if (!p) continue;
      members++;
      if (this.opts.servesScheduler(p.schedulerName)) return true;
    }
    return members === 0;
  }

  /** Starts the patches that are due; returns how many. */
  tick(): number {
    const now = this.opts.clock();
    let started = 0;
    for (const pg of this.state.podGroups.all()) {
      const key = `${pg.namespace}/${pg.name}`;
      if (this.inflight.has(key) || now - (this.lastWriteMs.get(key) ?? -Infinity) < this.opts.intervalMs) continue;
      if (this.inflight.size >= MAX_INFLIGHT) break;
      if (!this.ours(key)) continue;
      const seen = this.observed.get(key)?.status ?? EMPTY_STATUS;
      const diff = statusPatch(seen, podGroupStatus(this.state, pg, this.finished.of(key), seen, now));
      if (!diff) continue;
      this.inflight.add(key);
      this.lastWriteMs.set(key, now);
      started++;
      this.opts.patch(pg, { status: diff }).then((after) => {
        this.observe(after);
        this.opts.onPatched?.('patched');
      }, (err: unknown) => {
        this.opts.onPatched?.('failed');
        this.opts.logger.warn({ podGroup: key, err: (err as Error).message }, 'PodGroup status not written');
      }).finally(() => this.inflight.delete(key));
    }
    return started;
  }
}
