// Gang spec rules: what a group's members must agree on (min-available, priority, the per-gang
// annotations) and how groups rank against each other. Pure; the status command uses the same rules.
// Every gang dialect (core/dialects.ts) ends here in the same GangSpec.

import type { GangConfig } from '../config.js';
import type { PodGroupModel, PodModel, Resources } from '../model.js';
import { memberView, type MinClaim } from '../dialects.js';
import {
  ANNOTATION_BARRIER_TIMEOUT_SECONDS, ANNOTATION_SAME_NODE_LABEL, LABEL_POD_GROUP_MIN_AVAILABLE,
} from '../../wire/keys.js';

export interface GangSpec {
  key: string;
  minAvailable: number;
  priority: number;
  /** Earliest member creation: the gang's age. */
  creationMs: number;
  barrierTimeoutMs: number;
  sameNodeLabel: string;
}

/** What the rules read of a member: its labels and annotations, and the PodGroup it names if any (dialects.ts). */
export type GangMemberFacts = Pick<PodModel, 'name' | 'labels' | 'annotations' | 'priority' | 'creationMs' | 'podGroup'>;

export type SpecResult = { kind: 'ok'; spec: GangSpec } | { kind: 'invalid'; reason: string };

const MAX_NAMES_IN_REASON = 5;

export function names(pods: readonly { name: string }[]): string {
  const shown = pods.slice(0, MAX_NAMES_IN_REASON).map((p) => p.name).join(', ');
  return pods.length > MAX_NAMES_IN_REASON ? `${shown} and ${pods.length - MAX_NAMES_IN_REASON} more` : shown;
}

/** Parses a min-available label value; reasons are for users. */
export function parseMinAvailable(raw: string | undefined, max: number): { kind: 'ok'; value: number } | { kind: 'invalid'; reason: string } {
  if (raw === undefined) return { kind: 'invalid', reason: `label ${LABEL_POD_GROUP_MIN_AVAILABLE} is missing` };
  if (!/^\s*\d+\s*$/.test(raw)) return { kind: 'invalid', reason: `${LABEL_POD_GROUP_MIN_AVAILABLE} "${raw.slice(0, 40)}" is not a whole number` };
  const v = Number(raw.trim());
  if (v < 1) return { kind: 'invalid', reason: `${LABEL_POD_GROUP_MIN_AVAILABLE} must be at least 1, got ${v}` };
  if (v > max) return { kind: 'invalid', reason: `${LABEL_POD_GROUP_MIN_AVAILABLE} ${raw.trim().slice(0, 20)} is above the limit of ${max}` };
  return { kind: 'ok', value: v };
}

/** Rank: partly bound gangs first, then higher priority, then older, then name. Negative = a first. */
export function compareRank(a: { spec: GangSpec; bound: number }, b: { spec: GangSpec; bound: number }): number {
  const pa = a.bound > 0 ? 1 : 0;
  const pb = b.bound > 0 ? 1 : 0;
  if (pa !== pb) return pb - pa;
  if (a.spec.priority !== b.spec.priority) return b.spec.priority - a.spec.priority;
  if (a.spec.creationMs !== b.spec.creationMs) return a.spec.creationMs - b.spec.creationMs;
  return a.spec.key < b.spec.key ? -1 : a.spec.key > b.spec.key ? 1 : 0;
}

/** The request size used to order members for placement: scarce resources first. */
export function sizeKey(r: Resources): number[] {
  let ext = 0;
  for (const [k, v] of Object.entries(r)) if (k.includes('/')) ext += v;
  return [ext, r.cpu ?? 0, r.memory ?? 0];
}
interface MinVotes {
  pods: GangMemberFacts[];
  sources: Set<MinClaim['source']>;
}

/**
 * min-available as every member's dialect states it (its label, its PodGroup's minMember), and the
 * PodGroup if one is named; invalid unless all agree and the value is allowed.
 */
