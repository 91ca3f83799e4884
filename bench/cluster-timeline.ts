// Where a gang's time goes, for every side from the pod watch (first member bound, last member bound)
// and for our extender from its GET /debug/gangs/timeline (first filter, plan, bind arrivals at the
// barrier, release, failed binds). Summaries are p50/p99 over the gangs; bench/cluster-report.ts renders them.

import { httpGet } from '../src/localcluster/net.js';
import type { GangTimeline } from '../src/core/gang/types.js';
import type { ExtenderTimelineStats, GangTimelineStats } from './cluster-report.js';
import { countKeys, quantile } from './cluster-util.js';

/** One gang as the pod watch saw it (epoch ms). */
export interface WatchedGang {
  firstBoundMs: number | null;
  completedAtMs: number | null;
}

const round = (x: number | null): number | null => (x === null ? null : Math.round(x));

export function watchTimeline(gangs: ReadonlyMap<string, WatchedGang>, tStart: number): GangTimelineStats {
  const spans: number[] = [];
  const allBound: number[] = [];
  const perGang: [string, number | null, number | null][] = [];
  let started = 0;
  for (const [name, g] of gangs) {
    if (g.firstBoundMs !== null) started++;
    if (g.firstBoundMs !== null && g.completedAtMs !== null) spans.push(g.completedAtMs - g.firstBoundMs);
    if (g.completedAtMs !== null) allBound.push(g.completedAtMs - tStart);
    perGang.push([name, g.firstBoundMs === null ? null : g.firstBoundMs - tStart, g.completedAtMs === null ? null : g.completedAtMs - tStart]);
  }
  return {
    gangsStarted: started,
    gangsComplete: allBound.length,
    spanP50Ms: round(quantile(spans, 0.5)),
    spanP99Ms: round(quantile(spans, 0.99)),
    spanMaxMs: spans.length > 0 ? Math.max(...spans) : null,
    allBoundP50Ms: round(quantile(allBound, 0.5)),
    allBoundP99Ms: round(quantile(allBound, 0.99)),
    perGang,
  };
}

/** The extender's answer (src/extender/http/routes.ts); an older extender may not send `requeued`. */
interface ExtenderTimeline {
  nowMs: number;
  gangs: Array<Omit<GangTimeline, 'requeued' | 'admittedMs'> & { requeued?: number; admittedMs?: number | null }>;
}

/** GET <url>/debug/gangs/timeline: the raw answer, or null when this extender does not serve it (404). */
export async function fetchExtenderTimeline(url: string): Promise<{ raw: ExtenderTimeline | null; status: number }> {
  const r = await httpGet(`${url}/debug/gangs/timeline`, undefined, 30_000);
  if (r.status === 404) return { raw: null, status: 404 };
  if (r.status !== 200) throw new Error(`GET ${url}/debug/gangs/timeline: ${r.status} ${r.body.slice(0, 300)}`);
  const raw = JSON.parse(r.body) as ExtenderTimeline;
  if (!Array.isArray(raw.gangs)) throw new Error(`GET ${url}/debug/gangs/timeline: no gangs array: ${r.body.slice(0, 300)}`);
  return { raw, status: 200 };
}

/** The gang's short name: the timeline says "namespace/name", the watch "name". */
const shortName = (gang: string): string => gang.slice(gang.lastIndexOf('/') + 1);

export function summariseExtenderTimeline(raw: ExtenderTimeline, watched: ReadonlyMap<string, WatchedGang>): ExtenderTimelineStats {
  const filterToPlan: number[] = [];
  const planToArrival: number[] = [];
  const barrier: number[] = [];
  const releaseToBound: number[] = [];
  const reasons: string[] = [];
  let planned = 0;
  let plans = 0;
  let released = 0;
  let gangsWithFailed = 0;
  let requeued = 0;
  let admitted = 0;
  for (const g of raw.gangs) {
    if (g.admittedMs !== undefined && g.admittedMs !== null) admitted++;
    plans += g.plans ?? 0;
    requeued += g.requeued ?? 0;
    const firstArrival = g.arrivalsMs?.length ? Math.min(...g.arrivalsMs) : null;
    if (g.planMs !== null) {
      planned++;
      // An admitted gang's plan comes before any member's filter (the gate made it).
      if (g.firstFilterMs !== null && g.firstFilterMs <= g.planMs) filterToPlan.push(g.planMs - g.firstFilterMs);
      if (firstArrival !== null) planToArrival.push(firstArrival - g.planMs);
    }
    if (g.releasedMs !== null) {
      released++;
      if (firstArrival !== null) barrier.push(g.releasedMs - firstArrival);
      const done = watched.get(shortName(g.gang))?.completedAtMs ?? null;
      if (done !== null) releaseToBound.push(done - g.releasedMs);
    }
    if (g.failedBinds?.length) gangsWithFailed++;
    for (const f of g.failedBinds ?? []) reasons.push(f.reason);
  }
  const p = (xs: number[], q: number) => round(quantile(xs, q));
  return {
    gangs: raw.gangs.length, planned, plans, released,
    firstFilterToPlanP50Ms: p(filterToPlan, 0.5), firstFilterToPlanP99Ms: p(filterToPlan, 0.99),
    planToFirstArrivalP50Ms: p(planToArrival, 0.5), planToFirstArrivalP99Ms: p(planToArrival, 0.99),
    barrierWaitP50Ms: p(barrier, 0.5), barrierWaitP99Ms: p(barrier, 0.99),
    releaseToAllBoundP50Ms: p(releaseToBound, 0.5), releaseToAllBoundP99Ms: p(releaseToBound, 0.99),
    failedBinds: reasons.length, gangsWithFailedBinds: gangsWithFailed,
    failedBindReasons: countKeys(reasons, 8, 240),
    requeued, admitted,
  };
}
