// The extender's verbs as plain async functions: filter, prioritize and bind, each from decoded wire
// arguments to a decision. This layer owns what lies between the HTTP routes and the pure core:
// readiness, the pod copies seen at filter (the scheduler's watch can be ahead of ours), the lag
// grace on bind, bind-then-assume, the gang barrier, and telling the world (Events, metrics, logs)
// once a decision is made. See docs/architecture.md for the path of one request.

import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import type { ClusterState } from '../core/state.js';
import type { NodeModel, PodModel } from '../core/model.js';
import { filterPod, prioritizePod, type FilterOutcome, type NodeLookup, type Score } from '../core/filter.js';
import { checkBind, type BindCheck } from '../core/bind.js';
import type { GangDescription, GangEvent, GangPlanner, GangTimeline } from '../core/gang/planner.js';
import type { ExtenderBindingArgs } from '../wire/extender.js';
import { toNode, toPod } from './convert.js';
import { ExtenderError } from './errors.js';
import type { ExtenderMetrics } from './metrics.js';
import type { BindBarrier } from './barrier.js';
import type { Binder, Clock, EventSink, Readiness, Requeuer, VerbArgs } from './ports.js';

export interface ServiceDeps {
  state: ClusterState;
  planner: GangPlanner;
  barrier: BindBarrier;
  binder: Binder;
  readiness: () => Readiness;
  events: EventSink;
  requeuer: Requeuer;
  clock: Clock;
  metrics: ExtenderMetrics;
  logger: Logger;
  /** How long a bind refused for reasons a lagging watch can cause is re-checked (--bind-lag-grace-ms). */
  bindLagGraceMs: number;
}

/** How often a lag-refused bind is checked again within the grace. */
const LAG_RECHECK_MS = 100;

export type BindResult = 'bound' | 'already-bound';

const NONE: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The answer as kube-scheduler needs it. When some node passed, the pod is schedulable and the
 * scheduler never shows the other nodes' reasons (they only make up its FitError message when no
 * node is left): listing them cost 324 KB per steered gang member at 5,000 nodes. So they are sent
 * only when nothing passed. The counts stay in the metrics; `decide` keeps every reason. Called only for answers that carry reasons.
 */
function forTheScheduler(out: FilterOutcome): FilterOutcome {
  // Nothing passed: the reasons without each node's numbers, so the scheduler's message stays short.
  if (out.passed.length === 0) return out.compact ? { kind: out.kind, passed: [], failed: out.compact.failed, unresolvable: out.compact.unresolvable } : out;
  return { kind: out.kind, passed: out.passed, failed: NONE as Record<string, string>, unresolvable: NONE as Record<string, string> };
}

export class ExtenderService {
  /**
   * Pods as the scheduler sent them at filter, by "namespace/name". The scheduler's informer can be
   * ahead of ours: a pod it binds may not have reached our watch yet. A cache, not the truth.
   */
  private readonly seenAtFilter = new LRUCache<string, PodModel>({ max: 20_000, ttl: 10 * 60_000 });

  constructor(private readonly deps: ServiceDeps) {}

  readiness(): Readiness {
    return this.deps.readiness();
  }

  private requireReady(): void {
    const r = this.deps.readiness();
    if (!r.ready) throw new ExtenderError('NOT_READY', `extender not ready: ${r.reason}`);
  }

  private decodePod(args: VerbArgs): PodModel {
    const pod = toPod(args.pod);
    if (!pod) throw new ExtenderError('BAD_REQUEST', 'Pod could not be read');
    this.seenAtFilter.set(`${pod.namespace}/${pod.name}`, pod);
    return pod;
  }

  private lookupFor(args: VerbArgs): NodeLookup {
    const { state } = this.deps;
    if (!args.nodes) return (name) => state.nodes.get(name);
    const sent = args.nodes;
    const converted = new Map<string, NodeModel | null>();
    // The cache is the truth for what is allocated; a node the cache has not seen yet is read from the request.
    return (name) => {
      const cached = state.nodes.get(name);
      if (cached) return cached;
      if (!converted.has(name)) converted.set(name, toNode(sent.get(name)));
      return converted.get(name) ?? undefined;
    };
  }

