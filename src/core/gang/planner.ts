// Pod groups, all or nothing, with the extender's hooks alone (issue 4; gang-anchors.md 11):
//
//  1. Quorum gate: while fewer than min-available members exist, every member is refused as
//     unresolvable (no preemption for a group that cannot start anyway).
//  2. Whole-gang plan: at the first member's filter, place every unbound member the extender can
//     (at least min-available minus those bound) in its own model: resources, selector, affinity,
//     taints, pods, local-LVM volumes, optionally within one node pool. The plan is held: its
//     resources and volumes count against every other pod's filter. Each member is steered to
//     its planned node. No plan, nothing held, and every member says why, with the gap in numbers.
//  3. Bind barrier: binds are held until min-available members are bound or at the barrier, then
//     all are bound together. A member keeps its place once it reached bind; its request is answered
//     (an error: the scheduler retries) before the scheduler's httpTimeout if the barrier still fills.
//     A barrier with no new member for the barrier timeout fails, and releases the plan, only when a
//     missing member is not coming (patience.ts); it waits at most barrierMaxWaitMs.
//  4. Once min-available are bound the group is running: further members are ordinary pods.
//
// Plans are made one gang at a time (filter calls are sequential), so two gangs never sit half
// placed. Order, and the guard against starvation: gangs rank by priority, then age (partly bound
// gangs first). A gang that has waited longer than `headAfterMs` and would fit the cluster's
// allocatable becomes the head: gangs ranked after it may not plan until it has been placed.
//
// With the gang gate (--gang-quorum-gate, admission.ts) members stay out of kube-scheduler's queue
// until the gang is admitted: then the plan of step 2 is made (in the sweep, before any filter) and
// the gates of all members are removed together.
//
// The rules members must agree on are in spec.ts, the placement search in placement.ts.

import type { NodeModel, PodModel } from '../model.js';
import type { FilterOutcome, GangEngine, NodeLookup, Score } from '../outcome.js';
import { MAX_EXTENDER_PRIORITY, MIN_EXTENDER_PRIORITY, type ExtenderBindingArgs } from '../../wire/extender.js';
import { ClusterState, groupKeyOf } from '../state.js';
import { placementVerdict } from '../fit.js';
import { podVolumeNeeds, reserveUnselectedClaims } from '../lvm.js';
import { compareRank, gangSpec, type GangSpec, type SpecResult } from './spec.js';
import { honourPin, placeOne, planPlacement } from './placement.js';
import { markSteered, newRecord, noteFailedBind, quorumRefused, startTimeline, whyStopWaiting } from './patience.js';
import { describeGangs } from './describe.js';
import { fitsEmptyCluster } from './head.js';
import { drain } from './gates.js';
import { GangAdmission } from './admission.js';
import { type BarrierAnswer, type GangDescription, type GangEvent, type GangPhase, type GangRecord, type GangTimeline, type Plan, type PodRef } from './types.js';

const NO_EVENTS: readonly GangEvent[] = Object.freeze([]);
const MAX_PAST_TIMELINES = 1000;
/** A refusal older than this was not caused by watch lag (which is sub-second): no re-plan from the sweep. */
const RETRY_REFUSED_WITHIN_MS = 30_000;
/** Plans tried per sweep for refused gangs (each is a placement search over the cluster). */
const MAX_SWEEP_RETRIES = 2;

export type { BarrierAnswer, GangDescription, GangEvent, GangPhase, GangTimeline, PodRef } from './types.js';
export { parseMinAvailable, type GangSpec } from './spec.js';

export class GangPlanner implements GangEngine {
  private readonly gangs = new Map<string, GangRecord>();
  private readonly events: GangEvent[] = [];
  private readonly requeues: PodRef[] = [];
  private readonly ungates: PodRef[][] = [];
  private readonly admission: GangAdmission;
  private readonly pastTimelines: GangTimeline[] = []; // gangs whose members are gone
  /** Members the scheduler was not offered their planned node for (another pod took it, or its cache differs): re-planned. */
  replans = 0;

  constructor(private readonly state: ClusterState) {
    this.admission = new GangAdmission(state, {
      records: () => this.gangs.values(), record: (k) => this.record(k), members: (k) => this.members(k), spec: (k, m) => this.spec(k, m),
      bound: (m) => this.bound(m), failKey: (m, b) => this.failKey(m, b), note: (r, ph, why, now) => this.note(r, ph, why, now),
      tryPlan: (r, sp, m, b, now) => this.tryPlan(r, sp, m, b, now, ''), emit: (e) => this.events.push(e),
    });
  }

