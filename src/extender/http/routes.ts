// The fastify server: decode -> core -> encode for filter, prioritize and bind, plus health,
// readiness, metrics and debug. Built by a factory that never listens; tests drive it with inject().

import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ClusterState } from '../../core/state.js';
import { filterPod, prioritizePod, type NodeLookup } from '../../core/filter.js';
import { checkBind } from '../../core/bind.js';
import type { NodeModel } from '../../core/model.js';
import type { ExtenderBindingResult, ExtenderFilterResult, HostPriorityList, KubeObject } from '../../wire/extender.js';
import { toNode, toPod } from '../convert.js';
import { decodeBindingArgs, decodeExtenderArgs, nodeListOf, type DecodedArgs, type DecodedBind } from './decode.js';
import { ExtenderError } from '../errors.js';
import type { ExtenderMetrics } from '../metrics.js';
import type { GangRuntime } from '../../core/gang/planner.js';
import type { PodModel } from '../../core/model.js';
import { LRUCache } from 'lru-cache';

export interface Binder {
  /** Creates the pod's binding; resolves when the API server accepted it. Throws ExtenderError. */
  bind(args: DecodedBind): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  reason: string;
}

export interface ServerDeps {
  state: ClusterState;
  binder: Binder;
  readiness: () => Readiness;
  clock: () => number;
  logger: Logger;
  metrics: ExtenderMetrics;
  gang?: GangRuntime;
  bodyLimitBytes: number;
  keepAliveTimeoutMs: number;
  /** How long a bind refused for reasons a lagging watch can cause is re-checked before answering. */
  bindLagGraceMs?: number;
  https?: { cert: Buffer; key: Buffer; ca?: Buffer };
}

