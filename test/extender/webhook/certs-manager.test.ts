// Self-managed mode on an in-memory store: the Secret and the caBundle at start, the race of two replicas,
// bad Secrets regenerated, renewal and CA rotation driven by an injected clock, and the timer.

import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCertificateManager, type CertificateManager, type CertificateManagerOptions } from '../../../src/extender/webhook/tls/manager.js';
import { generateCa, issueServing, type SecretPem } from '../../../src/extender/webhook/tls/pki.js';
import { requiredNames, splitPem } from '../../../src/extender/webhook/tls/rules.js';
import { checkCertificates, type CheckSettings } from '../../../src/extender/webhook/tls/self-managed.js';
import { CertificateError, type CertPair } from '../../../src/extender/webhook/tls/types.js';
import { FakeCertStore } from './certs-fake-store.js';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });
const NAMES = { serviceName: 'hook', namespace: 'sys', extraIps: ['127.0.0.1'] };
const REQUIRED = requiredNames(NAMES, 'self-managed');
const serial = (pem: string): string => new X509Certificate(pem).serialNumber;
const signs = (caPem: string, leafPem: string): boolean => new X509Certificate(leafPem).verify(new X509Certificate(caPem).publicKey);

const managers: CertificateManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

async function start(store: FakeCertStore, over: Partial<CertificateManagerOptions> = {}): Promise<{ m: CertificateManager; pairs: CertPair[] }> {
  const pairs: CertPair[] = [];
  const m = await startCertificateManager({
    mode: 'self-managed', store, ...NAMES, secretName: 'hook-tls', webhookConfigName: 'hooks', logger,
    onCertificate: (p) => pairs.push(p), ...over,
  });
  managers.push(m);
  return { m, pairs };
}

async function goodSecret(nowMs = Date.now()): Promise<SecretPem> {
  const ca = await generateCa(nowMs, 3650 * DAY);
  const leaf = await issueServing(ca, REQUIRED, nowMs, 365 * DAY);
  return { caCert: ca.cert, caKey: ca.key, tlsCert: leaf.cert, tlsKey: leaf.key };
}