  /**
   * Members to ask kube-scheduler to try again (their pods touched): we refused them before, and a plan
   * made since includes them. Nothing else would bring them back from its unschedulable pool when the
   * cluster is quiet (the stale-view race: our watch saw a freed node after kube-scheduler did).
   */
  drainRequeues(): PodRef[] { return drain(this.requeues); }
  /** Gangs whose gang gates to remove, one batch per gang, best ranked first (admission.ts). */
  drainUngates(): PodRef[][] { return drain(this.ungates); }

  /** Events since the last call, oldest first. */
  drainEvents(): readonly GangEvent[] {
    // Called after every filter: no new array when there is nothing to report (the usual case).
    return this.events.length === 0 ? NO_EVENTS : this.events.splice(0, this.events.length);
  }

  private record(key: string): GangRecord {
    let r = this.gangs.get(key);
    if (!r) {
      r = newRecord(key);
      this.gangs.set(key, r);
    }
    return r;
  }

  private members(key: string): PodModel[] {
    const uids = this.state.groups.get(key);
    if (!uids) return [];
    const out: PodModel[] = [];
    for (const u of uids) {
      const p = this.state.pods.get(u);
      if (p && !p.terminal && !p.deleting) out.push(p);
    }
    return out.sort((a, b) => a.creationMs - b.creationMs || (a.name < b.name ? -1 : 1));
  }

  private bound(members: PodModel[]): number {
    let n = 0;
    for (const m of members) if (m.nodeName) n++;
    return n;
  }

  /** The group's parameters, after checking every member agrees on them (spec.ts). */
  spec(key: string, members = this.members(key)): SpecResult {
    return gangSpec(key, members, this.state.config.gang);
  }

  private note(rec: GangRecord, phase: GangPhase, reason: string, nowMs: number): void {
    rec.phase = phase;
    rec.lastReason = reason;
    rec.lastReasonMs = nowMs;
  }

  /** Refuses the member on every offered node, and remembers it so a later plan can call it back. */
  private refuse(rec: GangRecord, pod: PodModel, nodeNames: string[], reason: string, unresolvable: boolean, nowMs: number): FilterOutcome {
    rec.refusedAt.set(pod.uid, nowMs);
    return this.refuseAll(nodeNames, reason, unresolvable);
  }

  private refuseAll(nodeNames: string[], reason: string, unresolvable: boolean): FilterOutcome {
    const map: Record<string, string> = {};
    for (const n of nodeNames) map[n] = reason;
    return unresolvable ? { kind: 'gang', passed: [], failed: {}, unresolvable: map } : { kind: 'gang', passed: [], failed: map, unresolvable: {} };
  }

  filter(pod: PodModel, nodeNames: string[], nowMs: number, _lookup: NodeLookup): FilterOutcome | null {
    const key = groupKeyOf(pod);
    if (!key) return null;
    // The request's copy is what the scheduler decides for; the cache may not have the pod yet.
    if (!this.state.pods.has(pod.uid)) this.state.setPod(pod);
    const rec = this.record(key);
    rec.timeline.firstFilterMs ??= nowMs;
    const members = this.members(key);
    const spec = this.spec(key, members);
    if (spec.kind === 'invalid') {
      this.note(rec, 'invalid', spec.reason, nowMs);
      return this.refuse(rec, pod, nodeNames, spec.reason, true, nowMs);
    }
    const { minAvailable } = spec.spec;
    const bound = this.bound(members);
    if (bound >= minAvailable) {
      if (rec.phase !== 'running') {
        rec.runningSinceMs = nowMs;
        this.note(rec, 'running', `gang ${key}: ${bound} of ${minAvailable} bound`, nowMs);
      }
      this.dropPlan(rec, null, nowMs);
      return null;
    }
    if (members.length < minAvailable) {
      const reason = `gang ${key}: ${members.length} of ${minAvailable} members exist`;
      if (rec.lastReason !== reason) this.events.push({ kind: 'waiting', gang: key, podUids: members.map((m) => m.uid), reason });
      this.note(rec, 'waiting-for-members', reason, nowMs);
      this.dropPlan(rec, `gang ${key}: members went below min-available`, nowMs);
      return this.refuse(rec, pod, nodeNames, reason, true, nowMs);
    }
    rec.quorumMs ??= nowMs;
    if (!rec.plan) {
      const planned = this.tryPlan(rec, spec.spec, members, bound, nowMs, pod.uid);
      if (planned.kind === 'refused') return this.refuse(rec, pod, nodeNames, planned.reason, true, nowMs);
    }
    // A member beyond the plan (more replicas than min-available, or left out of the plan just made):
    // it waits until the gang runs; unresolvable, so the scheduler does not preempt for it meanwhile.
    if (!rec.plan?.assignments.has(pod.uid)) return this.refuse(rec, pod, nodeNames, `gang ${key}: waiting for the planned members to bind`, true, nowMs);
    return this.steer(rec, spec.spec, pod, nodeNames, nowMs);
  }