function lookupFor(state: ClusterState, args: DecodedArgs): NodeLookup {
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

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { state, metrics, clock, logger } = deps;
  const bindLagGraceMs = deps.bindLagGraceMs ?? 1000;
  const app = Fastify({
    loggerInstance: logger,
    // No per-request log lines: filter runs for every pod in the cluster.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    keepAliveTimeout: deps.keepAliveTimeoutMs,
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key, ...(deps.https.ca ? { ca: deps.https.ca, requestCert: true, rejectUnauthorized: true } : {}) } } : {}),
  }) as unknown as FastifyInstance;
  // Headers must be allowed to arrive on a connection kept idle up to keepAliveTimeout.
  app.server.headersTimeout = deps.keepAliveTimeoutMs + 5_000;
  // Plain JSON.parse instead of fastify's prototype-scanning parser: the scan was a quarter of the
  // extender's CPU at 5,000 node names (bench/RESULTS.md), and nothing here merges request objects
  // into others (the model is built field by field; JSON.parse itself never sets a prototype).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: deps.bodyLimitBytes }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      const e = err as Error & { statusCode?: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });

  const timed = <T>(verb: string, fn: (req: FastifyRequest, reply: FastifyReply) => Promise<T> | T) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<T | void> => {
      const start = process.hrtime.bigint();
      try {
        const out = await fn(req, reply);
        metrics.requests.inc({ verb, outcome: 'ok' });
        return out;
      } catch (err) {
        if (err instanceof ExtenderError) {
          const outcome = err.code === 'BAD_REQUEST' ? 'bad_request' : err.code === 'NOT_READY' ? 'not_ready' : 'error';
          metrics.requests.inc({ verb, outcome });
          reply.code(err.statusCode);
          if (verb === 'prioritize') return reply.send({ error: err.code, message: err.message });
          return reply.send({ Error: `${err.message}` });
        }
        metrics.requests.inc({ verb, outcome: 'error' });
        logger.error({ err, verb }, 'verb failed');
        reply.code(verb === 'prioritize' ? 500 : 200);
        return reply.send(verb === 'prioritize' ? { error: 'INTERNAL', message: String(err) } : { Error: `internal error: ${(err as Error).message}` });
      } finally {
        metrics.duration.observe({ verb }, Number(process.hrtime.bigint() - start) / 1e9);
      }
    };

  const requireReady = (): void => {
    const r = deps.readiness();
    if (!r.ready) throw new ExtenderError('NOT_READY', `extender not ready: ${r.reason}`);
  };

  // Pods as the scheduler sent them at filter, by "namespace/name". The scheduler's informer can be
  // ahead of ours: a pod it binds may not have reached our watch yet. A cache, not the truth.
  const seenAtFilter = new LRUCache<string, PodModel>({ max: 20_000, ttl: 10 * 60_000 });
  const decodePod = (args: DecodedArgs) => {
    const pod = toPod(args.pod);
    if (!pod) throw new ExtenderError('BAD_REQUEST', 'Pod could not be read');
    seenAtFilter.set(`${pod.namespace}/${pod.name}`, pod);
    return pod;
  };

  app.post('/filter', timed('filter', (req) => {
    const args = decodeExtenderArgs(req.body, 'filter');
    requireReady();
    const pod = decodePod(args);
    const out = filterPod(state, pod, args.names, clock(), lookupFor(state, args), deps.gang);
    metrics.decisions.inc({ kind: out.kind });
    metrics.nodeVerdicts.inc({ result: 'passed' }, out.passed.length);
    const nf = Object.keys(out.failed).length;
    const nu = Object.keys(out.unresolvable).length;
    if (nf) metrics.nodeVerdicts.inc({ result: 'failed' }, nf);
    if (nu) metrics.nodeVerdicts.inc({ result: 'unresolvable' }, nu);
    const result: ExtenderFilterResult = {
      Nodes: args.mode === 'nodes' ? nodeListOf(out.passed.map((n) => args.nodes?.get(n) as KubeObject)) : null,
      NodeNames: args.mode === 'names' ? out.passed : null,
      FailedNodes: out.failed,
      FailedAndUnresolvableNodes: out.unresolvable,
      Error: '',
    };
    return result;
  }));

  app.post('/prioritize', timed('prioritize', (req) => {
    const args = decodeExtenderArgs(req.body, 'prioritize');
    requireReady();
    const pod = decodePod(args);
    const scores = prioritizePod(state, pod, args.names, clock(), lookupFor(state, args), deps.gang);
    const result: HostPriorityList = scores.map((s) => ({ Host: s.host, Score: s.score }));
    return result;
  }));

  app.post('/bind', timed('bind', async (req) => {
    const args = decodeBindingArgs(req.body);
    requireReady();
    if (!state.podByKey(args.PodNamespace, args.PodName)) {
      const seen = seenAtFilter.get(`${args.PodNamespace}/${args.PodName}`);
      if (seen && !seen.nodeName) state.setPod(seen);
    }
    let check = checkBind(state, args, clock());
    // The scheduler's informer can be ahead of ours (a deleted pod freed the room, a pod was just
    // created): give our watch a moment to catch up before refusing.
    for (let waitedMs = 0; check.kind === 'refused' && check.lag && waitedMs < bindLagGraceMs; waitedMs += 100) {
      await new Promise((r) => setTimeout(r, 100));
      check = checkBind(state, args, clock());
    }
    if (check.kind === 'already-bound') {
      metrics.binds.inc({ result: 'already_bound' });
      return { Error: '' } satisfies ExtenderBindingResult;
    }
    if (check.kind === 'refused') {
      metrics.binds.inc({ result: 'refused' });
      logger.warn({ pod: `${args.PodNamespace}/${args.PodName}`, node: args.Node, reason: check.reason }, 'bind refused');
      throw new ExtenderError('BIND_REFUSED', `bind refused: ${check.reason}`);
    }
    const doBind = async (a: DecodedBind): Promise<void> => {
      await deps.binder.bind(a);
      const pod = state.podByKey(a.PodNamespace, a.PodName);
      if (pod) state.assumeBound(pod.uid, a.Node);
    };
    try {
      if (deps.gang) await deps.gang.bind(args, doBind, clock);
      else await doBind(args);
    } catch (err) {
      metrics.binds.inc({ result: err instanceof ExtenderError && err.code === 'GANG_BARRIER_TIMEOUT' ? 'held_timeout' : 'failed' });
      throw err;
    }
    metrics.binds.inc({ result: 'bound' });
    return { Error: '' } satisfies ExtenderBindingResult;
  }));

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = deps.readiness();
    reply.code(r.ready ? 200 : 503);
    return { ready: r.ready, reason: r.reason };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/debug/gangs', async () => ({ gangs: deps.gang?.describe(clock()) ?? [] }));
  app.get('/debug/cache', async () => state.sizes());

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    // Body too large, malformed JSON and the like: a 4xx with the reason, never a crash.
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    reply.code(status).send({ Error: `${err.code ?? 'ERROR'}: ${err.message}` });
  });
  return app;
}
