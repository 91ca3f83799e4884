// The fastify server: decode -> service -> encode for filter, prioritize and bind, plus health,
// readiness, metrics and debug. Built by a factory that never listens; tests drive it with inject().
// No decision is made here: the service (../service.ts) owns them.

import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ExtenderBindingResult, ExtenderFilterResult, HostPriorityList, KubeObject } from '../../wire/extender.js';
import type { ExtenderService } from '../service.js';
import type { ExtenderMetrics } from '../metrics.js';
import { ExtenderError } from '../errors.js';
import { decodeBindingArgs, decodeExtenderArgs, nodeListOf } from './decode.js';

export interface ServerOptions {
  logger: Logger;
  metrics: ExtenderMetrics;
  bodyLimitBytes: number;
  keepAliveTimeoutMs: number;
  https?: { cert: Buffer; key: Buffer; ca?: Buffer };
}

function createFastify(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    // No per-request log lines: filter runs for every pod in the cluster.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key, ...(opts.https.ca ? { ca: opts.https.ca, requestCert: true, rejectUnauthorized: true } : {}) } } : {}),
  }) as unknown as FastifyInstance;
  // Headers must be allowed to arrive on a connection kept idle up to keepAliveTimeout.
  app.server.headersTimeout = opts.keepAliveTimeoutMs + 5_000;
  // Plain JSON.parse instead of fastify's prototype-scanning parser: the scan was a quarter of the
  // extender's CPU at 5,000 node names (bench/RESULTS.md), and nothing here merges request objects
  // into others (the model is built field by field; JSON.parse itself never sets a prototype).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: opts.bodyLimitBytes }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      const e = err as Error & { statusCode?: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    // Body too large, malformed JSON and the like: a 4xx with the reason, never a crash.
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    reply.code(status).send({ Error: `${err.code ?? 'ERROR'}: ${err.message}` });
  });
  return app;
}

type Handler<T> = (req: FastifyRequest, reply: FastifyReply) => Promise<T> | T;

/** Counts and times a verb, and turns errors into the verb's error form (an `Error` field, or a status for prioritize). */
function timed<T>(verb: string, metrics: ExtenderMetrics, logger: Logger, fn: Handler<T>): Handler<T | void> {
  return async (req, reply) => {
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
}

function registerVerbs(app: FastifyInstance, service: ExtenderService, opts: ServerOptions): void {
  const { metrics, logger } = opts;
  app.post('/filter', timed('filter', metrics, logger, (req) => {
    const args = decodeExtenderArgs(req.body, 'filter');
    const out = service.filter(args);
    const result: ExtenderFilterResult = {
      Nodes: args.mode === 'nodes' ? nodeListOf(out.passed.map((n) => args.nodes?.get(n) as KubeObject)) : null,
      NodeNames: args.mode === 'names' ? out.passed : null,
      FailedNodes: out.failed,
      FailedAndUnresolvableNodes: out.unresolvable,
      Error: '',
    };
    return result;
  }));
  app.post('/prioritize', timed('prioritize', metrics, logger, (req) => {
    const scores = service.prioritize(decodeExtenderArgs(req.body, 'prioritize'));
    const result: HostPriorityList = scores.map((s) => ({ Host: s.host, Score: s.score }));
    return result;
  }));
  app.post('/bind', timed('bind', metrics, logger, async (req) => {
    await service.bind(decodeBindingArgs(req.body));
    return { Error: '' } satisfies ExtenderBindingResult;
  }));
}

function registerOperations(app: FastifyInstance, service: ExtenderService, metrics: ExtenderMetrics): void {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = service.readiness();
    reply.code(r.ready ? 200 : 503);
    return { ready: r.ready, reason: r.reason };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/debug/gangs', async () => ({ gangs: service.describeGangs() }));
  // Where each gang's wait went (epoch ms): first filter, plan, arrivals at the barrier, release, failed binds.
  app.get('/debug/gangs/timeline', async () => ({ nowMs: Date.now(), gangs: service.gangTimelines() }));
  app.get('/debug/cache', async () => service.cacheSizes());
}

/**
 * Closes the server, giving open requests `graceMs` before every connection is dropped: clients that keep
 * idle connections open (the API server to a webhook, fetch's pool) would otherwise hold close() for as
 * long as their keep-alive lasts.
 */
export async function closeWithin(app: FastifyInstance, graceMs: number): Promise<void> {
  const force = setTimeout(() => app.server.closeAllConnections(), graceMs);
  force.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(force);
  }
}

/** The HTTP face of the service; does not listen. */
export function buildServer(service: ExtenderService, opts: ServerOptions): FastifyInstance {
  const app = createFastify(opts);
  registerVerbs(app, service, opts);
  registerOperations(app, service, opts.metrics);
  return app;
}