  /** Makes a plan for the gang or records why not. */
  private tryPlan(rec: GangRecord, spec: GangSpec, members: PodModel[], bound: number, nowMs: number, forUid: string): { kind: 'planned' } | { kind: 'refused'; reason: string } {
    const head = this.head(nowMs);
    if (head && head.rec.key !== rec.key) {
      const me = { spec, bound };
      if (compareRank(head, me) < 0) {
        const reason = `gang ${rec.key}: queued behind gang ${head.rec.key}, which has waited ${Math.round((nowMs - (head.rec.waitingSinceMs ?? nowMs)) / 1000)}s (gangs are placed by priority, then age)`;
        this.note(rec, 'queued', reason, nowMs);
        return { kind: 'refused', reason };
      }
    }
    // Nothing freed and the same members: the last search's answer stands (no re-plan per retry).
    const failKey = this.failKey(members, bound);
    if (rec.failedAt === failKey && rec.failedReason) return { kind: 'refused', reason: rec.failedReason };
    const unbound = members.filter((m) => !m.nodeName);
    const needed = spec.minAvailable - bound;
    const result = planPlacement(this.state, unbound, needed, spec.sameNodeLabel, nowMs);
    if (result.kind === 'failed') {
      const reason = `gang ${rec.key}: ${result.reason}`;
      // Quorum-refused members would keep "k of n members exist" until a cluster event: call them back once.
      if (rec.phase === 'waiting-for-members') this.requeues.push(...quorumRefused(rec, members, forUid));
      rec.failedAt = failKey;
      rec.failedReason = reason;
      rec.waitingSinceMs ??= nowMs;
      if (rec.lastReason !== reason) this.events.push({ kind: 'unschedulable', gang: rec.key, podUids: members.map((m) => m.uid), reason });
      this.note(rec, 'unschedulable', reason, nowMs);
      return { kind: 'refused', reason };
    }
    rec.plan = { createdMs: nowMs, lastProgressMs: nowMs, assignments: result.assignments, pool: result.pool };
    rec.waitingSinceMs = null;
    rec.failedReason = '';
    for (const [uid, node] of result.assignments) this.holdMember(uid, node, nowMs);
    const back = startTimeline(rec, members, nowMs, forUid);
    if (back.length > 0) this.requeues.push(...back);
    const reason = `gang ${rec.key}: planned ${result.assignments.size} members on ${new Set(result.assignments.values()).size} nodes${result.pool ? ` in ${spec.sameNodeLabel}=${result.pool}` : ''}`;
    this.events.push({ kind: 'planned', gang: rec.key, podUids: [...result.assignments.keys()], reason });
    this.note(rec, 'planned', reason, nowMs);
    return { kind: 'planned' };
  }

  private holdMember(uid: string, node: string, nowMs: number): void {
    const pod = this.state.pods.get(uid);
    if (!pod) return;
    this.state.hold(uid, node, pod.requests);
    const volumes = podVolumeNeeds(this.state, pod);
    // Held as long as the plan may live (plans are released explicitly; the expiry is only a backstop).
    if (volumes.kind === 'needs') reserveUnselectedClaims(this.state, uid, volumes, node, nowMs + this.state.config.gang.planTtlMs * 10);
  }

  private releaseMember(uid: string): void {
    this.state.releaseHold(uid);
    this.state.releaseReservationsOf(uid);
  }