  /** Splits the offered nodes into passed / failed / unresolvable for the pod. */
  filter(args: VerbArgs): FilterOutcome {
    this.requireReady();
    const { state, metrics, planner } = this.deps;
    const pod = this.decodePod(args);
    const replansBefore = planner.replans;
    const out = filterPod(state, pod, args.names, this.deps.clock(), this.lookupFor(args), planner);
    if (planner.replans > replansBefore) metrics.gangReplans.inc(planner.replans - replansBefore);
    this.emit(planner.drainEvents());
    const back = planner.drainRequeues();
    if (back.length > 0) this.deps.requeuer.requeue(back);
    metrics.decisions.inc({ kind: out.kind });
    metrics.nodeVerdicts.inc({ result: 'passed' }, out.passed.length);
    const nf = Object.keys(out.failed).length;
    const nu = Object.keys(out.unresolvable).length;
    if (nf) metrics.nodeVerdicts.inc({ result: 'failed' }, nf);
    if (nu) metrics.nodeVerdicts.inc({ result: 'unresolvable' }, nu);
    return nf + nu > 0 ? forTheScheduler(out) : out;
  }

  /** Integer scores 0..10 for the offered nodes. */
  prioritize(args: VerbArgs): Score[] {
    this.requireReady();
    const pod = this.decodePod(args);
    return prioritizePod(this.deps.state, pod, args.names, this.deps.clock(), this.lookupFor(args), this.deps.planner);
  }

  /** Binds the pod (through its gang's barrier) or throws an ExtenderError saying why not. */
  async bind(args: ExtenderBindingArgs): Promise<BindResult> {
    this.requireReady();
    const { state, metrics, logger } = this.deps;
    if (!state.podByKey(args.PodNamespace, args.PodName)) {
      const seen = this.seenAtFilter.get(`${args.PodNamespace}/${args.PodName}`);
      if (seen && !seen.nodeName) state.setPod(seen);
    }
    const check = await this.checkWithLagGrace(args);
    if (check.kind === 'already-bound') {
      metrics.binds.inc({ result: 'already_bound' });
      return 'already-bound';
    }
    if (check.kind === 'refused') {
      metrics.binds.inc({ result: 'refused' });
      this.deps.planner.failedBind(args.PodNamespace, args.PodName, check.reason, this.deps.clock());
      logger.warn({ pod: `${args.PodNamespace}/${args.PodName}`, node: args.Node, reason: check.reason }, 'bind refused');
      throw new ExtenderError('BIND_REFUSED', `bind refused: ${check.reason}`);
    }
    try {
      await this.deps.barrier.bind(args, (a) => this.bindAndAssume(a));
    } catch (err) {
      metrics.binds.inc({ result: err instanceof ExtenderError && err.code === 'GANG_BARRIER_TIMEOUT' ? 'held_timeout' : 'failed' });
      this.deps.planner.failedBind(args.PodNamespace, args.PodName, (err as Error).message, this.deps.clock());
      throw err;
    }
    metrics.binds.inc({ result: 'bound' });
    return 'bound';
  }

  /**
   * The scheduler's informer can be ahead of ours (a deleted pod freed the room, a pod was just
   * created): a refusal our lag may cause is re-checked for the grace before it stands.
   */
  private async checkWithLagGrace(args: ExtenderBindingArgs): Promise<BindCheck> {
    const { state, clock, bindLagGraceMs } = this.deps;
    let check = checkBind(state, args, clock());
    for (let waitedMs = 0; check.kind === 'refused' && check.lag && waitedMs < bindLagGraceMs; waitedMs += LAG_RECHECK_MS) {
      await new Promise((r) => setTimeout(r, Math.min(LAG_RECHECK_MS, bindLagGraceMs - waitedMs)));
      check = checkBind(state, args, clock());
    }
    return check;
  }

  /** Creates the binding, then counts the pod on its node at once (our watch confirms it later). */
  private async bindAndAssume(a: ExtenderBindingArgs): Promise<void> {
    await this.deps.binder.bind(a);
    const pod = this.deps.state.podByKey(a.PodNamespace, a.PodName);
    if (pod) this.deps.state.assumeBound(pod.uid, a.Node);
  }

  /** Logs, counts and publishes what the gang planner reported. */
  emit(events: readonly GangEvent[]): void {
    if (events.length === 0) return;
    const { metrics, logger } = this.deps;
    for (const e of events) {
      if (e.kind === 'unschedulable') metrics.gangPlanFailures.inc();
      if (e.kind === 'bound' && e.quorumToBoundMs !== null) metrics.gangQuorumToBound.observe(e.quorumToBoundMs / 1000);
      logger.info({ gang: e.gang, event: e.kind, pods: e.podUids.length }, e.reason);
    }
    this.deps.events.publish(events);
  }

  /** Every gang's timeline (/debug/gangs/timeline). */
  gangTimelines(): GangTimeline[] {
    return this.deps.planner.timelines();
  }

  describeGangs(): GangDescription[] {
    return this.deps.planner.describe(this.deps.clock());
  }

  cacheSizes(): Record<string, number> {
    return this.deps.state.sizes();
  }
}
