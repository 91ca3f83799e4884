// How long a gang's members are waited for, and what a new plan remembers. A barrier (or a plan no
// member has reached bind under yet) that has seen no progress for the barrier timeout fails only if
// a missing member is not coming: deleted, gated, or refused since the plan by us or by
// kube-scheduler. A member that is only behind others in kube-scheduler's queue is waited for, up
// to barrierMaxWaitMs: failing its barrier would cost the gang a re-plan and every held bind a retry.

import type { PodModel } from '../model.js';
import type { ClusterState } from '../state.js';
import { MAX_FAILED_BINDS, type GangRecord, type GangTimeline, type Plan, type PodRef } from './types.js';

/**
 * Why a stalled barrier (or a plan no member has reached bind under) should stop waiting, or null
 * while every planned member not yet at the barrier still exists, is pending and ungated, and was
 * refused neither by us nor by kube-scheduler since the plan: such a member is only behind others
 * in the scheduler's queue, and failing the barrier would cost the gang a re-plan and every held
 * bind a retry. Capped at barrierMaxWaitMs from `sinceMs`.
 */
export function whyStopWaiting(state: ClusterState, rec: GangRecord, nowMs: number, sinceMs: number): string | null {
  const { barrierMaxWaitMs } = state.config.gang;
  if (nowMs - sinceMs >= barrierMaxWaitMs) return `waited ${Math.round((nowMs - sinceMs) / 1000)}s, the longest a barrier waits for members still pending`;
  const plan = rec.plan;
  if (!plan) return 'no plan';
  for (const uid of plan.assignments.keys()) {
    if (rec.barrier.has(uid)) continue;
    const p = state.pods.get(uid);
    if (!p || p.deleting || p.terminal) return 'a planned member no longer exists';
    if (p.nodeName) continue;
    if (p.gated) return `member ${p.name} has scheduling gates`;
    const refused = rec.refusedAt.get(uid);
    if (refused !== undefined && refused >= plan.createdMs) return `member ${p.name} was refused since the plan`;
    // kube-scheduler's own plugins refused it (its message is not one of ours): since the plan, or
    // before it and the member has not passed our filter since.
    const msg = p.unschedulableMessage ?? '';
    const foreign = msg !== '' && !msg.includes(`gang ${rec.key}:`);
    if (foreign && (msg !== (rec.planMessages.get(uid) ?? '') || !rec.steered.has(uid))) {
      return `kube-scheduler refused member ${p.name}: ${msg.length > 160 ? `${msg.slice(0, 157)}...` : msg}`;
    }
  }
  return null;
}

/** A new plan: its timeline, the members' refusal messages as of now, and the refused members called back. */
export function startTimeline(rec: GangRecord, members: PodModel[], nowMs: number, forUid: string): PodRef[] {
  const plan = rec.plan as Plan;
  const t = rec.timeline;
  const back: PodRef[] = [];
  t.planMs = nowMs;
  t.plans++;
  t.arrivalsMs = [];
  t.releasedMs = null;
  rec.planMessages = new Map();
  rec.steered = new Set();
  for (const m of members) if (plan.assignments.has(m.uid)) rec.planMessages.set(m.uid, m.unschedulableMessage ?? '');
  for (const m of members) {
    if (!plan.assignments.has(m.uid) || !rec.refusedAt.has(m.uid)) continue;
    rec.refusedAt.delete(m.uid);
    if (m.uid === forUid) continue;
    back.push({ uid: m.uid, namespace: m.namespace, name: m.name });
    t.requeued++;
  }
  return back;
}

/**
 * Members the quorum gate refused (unresolvable), but the one being filtered: kube-scheduler keeps them in its
 * unschedulable pool with "k of n members exist" until a cluster event or its 5-minute flush, and a pod-by-pod
 * creator (Kubeflow's training-operator) leaves the first ones so. Called back once when the first plan fails.
 */
export function quorumRefused(rec: GangRecord, members: PodModel[], forUid: string): PodRef[] {
  return members.filter((m) => m.uid !== forUid && rec.refusedAt.has(m.uid)).map((m) => ({ uid: m.uid, namespace: m.namespace, name: m.name }));
}

export function newRecord(key: string): GangRecord {
  return {
    key, plan: null, barrier: new Map(), barrierProgressMs: 0, phase: 'waiting-for-members', lastReason: '', lastReasonMs: 0,
    waitingSinceMs: null, quorumMs: null, failedAt: '', failedReason: '', runningSinceMs: null,
    refusedAt: new Map(), planMessages: new Map(), steered: new Set(), barrierStartMs: 0,
    timeline: { gang: key, firstFilterMs: null, admittedMs: null, planMs: null, plans: 0, arrivalsMs: [], releasedMs: null, failedBinds: [], requeued: 0 },
  };
}

export function noteFailedBind(t: GangTimeline, pod: string, reason: string, nowMs: number): void {
  t.failedBinds.push({ pod, atMs: nowMs, reason });
  if (t.failedBinds.length > MAX_FAILED_BINDS) t.failedBinds.splice(0, t.failedBinds.length - MAX_FAILED_BINDS);
}

/** Our filter passed the member to its planned node: it is coming, and no longer one to call back. */
export function markSteered(rec: GangRecord, uid: string): void {
  rec.refusedAt.delete(uid);
  rec.steered.add(uid);
}