  private dropPlan(rec: GangRecord, reason: string | null, nowMs: number): void {
    if (!rec.plan) return;
    const uids = [...rec.plan.assignments.keys()];
    for (const uid of uids) this.releaseMember(uid);
    rec.plan = null;
    if (reason) {
      this.events.push({ kind: 'plan-released', gang: rec.key, podUids: uids, reason });
      this.note(rec, 'unschedulable', reason, nowMs);
    }
  }

  /**
   * Our watch can be behind kube-scheduler's: a gang we refused for room that kube-scheduler had
   * already seen freed. Once our view frees room, the plan is tried again here, and a plan calls
   * back the members we refused (startTimeline): nothing else would bring them back from the
   * scheduler's unschedulable pool on a quiet cluster. Only for recent refusals, once per change.
   */
  private retryRefused(rec: GangRecord, members: PodModel[], nowMs: number): boolean {
    let recent = false;
    for (const at of rec.refusedAt.values()) if (nowMs - at <= RETRY_REFUSED_WITHIN_MS) recent = true;
    const bound = this.bound(members);
    if (!recent || rec.failedAt === this.failKey(members, bound)) return false;
    const spec = this.spec(rec.key, members);
    if (spec.kind !== 'ok' || members.length < spec.spec.minAvailable || bound >= spec.spec.minAvailable) return false;
    this.tryPlan(rec, spec.spec, members, bound, nowMs, '');
    return true;
  }

  /** What a failed plan depends on: nothing freed and the same members means the same answer. */
  private failKey(members: PodModel[], bound: number): string { return `${this.state.freedVersion}|${members.length}|${bound}`; }

  /** The gang that blocks gangs ranked after it, if any. */
  private head(nowMs: number): { rec: GangRecord; spec: GangSpec; bound: number } | null {
    let best: { rec: GangRecord; spec: GangSpec; bound: number } | null = null;
    for (const rec of this.gangs.values()) {
      if (rec.plan || rec.waitingSinceMs === null || nowMs - rec.waitingSinceMs < this.state.config.gang.headAfterMs) continue;
      if (rec.phase !== 'unschedulable') continue;
      const members = this.members(rec.key);
      const s = this.spec(rec.key, members);
      if (s.kind !== 'ok') continue;
      if (!fitsEmptyCluster(this.state, rec, s.spec, members, nowMs)) continue;
      const cand = { rec, spec: s.spec, bound: this.bound(members) };
      if (!best || compareRank(cand, best) < 0) best = cand;
    }
    return best;
  }

  private steer(rec: GangRecord, spec: GangSpec, pod: PodModel, nodeNames: string[], nowMs: number): FilterOutcome {
    const plan = rec.plan as Plan;
    const node = plan.assignments.get(pod.uid) as string;
    if (nodeNames.includes(node)) {
      markSteered(rec, pod.uid);
      const failed: Record<string, string> = {};
      for (const n of nodeNames) if (n !== node) failed[n] = `gang ${rec.key}: member planned on ${node}`;
      return { kind: 'gang', passed: [node], failed, unresolvable: {} };
    }
    // The scheduler filtered out the planned node (its cache saw something ours did not): re-plan this member among the offered nodes, in the pool.
    this.replans++;
    this.releaseMember(pod.uid);
    const offered = nodeNames
      .map((n) => this.state.nodes.get(n))
      .filter((n): n is NodeModel => n !== undefined && (!spec.sameNodeLabel || n.labels[spec.sameNodeLabel] === plan.pool) && placementVerdict(pod, n).kind === 'fits');
    const pin = honourPin(this.state, pod, offered); // its claims may already be provisioned on one node
    const alt = pin.reason ? { kind: 'none' as const, reason: pin.reason } : placeOne(this.state, pod, pin.nodes, new Map(), nowMs);
    if (alt.kind === 'placed') {
      markSteered(rec, pod.uid);
      plan.assignments.set(pod.uid, alt.node);
      this.holdMember(pod.uid, alt.node, nowMs);
      const failed: Record<string, string> = {};
      for (const n of nodeNames) if (n !== alt.node) failed[n] = `gang ${rec.key}: member re-planned on ${alt.node}`;
      return { kind: 'gang', passed: [alt.node], failed, unresolvable: {} };
    }
    this.holdMember(pod.uid, node, nowMs);
    return this.refuse(rec, pod, nodeNames, `gang ${rec.key}: planned node ${node} was not offered by the scheduler and no offered node fits (${alt.reason})`, false, nowMs);
  }

