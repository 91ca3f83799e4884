// TLS serving and client-certificate verification (the scheduler's tlsConfig certFile/keyFile),
// on real HTTPS over loopback, with certificates made by openssl for the test.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadExtenderConfig } from '../../../src/config/extender.js';
import { createExtenderApp, type ExtenderApp } from '../../../src/extender/assemble.js';
import { makeNode, makePod } from '../../support/builders.js';
import { issueCert, makeCa } from '../../support/openssl.js';

const dir = mkdtempSync(join(tmpdir(), 'extender-tls-'));
const f = (n: string) => join(dir, n);

function makePki(): void {
  makeCa(dir, 'ca', 'test-ca');
  issueCert(dir, 'server', { ca: 'ca', serving: true });
  issueCert(dir, 'client', { ca: 'ca' });
  // A certificate from another CA, which must be refused.
  makeCa(dir, 'other', 'other-ca');
  issueCert(dir, 'stranger', { ca: 'other' });
}

function call(port: number, client: 'client' | 'stranger' | null): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ Pod: makePod('p').build(), Nodes: null, NodeNames: ['a'] });
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/filter', method: 'POST', ca: readFileSync(f('ca.crt')),
      headers: { 'content-type': 'application/json' },
      ...(client ? { cert: readFileSync(f(`${client}.crt`)), key: readFileSync(f(`${client}.key`)) } : {}),
    }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS', () => {
  let ext: ExtenderApp;
  let port = 0;
  beforeAll(async () => {
    makePki();
    writeFileSync(f('snapshot.yaml'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [makeNode('a').build()] }));
    const cfg = loadExtenderConfig(['--port', '0', '--snapshot', f('snapshot.yaml'), '--tls-cert-file', f('server.crt'), '--tls-key-file', f('server.key'), '--tls-client-ca-file', f('ca.crt')], {});
    if (cfg.kind !== 'ok') throw new Error(cfg.errors.join('; '));
    ext = createExtenderApp(cfg.config, pino({ level: 'silent' }));
    const address = await ext.listen();
    port = Number(new URL(address).port);
    expect(address.startsWith('https://')).toBe(true);
  });
  afterAll(async () => {
    await ext?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a client whose certificate the configured CA signed', async () => {
    const r = await call(port, 'client');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).NodeNames).toEqual(['a']);
  });

  it('refuses a client without a certificate', async () => {
    await expect(call(port, null)).rejects.toThrow();
  });

  it('refuses a client whose certificate another CA signed', async () => {
    await expect(call(port, 'stranger')).rejects.toThrow();
  });

  it('refuses a configuration with a client CA but no serving certificate', () => {
    const r = loadExtenderConfig(['--tls-client-ca-file', f('ca.crt')], {});
    expect(r).toEqual({ kind: 'invalid', errors: ['--tls-client-ca-file needs --tls-cert-file'] });
  });

  it('listens on loopback by default (safe for the sidecar setup)', () => {
    const r = loadExtenderConfig([], {});
    expect(r.kind === 'ok' && r.config.host).toBe('127.0.0.1');
  });
});
