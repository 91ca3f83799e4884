// The mutating webhook's HTTP server: POST /mutate-pods (decode -> decide -> encode) and GET /healthz.
// Built by a factory that never listens; tests drive it with inject(). Served over TLS in a cluster (the
// API server calls webhooks over HTTPS only); the certificate comes from the caller and can be rotated on
// the live server with rotateCertificate.

import { createSecureContext } from 'node:tls';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ExtenderError } from '../errors.js';
import { admit, type WebhookDecision } from './admission.js';
import type { MarkLookup } from './mark.js';
import type { WebhookMetrics } from './metrics.js';

export const WEBHOOK_PATH = '/mutate-pods';
/** Above the API server's own request limit (3 MiB): a real AdmissionReview always fits. */
export const DEFAULT_WEBHOOK_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export interface WebhookCertificate {
  cert: Buffer | string;
  key: Buffer | string;
}

export interface WebhookServerOptions {
  lookup: MarkLookup;
  logger: Logger;
  metrics?: WebhookMetrics;
  bodyLimitBytes?: number;
  /** The serving certificate; without it the server speaks plain HTTP (tests, a TLS-terminating sidecar). */
  https?: WebhookCertificate;
  /** Called after every decision (marked, unchanged or skipped), before the response is sent. */
  onDecision?: (d: WebhookDecision) => void;
}

type Refusal = { status: number; code: string; message: string };

function refusal(err: Error & { statusCode?: number; code?: string }, limit: number): Refusal {
  if (err instanceof ExtenderError) return { status: err.statusCode, code: err.code, message: err.message };
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: err.code, message: `the AdmissionReview is larger than the webhook's body limit of ${limit} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: err.code, message: 'the webhook accepts application/json only (an AdmissionReview v1)' };
    default: {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      return { status, code: err.code ?? (status === 500 ? 'INTERNAL' : 'BAD_REQUEST'), message: err.message };
    }
  }
}

function createFastify(opts: WebhookServerOptions, limit: number): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limit,
    // The API server keeps its connections to a webhook open while idle (about 90 s): on close, drop the
    // idle ones at once and let requests in flight finish, or shutting down waits for the API server.
    forceCloseConnections: 'idle',
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key } } : {}),
  }) as unknown as FastifyInstance;
  // JSON only: anything else is a 415. Plain JSON.parse (as the extender's routes): nothing here merges
  // the parsed object into another, and a '__proto__' key stays an own property.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: limit }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      done(Object.assign(new Error(`the body is not JSON: ${(err as Error).message}`), { statusCode: 400, code: 'BAD_REQUEST' }), undefined);
    }
  });
  return app;
}

/** Builds the webhook server (it does not listen). The lookup answers from the extender's cache. */
export function buildWebhookServer(opts: WebhookServerOptions): FastifyInstance {
  const limit = opts.bodyLimitBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT_BYTES;
  const app = createFastify(opts, limit);
  const { metrics, logger } = opts;
  const results = new WeakMap<FastifyRequest, 'marked' | 'unchanged'>();

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const r = refusal(err, limit);
    if (r.status >= 500) logger.error({ err, url: req.url }, 'webhook request failed');
    else logger.warn({ code: r.code, reason: r.message }, 'webhook refused a request');
    reply.code(r.status).send({ error: r.code, message: r.message });
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!metrics || req.routeOptions.url !== WEBHOOK_PATH) return;
    metrics.requests.inc({ result: results.get(req) ?? 'refused' });
    metrics.duration.observe(reply.elapsedTime / 1000);
  });

  app.post(WEBHOOK_PATH, async (req) => {
    const { review, decision } = admit(req.body, opts.lookup);
    const result = decision.result === 'marked' ? 'marked' : 'unchanged';
    results.set(req, result);
    if (result === 'marked' && decision.why !== null) metrics?.marks.inc({ why: decision.why });
    logger.debug({ uid: decision.uid, pod: `${decision.namespace}/${decision.name}`, result: decision.result, reason: decision.reason }, 'webhook decision');
    opts.onDecision?.(decision);
    return review;
  });
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

/**
 * Serves a new certificate on a live HTTPS webhook server from the next TLS handshake on; connections
 * already open keep the old one. The pair is checked first: a key that does not match its certificate
 * throws and the server keeps serving the old pair. Uses tls.Server#setSecureContext, which works under
 * SNI-less clients too (unlike an SNICallback, which a client connecting by IP address never triggers).
 */
export function rotateCertificate(app: FastifyInstance, next: WebhookCertificate): void {
  const server = app.server as unknown as { setSecureContext?: (o: WebhookCertificate) => void };
  if (typeof server.setSecureContext !== 'function') throw new Error('rotateCertificate: the webhook server was built without https');
  createSecureContext({ cert: next.cert, key: next.key });
  server.setSecureContext({ cert: next.cert, key: next.key });
}
