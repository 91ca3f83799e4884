// TLS serving and client-certificate verification (the scheduler's tlsConfig certFile/keyFile),
// on real HTTPS over loopback, with certificates made by openssl for the test.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadExtenderConfig } from '../../../src/config/extender.js';
import { createExtenderApp, type ExtenderApp } from '../../../src/extender/assemble.js';
import { makeNode, makePod } from '../../support/builders.js';

const dir = mkdtempSync(join(tmpdir(), 'extender-tls-'));
const f = (n: string) => join(dir, n);

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`openssl failed (install the openssl package): ${(err as Error).message}`);
  }
}

function makePki(): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client', 'stranger']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`)]);
  }
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('san.ext'), '-out', f('server.crt')]);
  openssl(['x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-out', f('client.crt')]);
  // A certificate from another CA, which must be refused.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other-ca', '-keyout', f('other.key'), '-out', f('other.crt')]);
  openssl(['x509', '-req', '-in', f('stranger.csr'), '-CA', f('other.crt'), '-CAkey', f('other.key'), '-CAcreateserial', '-days', '1', '-out', f('stranger.crt')]);
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