  prioritize(pod: PodModel, nodeNames: readonly string[]): Score[] | null {
    const key = groupKeyOf(pod);
    if (!key) return null;
    const planned = this.gangs.get(key)?.plan?.assignments.get(pod.uid);
    if (!planned) return null;
    return nodeNames.map((host) => ({ host, score: host === planned ? MAX_EXTENDER_PRIORITY : MIN_EXTENDER_PRIORITY }));
  }

  /** A member's bind arrives: hold it, release the whole barrier, or let it through. */
  arrive(args: ExtenderBindingArgs, nowMs: number): BarrierAnswer {
    const pod = this.state.podByKey(args.PodNamespace, args.PodName);
    if (!pod) return { kind: 'pass' };
    const key = groupKeyOf(pod);
    if (!key) return { kind: 'pass' };
    const rec = this.record(key);
    const members = this.members(key);
    const spec = this.spec(key, members);
    if (spec.kind === 'invalid') return { kind: 'refuse', reason: spec.reason };
    const bound = this.bound(members);
    if (bound >= spec.spec.minAvailable) return { kind: 'pass' };
    if (!rec.plan) return { kind: 'refuse', reason: `gang ${key}: no plan holds a place for ${pod.name} (plan released); the scheduler will retry it` };
    // The scheduler placed it where we steered it; record the node it actually chose.
    if (rec.plan.assignments.get(pod.uid) !== args.Node) {
      this.releaseMember(pod.uid);
      rec.plan.assignments.set(pod.uid, args.Node);
      this.holdMember(pod.uid, args.Node, nowMs);
    }
    if (!rec.barrier.has(pod.uid)) {
      if (rec.barrier.size === 0) rec.barrierStartMs = nowMs;
      rec.barrierProgressMs = nowMs;
      rec.timeline.arrivalsMs.push(nowMs);
    }
    rec.barrier.set(pod.uid, { node: args.Node, arrivedMs: nowMs, answered: false });
    rec.plan.lastProgressMs = nowMs;
    // Only members that still exist and are unbound count at the barrier.
    for (const uid of [...rec.barrier.keys()]) {
      const p = this.state.pods.get(uid);
      if (!p || p.deleting || p.nodeName) rec.barrier.delete(uid);
    }
    const ready = bound + rec.barrier.size;
    if (ready >= spec.spec.minAvailable) {
      const released = [...rec.barrier.entries()].map(([uid, b]) => ({ uid, node: b.node }));
      rec.barrier.clear();
      rec.timeline.releasedMs = nowMs;
      this.note(rec, 'binding', `gang ${key}: ${ready} of ${spec.spec.minAvailable} members at the barrier; binding`, nowMs);
      this.events.push({
        kind: 'bound', gang: key, podUids: released.map((r) => r.uid), reason: `gang ${key}: ${ready} of ${spec.spec.minAvailable} members bound together`,
        quorumToBoundMs: rec.quorumMs === null ? null : nowMs - rec.quorumMs,
      });
      return { kind: 'release', members: released };
    }
    this.note(rec, 'binding', `gang ${key}: ${ready} of ${spec.spec.minAvailable} members at the bind barrier`, nowMs);
    return { kind: 'hold', deadlineMs: Math.min(rec.barrierProgressMs + spec.spec.barrierTimeoutMs, nowMs + this.state.config.gang.bindHoldLimitMs) };
  }

