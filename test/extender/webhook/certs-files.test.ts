// File mode (cert-manager): the pair comes from files, a changed pair is handed over, a bad one is reported
// while the last good pair stays served, kubelet's `..data` symlink swap is seen, and nothing in the cluster is touched.

import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CertStore } from '../../../src/extender/webhook/tls/kube.js';
import { startCertificateManager, type CertificateManager, type CertificateManagerOptions } from '../../../src/extender/webhook/tls/manager.js';
import { generateCa, issueServing } from '../../../src/extender/webhook/tls/pki.js';
import { requiredNames } from '../../../src/extender/webhook/tls/rules.js';
import { CertificateError, type CertPair } from '../../../src/extender/webhook/tls/types.js';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });
const NAMES = { serviceName: 'hook', namespace: 'sys' };
const dir = mkdtempSync(join(tmpdir(), 'certs-files-'));
const serial = (pem: string): string => new X509Certificate(pem).serialNumber;

let ca: CertPair;
let first: CertPair;
let second: CertPair;
let wrongNames: CertPair;
let expired: CertPair;

beforeAll(async () => {
  ca = await generateCa(Date.now(), 30 * DAY);
  const names = requiredNames(NAMES, 'files');
  [first, second, wrongNames, expired] = await Promise.all([
    issueServing(ca, names, Date.now(), DAY),
    issueServing(ca, names, Date.now(), DAY),
    issueServing(ca, { dnsNames: ['other.sys.svc'], ips: [] }, Date.now(), DAY),
    issueServing(ca, names, Date.now() - 3 * DAY, DAY),
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const managers: CertificateManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

/** A store that fails the test if file mode ever calls it. */
const untouchable = new Proxy({}, { get: (_t, prop) => () => { throw new Error(`file mode called the store: ${String(prop)}`); } }) as CertStore;

async function start(sub: string, over: Partial<CertificateManagerOptions> = {}) {
  const pairs: CertPair[] = [];
  const m = await startCertificateManager({
    mode: 'files', ...NAMES, secretName: 'unused', webhookConfigName: 'unused', store: untouchable, logger,
    certFile: join(dir, sub, 'tls.crt'), keyFile: join(dir, sub, 'tls.key'), filePollMs: 20, onCertificate: (p) => pairs.push(p), ...over,
  });
  managers.push(m);
  return { m, pairs };
}

function write(sub: string, pair: CertPair): void {
  mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, sub, 'tls.crt'), `${pair.cert}${ca.cert}`);
  writeFileSync(join(dir, sub, 'tls.key'), pair.key);
}

describe('file mode', () => {
  it('loads the pair at start and hands over a changed pair', async () => {
    write('a', first);
    const { m, pairs } = await start('a');
    expect(pairs.map((p) => serial(p.cert))).toEqual([serial(first.cert)]);
    expect(m.status()).toMatchObject({ mode: 'files', ready: true, caBundlePatched: false, caNotAfter: null, lastError: null });
    write('a', second);
    await vi.waitFor(() => expect(pairs).toHaveLength(2), { timeout: 5_000 });
    expect(serial(m.current().cert)).toBe(serial(second.cert));
  });

  it.each([
    ['garbage PEM', 'garbage', (): CertPair => ({ cert: 'garbage', key: 'garbage' }), /no PEM certificate/],
    ['a key that does not match', 'mismatch', (): CertPair => ({ cert: second.cert, key: first.key }), /key does not match/],
    ['a certificate for the wrong names', 'names', (): CertPair => wrongNames, /not valid for hook\.sys\.svc/],
    ['an expired certificate', 'expired', (): CertPair => expired, /expired/],
  ])('keeps the last good pair on %s and reports it, until a good pair comes', async (_rule, sub, make, reason) => {
    write(sub, first);
    const { m, pairs } = await start(sub);
    const bad = make();
    writeFileSync(join(dir, sub, 'tls.crt'), bad.cert);
    writeFileSync(join(dir, sub, 'tls.key'), bad.key);
    await vi.waitFor(() => expect(m.status().lastError).toMatch(reason), { timeout: 5_000 });
    expect(m.current()).toEqual(pairs[0]);
    expect(m.status().ready).toBe(true);
    write(sub, second);
    await vi.waitFor(() => expect(m.status().lastError).toBeNull(), { timeout: 5_000 });
    expect(serial(m.current().cert)).toBe(serial(second.cert));
  });

  it('sees a Secret volume update (kubelet swaps the ..data symlink)', async () => {
    const vol = join(dir, 'vol');
    const stage = (name: string, pair: CertPair): void => {
      mkdirSync(join(vol, name), { recursive: true });
      writeFileSync(join(vol, name, 'tls.crt'), pair.cert);
      writeFileSync(join(vol, name, 'tls.key'), pair.key);
    };
    stage('..v1', first);
    symlinkSync('..v1', join(vol, '..data'));
    for (const f of ['tls.crt', 'tls.key']) symlinkSync(join('..data', f), join(vol, f));
    const { m, pairs } = await start('vol');
    stage('..v2', second);
    symlinkSync('..v2', join(vol, '..data_tmp'));
    renameSync(join(vol, '..data_tmp'), join(vol, '..data'));
    await vi.waitFor(() => expect(pairs).toHaveLength(2), { timeout: 5_000 });
    expect(serial(m.current().cert)).toBe(serial(second.cert));
  });

  it('fails start with CERT_NOT_AVAILABLE when the files never hold a usable pair', async () => {
    const err = await start('missing', { retryEveryMs: 10, startTimeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as Error).message).toMatch(/ENOENT/);
  });

  it('reports not ready once the kept pair has expired', async () => {
    write('clock', first);
    let now = Date.now();
    const { m } = await start('clock', { clock: () => now });
    now += 2 * DAY;
    expect(m.status().ready).toBe(false);
  });
});
