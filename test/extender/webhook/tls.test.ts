// The webhook over real HTTPS on loopback, and certificate rotation on the live server: after
// rotateCertificate the next handshake gets the new certificate, without a restart. Certificates are
// made by openssl for the test (as test/extender/http/tls.test.ts does).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildWebhookServer, rotateCertificate, WEBHOOK_PATH } from '../../../src/extender/webhook/server.js';
import { makePod } from '../../support/builders.js';
import { mapLookup, review } from './helpers.js';
import { issueCert, makeCa } from '../../support/openssl.js';

const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
const f = (n: string) => join(dir, n);

/** One CA, two serving certificates for 127.0.0.1 (the old and the new one). */
function makePki(): void {
  makeCa(dir, 'ca', 'webhook-test-ca');
  for (const who of ['old', 'new']) issueCert(dir, who, { ca: 'ca', cn: `webhook-${who}`, serving: true });
}

/** One POST on a fresh connection (no keep-alive: each call is a new handshake); the served certificate's CN and the body. */
function post(port: number, body: unknown): Promise<{ status: number; cn: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: WEBHOOK_PATH, method: 'POST', ca: readFileSync(f('ca.crt')), agent: false,
      headers: { 'content-type': 'application/json' },
    }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cn: String(cert.subject?.CN ?? ''), json: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('webhook TLS', () => {
  let app: FastifyInstance;
  let port = 0;
  const body = review(makePod('w').group('g', 2).build());

  beforeAll(async () => {
    makePki();
    app = buildWebhookServer({ lookup: mapLookup(), logger: pino({ level: 'silent' }), https: { cert: readFileSync(f('old.crt')), key: readFileSync(f('old.key')) } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves AdmissionReviews over HTTPS with the certificate it was built with', async () => {
    const r = await post(port, body);
    expect([r.status, r.cn, r.json.response.patchType]).toEqual([200, 'webhook-old', 'JSONPatch']);
  });

  it('refuses a rotation to a key that does not match its certificate, and keeps the old pair', async () => {
    expect(() => rotateCertificate(app, { cert: readFileSync(f('new.crt')), key: readFileSync(f('old.key')) })).toThrow();
    expect((await post(port, body)).cn).toBe('webhook-old');
  });

  it('serves the new certificate from the next handshake after a rotation, without a restart', async () => {
    rotateCertificate(app, { cert: readFileSync(f('new.crt')), key: readFileSync(f('new.key')) });
    const r = await post(port, body);
    expect([r.status, r.cn]).toEqual([200, 'webhook-new']);
  });

  it('refuses a rotation on a server built without https', () => {
    const plain = buildWebhookServer({ lookup: mapLookup(), logger: pino({ level: 'silent' }) });
    expect(() => rotateCertificate(plain, { cert: 'x', key: 'y' })).toThrow(/built without https/);
  });
});