describe('start', () => {
  it('creates the Secret, patches every webhook caBundle with the CA, and hands the pair over before resolving', async () => {
    const store = new FakeCertStore(['a.edge-gang.io', 'b.edge-gang.io']);
    const { m, pairs } = await start(store);
    const data = store.secret?.data ?? {};
    expect(pairs).toEqual([{ cert: data.tlsCert, key: data.tlsKey }]);
    expect(signs(data.caCert ?? '', m.current().cert)).toBe(true);
    expect(store.config?.webhooks.map((w) => w.caBundlePem)).toEqual([data.caCert, data.caCert]);
    expect(m.status()).toMatchObject({ mode: 'self-managed', ready: true, caBundlePatched: true, lastError: null });
    expect(Date.parse(m.status().notAfter ?? '')).toBeGreaterThan(Date.now() + 364 * DAY);
  });

  it('reuses a usable Secret (same serial) and patches nothing already right', async () => {
    const store = new FakeCertStore(['a']);
    const first = await start(store);
    const patches = store.patches;
    const second = await start(store);
    expect(serial(second.m.current().cert)).toBe(serial(first.m.current().cert));
    expect(store.creates + store.updates).toBe(1);
    expect(store.patches).toBe(patches);
  });

  it('takes the winner Secret when another replica creates it first (409 AlreadyExists)', async () => {
    const store = new FakeCertStore(['a']);
    const winner = await goodSecret();
    store.beforeWrite = () => store.put(winner);
    const { m } = await start(store);
    expect(m.current().cert).toBe(winner.tlsCert);
    expect(store.conflicts).toBe(1);
    expect(store.config?.webhooks[0]?.caBundlePem).toBe(winner.caCert);
  });

  it('re-reads after a stale resourceVersion and keeps the other replica renewal', async () => {
    const store = new FakeCertStore(['a']);
    store.put({ ...(await goodSecret()), tlsCert: 'garbage' });
    const winner = await goodSecret();
    store.beforeWrite = () => store.put(winner);
    const { m } = await start(store);
    expect(m.current().cert).toBe(winner.tlsCert);
    expect(store.updates).toBe(0);
  });

  it('retries while the API server is down, then starts', async () => {
    const store = new FakeCertStore(['a']);
    store.failingReads = 2;
    const { m } = await start(store, { retryEveryMs: 10 });
    expect(m.status().ready).toBe(true);
  });

  it('gives up with CERT_NOT_AVAILABLE when no pair can be had within startTimeoutMs', async () => {
    const store = new FakeCertStore(['a']);
    store.failingReads = 1_000;
    const err = await start(store, { retryEveryMs: 10, startTimeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).code).toBe('CERT_NOT_AVAILABLE');
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('refuses bad options, all listed at once', async () => {
    const err = await startCertificateManager({
      mode: 'files', ...NAMES, secretName: '', webhookConfigName: '', logger, onCertificate: () => undefined, renewBeforeFraction: 2, checkEveryMs: 0,
    }).catch((e: unknown) => e as CertificateError);
    expect(err).toMatchObject({ code: 'CERT_BAD_OPTIONS' });
    expect((err as Error).message).toMatch(/checkEveryMs.*renewBeforeFraction.*certFile and keyFile/);
  });
});

describe('a bad Secret is regenerated', () => {
  it.each([
    ['garbage PEM everywhere', async () => ({ caCert: 'xx', caKey: 'yy', tlsCert: 'zz', tlsKey: 'ww' }), true],
    ['a serving certificate for the wrong names', async () => {
      const s = await goodSecret();
      const wrong = await issueServing({ cert: s.caCert ?? '', key: s.caKey ?? '' }, { dnsNames: ['other.sys.svc'], ips: [] }, Date.now(), DAY);
      return { ...s, tlsCert: wrong.cert, tlsKey: wrong.key };
    }, false],
    ['an expired serving certificate', async () => {
      const s = await goodSecret();
      const old = await issueServing({ cert: s.caCert ?? '', key: s.caKey ?? '' }, REQUIRED, Date.now() - 2 * DAY, DAY);
      return { ...s, tlsCert: old.cert, tlsKey: old.key };
    }, false],
    ['a serving key that does not match the certificate', async () => ({ ...(await goodSecret()), tlsKey: (await goodSecret()).tlsKey }), false],
    ['a CA key that does not match the CA', async () => ({ ...(await goodSecret()), caKey: (await goodSecret()).caKey }), true],
  ])('%s', async (_rule, make, newCa) => {
    const store = new FakeCertStore(['a']);
    const bad = await make();
    store.put(bad);
    const { m } = await start(store);
    const data = store.secret?.data ?? {};
    expect(m.current().cert).not.toBe(bad.tlsCert);
    expect(data.caCert === bad.caCert).toBe(!newCa);
    expect(signs(data.caCert ?? '', m.current().cert)).toBe(true);
    expect(store.updates).toBe(1);
  });
});

describe('renewal and CA rotation (clock injected)', () => {
  const settings = (store: FakeCertStore): CheckSettings => ({
    store, required: REQUIRED, renewBeforeFraction: 1 / 3, servingValidityMs: 9 * DAY, caValidityMs: 30 * DAY, webhookConfigName: 'hooks', logger,
  });

  /** Checks at each day; each must renew the serving certificate under the same CA. */
  async function renewedAt(s: CheckSettings, t0: number, days: number[]): Promise<void> {
    for (const day of days) {
      const before = await s.store.readSecret();
      const r = await checkCertificates(s, t0 + day * DAY);
      expect(r.serial, `renewed at day ${day}`).not.toBe(serial(before?.data.tlsCert ?? ''));
      expect(store(s).secret?.data.caCert).toBe(before?.data.caCert);
    }
  }
  const store = (s: CheckSettings): FakeCertStore => s.store as FakeCertStore;

  it('renews the serving certificate in its last third and rotates the CA with both CAs in the bundle until the old expires', async () => {
    const store = new FakeCertStore(['a']);
    const s = settings(store);
    const t0 = Date.now();
    const bundle = (): string[] => splitPem(store.config?.webhooks[0]?.caBundlePem ?? '');
    const r0 = await checkCertificates(s, t0);
    const ca1 = store.secret?.data.caCert ?? '';
    expect(bundle()).toEqual([ca1]);

    expect((await checkCertificates(s, t0 + 5.9 * DAY)).serial).toBe(r0.serial);
    const r1 = await checkCertificates(s, t0 + 6.1 * DAY);
    expect(r1.serial).not.toBe(r0.serial);
    expect(store.secret?.data.caCert).toBe(ca1);

    // Serving renewals at days 12.5 and 18.6 (each under ca1) keep a fresh certificate in place.
    await renewedAt(s, t0, [12.5, 18.6]);
    // The CA has less than a third left at day 20.1: a new CA joins the bundle; the serving certificate stays on ca1.
    const r2 = await checkCertificates(s, t0 + 20.1 * DAY);
    const ca2 = store.secret?.data.caCert ?? '';
    expect(ca2).not.toBe(ca1);
    expect(bundle()).toEqual([ca2, ca1]);
    expect(signs(ca1, r2.pair.cert)).toBe(true);

    // The next check sees the bundle published with ca2 and moves the serving certificate to it.
    const r3 = await checkCertificates(s, t0 + 20.2 * DAY);
    expect(signs(ca2, r3.pair.cert)).toBe(true);
    expect(bundle()).toEqual([ca2, ca1]);

    // ca1 expires at day 30: it leaves the bundle and the Secret.
    await checkCertificates(s, t0 + 30 * DAY + 1_000);
    expect(bundle()).toEqual([ca2]);
    expect(store.secret?.data.previousCas).toBeUndefined();
  });

  it('does not move the serving certificate to a new CA while the configuration cannot be read', async () => {
    const store = new FakeCertStore(['a']);
    const s = settings(store);
    const t0 = Date.now();
    await checkCertificates(s, t0);
    await renewedAt(s, t0, [6.1, 12.5, 18.6]);
    await checkCertificates(s, t0 + 20.1 * DAY);
    const ca2 = store.secret?.data.caCert ?? '';
    store.readWebhookConfig = async () => {
      throw new Error('forbidden');
    };
    const r = await checkCertificates(s, t0 + 20.2 * DAY);
    expect(signs(ca2, r.pair.cert)).toBe(false);
    expect(r.bundleProblem).toMatch(/forbidden/);
  });
});

describe('the timer', () => {
  it('reports a missing webhook configuration, retries, and patches it once it appears', async () => {
    const store = new FakeCertStore();
    const { m } = await start(store, { retryEveryMs: 20 });
    expect(m.status()).toMatchObject({ ready: true, caBundlePatched: false, lastError: expect.stringMatching(/hooks not found/) });
    store.config = { name: 'hooks', webhooks: [{ name: 'a', caBundlePem: '' }] };
    await vi.waitFor(() => expect(m.status()).toMatchObject({ caBundlePatched: true, lastError: null }), { timeout: 5_000 });
    expect(store.config.webhooks[0]?.caBundlePem).toBe(store.secret?.data.caCert);
  });

  it('hands a renewed pair to onCertificate when the clock passes two thirds of its life', async () => {
    const store = new FakeCertStore(['a']);
    let now = Date.now();
    const { m, pairs } = await start(store, { checkEveryMs: 20, servingValidityMs: 9 * DAY, caValidityMs: 90 * DAY, clock: () => now });
    now += 6.5 * DAY;
    await vi.waitFor(() => expect(pairs).toHaveLength(2), { timeout: 5_000 });
    expect(pairs[1]).toEqual(m.current());
    expect(serial(pairs[1]?.cert ?? '')).not.toBe(serial(pairs[0]?.cert ?? ''));
  });

  it('survives an onCertificate that throws, and reports it', async () => {
    const store = new FakeCertStore(['a']);
    const { m } = await start(store, { onCertificate: () => { throw new Error('server gone'); } });
    expect(m.status().lastError).toMatch(/onCertificate: server gone/);
  });

  it('keeps serving the last pair while the API server is down after start', async () => {
    const store = new FakeCertStore(['a']);
    let now = Date.now();
    const { m, pairs } = await start(store, { checkEveryMs: 20, retryEveryMs: 20, servingValidityMs: 9 * DAY, clock: () => now });
    store.failingReads = 1_000;
    now += 6.5 * DAY;
    await vi.waitFor(() => expect(m.status().lastError).toMatch(/ECONNREFUSED/), { timeout: 5_000 });
    expect(pairs).toHaveLength(1);
    expect(m.status().ready).toBe(true);
  });
});