function agreedMinAvailable(key: string, members: readonly GangMemberFacts[], cfg: GangConfig): { kind: 'ok'; value: number; podGroup: PodGroupModel | null } | { kind: 'invalid'; reason: string } {
  const byMin = new Map<string, MinVotes>();
  let podGroup: PodGroupModel | null = null;
  for (const m of members) {
    const view = memberView(m);
    if (view.kind === 'invalid') return { kind: 'invalid', reason: `gang ${key}: ${view.reason}` };
    podGroup ??= view.podGroup;
    for (const c of view.claims) {
      const votes = byMin.get(c.value) ?? { pods: [], sources: new Set() };
      if (!votes.pods.includes(m)) votes.pods.push(m);
      votes.sources.add(c.source);
      byMin.set(c.value, votes);
    }
  }
  if (byMin.size > 1) {
    const bySeedOnly = [...byMin.values()].every((v) => v.sources.size === 1 && v.sources.has('label'));
    const what = bySeedOnly ? LABEL_POD_GROUP_MIN_AVAILABLE : `min-available (label ${LABEL_POD_GROUP_MIN_AVAILABLE}, PodGroup spec.minMember)`;
    const parts = [...byMin.entries()].map(([v, votes]) => `"${v}" on ${names(votes.pods)}`);
    return { kind: 'invalid', reason: `gang ${key}: members disagree on ${what}: ${parts.join('; ')}` };
  }
  const only = [...byMin.entries()][0];
  if (!only) return { kind: 'invalid', reason: `gang ${key}: no members` };
  const [raw, votes] = only;
  if (votes.sources.has('label')) {
    const min = parseMinAvailable(raw === '(missing)' ? undefined : raw, cfg.maxMinAvailable);
    return min.kind === 'ok' ? { kind: 'ok', value: min.value, podGroup } : { kind: 'invalid', reason: `gang ${key}: ${min.reason}` };
  }
  const n = Number(raw);
  if (n < 1) return { kind: 'invalid', reason: `gang ${key}: PodGroup spec.minMember must be at least 1, got ${n}` };
  if (n > cfg.maxMinAvailable) return { kind: 'invalid', reason: `gang ${key}: PodGroup spec.minMember ${n} is above the limit of ${cfg.maxMinAvailable}` };
  return { kind: 'ok', value: n, podGroup };
}

/**
 * The group's parameters; invalid, with a reason naming the members, unless every member agrees on them.
 * The barrier timeout is the default, else the PodGroup's scheduleTimeoutSeconds (capped at
 * maxBarrierTimeoutMs), else the barrier annotation on a member (refused above the cap).
 */
export function gangSpec(key: string, members: readonly GangMemberFacts[], cfg: GangConfig): SpecResult {
  const min = agreedMinAvailable(key, members, cfg);
  if (min.kind === 'invalid') return min;
  const first = members[0] as GangMemberFacts;
  const byPrio = new Map<number, GangMemberFacts[]>();
  for (const m of members) byPrio.set(m.priority, [...(byPrio.get(m.priority) ?? []), m]);
  if (byPrio.size > 1) {
    const parts = [...byPrio.entries()].map(([v, ps]) => `${v} on ${names(ps)}`);
    return { kind: 'invalid', reason: `gang ${key}: members must share one priority (seed 002, 5.3.1), found ${parts.join('; ')}` };
  }
  let barrierTimeoutMs = cfg.barrierTimeoutMs;
  const pgTimeout = min.podGroup?.scheduleTimeoutSeconds ?? null;
  if (pgTimeout !== null && pgTimeout > 0) barrierTimeoutMs = Math.min(pgTimeout * 1000, cfg.maxBarrierTimeoutMs);
  let sameNodeLabel = '';
  for (const m of members) {
    const t = m.annotations[ANNOTATION_BARRIER_TIMEOUT_SECONDS];
    if (t !== undefined) {
      const secs = Number(t);
      if (!Number.isFinite(secs) || secs <= 0 || secs * 1000 > cfg.maxBarrierTimeoutMs) {
        return { kind: 'invalid', reason: `gang ${key}: ${ANNOTATION_BARRIER_TIMEOUT_SECONDS} "${t.slice(0, 20)}" on ${m.name} must be a number of seconds above 0 and at most ${cfg.maxBarrierTimeoutMs / 1000}` };
      }
      barrierTimeoutMs = Math.round(secs * 1000);
    }
    const l = m.annotations[ANNOTATION_SAME_NODE_LABEL];
    if (l !== undefined) sameNodeLabel = l;
  }
  return {
    kind: 'ok',
    spec: { key, minAvailable: min.value, priority: first.priority, creationMs: first.creationMs, barrierTimeoutMs, sameNodeLabel },
  };
}
