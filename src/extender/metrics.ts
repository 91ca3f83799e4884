// Prometheus metrics of the extender. One registry per server so tests can build many servers.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ExtenderMetrics {
  registry: Registry;
  requests: Counter<'verb' | 'outcome'>;
  duration: Histogram<'verb'>;
  decisions: Counter<'kind'>;
  nodeVerdicts: Counter<'result'>;
  binds: Counter<'result'>;
  cacheObjects: Gauge<'kind'>;
  gangsByPhase: Gauge<'phase'>;
  gangQuorumToBound: Histogram<string>;
  gangBarrierTimeouts: Counter<string>;
  gangPlanFailures: Counter<string>;
  gangReplans: Counter<string>;
  gangRequeues: Counter<'result'>;
  gangGatesRemoved: Counter<'result'>;
}

export function createExtenderMetrics(sizes: () => Record<string, number>, withDefaults = false, gangPhases: () => Record<string, number> = () => ({})): ExtenderMetrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({ name: 'extender_requests_total', help: 'Extender verb requests by outcome (ok, error, bad_request, not_ready).', labelNames: ['verb', 'outcome'], registers: [registry] }),
    duration: new Histogram({
      name: 'extender_request_duration_seconds', help: 'Server-side time per verb request, decode to encode.', labelNames: ['verb'], registers: [registry],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    }),
    decisions: new Counter({ name: 'extender_filter_decisions_total', help: 'filter calls by the kind of pod decided (plain, local-lvm, gang, blocked).', labelNames: ['kind'], registers: [registry] }),
    nodeVerdicts: new Counter({ name: 'extender_node_verdicts_total', help: 'Per-node filter results (passed, failed, unresolvable).', labelNames: ['result'], registers: [registry] }),
    binds: new Counter({ name: 'extender_binds_total', help: 'bind results (bound, already_bound, refused, failed, held_timeout).', labelNames: ['result'], registers: [registry] }),
    cacheObjects: new Gauge({
      name: 'extender_cache_objects', help: 'Objects in the extender cache by kind.', labelNames: ['kind'], registers: [registry],
      collect() {
        for (const [k, v] of Object.entries(sizes())) this.set({ kind: k }, v);
      },
    }),
    gangsByPhase: new Gauge({
      name: 'extender_gangs', help: 'Pod groups by phase (waiting-for-members, invalid, unschedulable, queued, planned, binding, running).', labelNames: ['phase'], registers: [registry],
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(gangPhases())) this.set({ phase: k }, v);
      },
    }),
    gangQuorumToBound: new Histogram({
      name: 'extender_gang_quorum_to_bound_seconds', help: 'From the moment a gang had its quorum to the release of its bind barrier.', registers: [registry],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    }),
    gangBarrierTimeouts: new Counter({ name: 'extender_gang_barrier_timeouts_total', help: 'Bind barriers that did not fill in time (their binds failed, their plans were released).', registers: [registry] }),
    gangPlanFailures: new Counter({ name: 'extender_gang_plan_failures_total', help: 'Plan attempts that found no placement for a gang.', registers: [registry] }),
    gangRequeues: new Counter({
      name: 'extender_gang_requeues_total', help: 'Refused gang members a later plan includes, touched so kube-scheduler retries them (patched, failed, shed).', labelNames: ['result'], registers: [registry],
    }),
    gangGatesRemoved: new Counter({
      name: 'extender_gang_gates_removed_total', help: 'Gang gates removed from members once their gang was admitted: min-available exist and, with an admission window, the whole gang fits (removed, failed).', labelNames: ['result'], registers: [registry],
    }),
    gangReplans: new Counter({ name: 'extender_gang_replans_total', help: 'Gang members re-planned because the scheduler did not offer their planned node (a pod outside the plan took it, or the caches differ).', registers: [registry] }),
  };
}