  /**
   * Expires barriers and idle plans. `failed`: held binds to fail whose barrier timed out (the plan is
   * released). `answered`: held requests to answer now so the scheduler's httpTimeout does not fire;
   * those members keep their place at the barrier.
   */
  sweep(nowMs: number): { failed: { gang: string; uids: string[]; reason: string }[]; answered: { gang: string; uids: string[]; reason: string }[] } {
    const failed: { gang: string; uids: string[]; reason: string }[] = [];
    const answered: { gang: string; uids: string[]; reason: string }[] = [];
    this.ungates.push(...this.admission.release(nowMs));
    let retries = 0;
    for (const rec of [...this.gangs.values()]) {
      const members = this.members(rec.key);
      if (members.length === 0) {
        this.dropPlan(rec, null, nowMs);
        this.gangs.delete(rec.key);
        if (rec.timeline.firstFilterMs !== null) {
          this.pastTimelines.push(rec.timeline);
          if (this.pastTimelines.length > MAX_PAST_TIMELINES) this.pastTimelines.shift();
        }
        continue;
      }
      if (!rec.plan && rec.phase === 'unschedulable' && retries < MAX_SWEEP_RETRIES && this.retryRefused(rec, members, nowMs)) retries++;
      const spec0 = rec.barrier.size > 0 ? this.spec(rec.key, members) : null;
      const timeoutMs = spec0?.kind === 'ok' ? spec0.spec.barrierTimeoutMs : this.state.config.gang.barrierTimeoutMs;
      const giveUp = rec.barrier.size > 0 && nowMs >= rec.barrierProgressMs + timeoutMs ? whyStopWaiting(this.state, rec, nowMs, rec.barrierStartMs) : null;
      if (giveUp !== null) {
        const min = spec0?.kind === 'ok' ? spec0.spec.minAvailable : 0;
        const reason = `gang ${rec.key}: only ${this.bound(members) + rec.barrier.size} of ${min} members reached bind, none more in ${Math.round((nowMs - rec.barrierProgressMs) / 1000)}s (${giveUp}); releasing the plan`;
        const uids = [...rec.barrier.keys()];
        rec.barrier.clear();
        failed.push({ gang: rec.key, uids, reason });
        this.events.push({ kind: 'barrier-timeout', gang: rec.key, podUids: uids, reason });
        this.dropPlan(rec, reason, nowMs);
        continue;
      }
      const due = [...rec.barrier.entries()].filter(([, b]) => !b.answered && nowMs >= b.arrivedMs + this.state.config.gang.bindHoldLimitMs);
      if (due.length > 0) {
        for (const [, b] of due) b.answered = true;
        const min = spec0?.kind === 'ok' ? spec0.spec.minAvailable : 0;
        answered.push({
          gang: rec.key,
          uids: due.map(([u]) => u),
          reason: `gang ${rec.key}: ${this.bound(members) + rec.barrier.size} of ${min} members at the bind barrier after ${Math.round(this.state.config.gang.bindHoldLimitMs / 1000)}s; this member keeps its place and the scheduler will retry its bind`,
        });
      }
      if (rec.plan && rec.barrier.size === 0 && nowMs - rec.plan.lastProgressMs > this.state.config.gang.planTtlMs && whyStopWaiting(this.state, rec, nowMs, rec.plan.createdMs) !== null) {
        this.dropPlan(rec, `gang ${rec.key}: plan released after ${Math.round(this.state.config.gang.planTtlMs / 1000)}s without progress`, nowMs);
      }
      if (rec.plan) {
        // Members bound (by us or seen bound) no longer need their hold; the state released it on bind.
        const bound = this.bound(members);
        const spec = this.spec(rec.key, members);
        if (spec.kind === 'ok' && bound >= spec.spec.minAvailable) {
          rec.runningSinceMs ??= nowMs;
          this.note(rec, 'running', `gang ${rec.key}: ${bound} of ${spec.spec.minAvailable} bound`, nowMs);
          this.dropPlan(rec, null, nowMs);
        }
      }
    }
    return { failed, answered };
  }

  /** Records a bind we failed or refused on the member's gang timeline. */
  failedBind(namespace: string, name: string, reason: string, nowMs: number): void {
    const pod = this.state.podByKey(namespace, name);
    const key = pod ? groupKeyOf(pod) : null;
    if (!key) return;
    noteFailedBind(this.record(key).timeline, `${namespace}/${name}`, reason, nowMs);
  }

  /** Every gang's timeline, current gangs first, then gangs whose members are gone. */
  timelines(): GangTimeline[] {
    return [...[...this.gangs.values()].map((r) => r.timeline), ...this.pastTimelines];
  }

  /** One line per gang for /debug/gangs and the status command. */
  describe(nowMs: number): GangDescription[] {
    return describeGangs(this.state, this.gangs, (key) => this.members(key), nowMs);
  }

  phaseCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.gangs.values()) out[r.phase] = (out[r.phase] ?? 0) + 1;
    return out;
  }
}
