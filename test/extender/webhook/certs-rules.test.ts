// The webhook certificate decisions as rules, on hand-made facts: names, renewal thresholds, verdicts,
// the plan of one check, and the caBundle through a CA rotation.

import { describe, expect, it } from 'vitest';
import {
  backdateMs, bundleTrusts, caBundlePem, caVerdict, filePairProblem, missingNames, newValidity, normalizeIp,
  planCertificates, renewalDue, requiredNames, servingVerdict, splitPem,
  type CaFacts, type CertFacts, type Parsed, type PlanInput, type ServingFacts, type StoredPki,
} from '../../../src/extender/webhook/tls/rules.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1);
const pem = (id: string): string => `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----\n`;

function cert(id: string, over: Partial<CertFacts> = {}): CertFacts {
  return { pem: pem(id), serial: id, fingerprint: `fp-${id}`, notBeforeMs: T0, notAfterMs: T0 + 300 * DAY, isCa: false, dnsNames: [], ips: [], ...over };
}
const ca = (id: string, over: Partial<CaFacts> = {}): CaFacts => ({ ...cert(id, { isCa: true, notAfterMs: T0 + 3000 * DAY }), keyMatches: true, ...over });
const ok = <T>(value: T): Parsed<T> => ({ kind: 'ok', value });
const bad = (reason: string): Parsed<never> => ({ kind: 'bad', reason });

const REQUIRED = requiredNames({ serviceName: 'hook', namespace: 'sys', extraIps: ['127.0.0.1'] }, 'self-managed');
const serving = (over: Partial<ServingFacts> = {}): ServingFacts => ({
  ...cert('s1', { dnsNames: ['hook.sys.svc', 'hook.sys.svc.cluster.local'], ips: ['127.0.0.1'] }), keyMatches: true, issuedBy: 'fp-ca1', ...over,
});
const stored = (over: Partial<StoredPki> = {}): StoredPki => ({ ca: ok(ca('ca1')), previousCas: [], unreadablePrevious: 0, serving: ok(serving()), ...over });
const plan = (s: StoredPki, nowMs = T0 + DAY, over: Partial<PlanInput> = {}) =>
  planCertificates({ stored: s, required: REQUIRED, nowMs, renewBeforeFraction: 1 / 3, publishedTrustsCurrentCa: true, ...over });

describe('names a serving certificate must carry', () => {
  it.each([
    ['self-managed mode names the service and its cluster.local form', 'self-managed', ['hook.sys.svc', 'hook.sys.svc.cluster.local']],
    ['file mode needs only the name kube-apiserver calls (<service>.<namespace>.svc)', 'files', ['hook.sys.svc']],
  ] as const)('%s', (_rule, mode, dns) => {
    expect(requiredNames({ serviceName: 'hook', namespace: 'sys' }, mode)).toEqual({ dnsNames: dns, ips: [] });
  });

  it('adds extra DNS names (lower case, once) and IPs', () => {
    const r = requiredNames({ serviceName: 'hook', namespace: 'sys', extraDnsNames: ['Hook.Example', 'hook.sys.svc'], extraIps: ['127.0.0.1', '::1'] }, 'self-managed');
    expect(r).toEqual({ dnsNames: ['hook.sys.svc', 'hook.sys.svc.cluster.local', 'hook.example'], ips: ['127.0.0.1', '0:0:0:0:0:0:0:1'] });
  });

  it.each([
    ['IPv4 stays as written', '10.0.0.1', '10.0.0.1'],
    ['IPv6 :: expands to eight groups', '::1', '0:0:0:0:0:0:0:1'],
    ['IPv6 groups lose leading zeros and case', 'FE80:0000::00AB', 'fe80:0:0:0:0:0:0:ab'],
    ['an embedded IPv4 tail becomes two groups', '::ffff:10.0.0.1', '0:0:0:0:0:ffff:a00:1'],
  ])('%s', (_rule, input, want) => {
    expect(normalizeIp(input)).toBe(want);
  });

  it.each([
    ['a certificate with every name lacks nothing', ['hook.sys.svc', 'hook.sys.svc.cluster.local'], ['127.0.0.1'], []],
    ['a missing IP is named', ['hook.sys.svc', 'hook.sys.svc.cluster.local'], [], ['127.0.0.1']],
    ['a wildcard covers one leftmost label', ['*.sys.svc', 'hook.sys.svc.cluster.local'], ['127.0.0.1'], []],
    ['a wildcard does not cover two labels', ['*.svc', 'hook.sys.svc.cluster.local'], ['127.0.0.1'], ['hook.sys.svc']],
    ['a certificate for other names lacks them all', ['other.sys.svc'], [], ['hook.sys.svc', 'hook.sys.svc.cluster.local', '127.0.0.1']],
  ])('%s', (_rule, dnsNames, ips, missing) => {
    expect(missingNames({ dnsNames, ips }, REQUIRED)).toEqual(missing);
  });
});

describe('renewal thresholds', () => {
  const life = { notBeforeMs: T0, notAfterMs: T0 + 300 * DAY };
  it.each([
    ['not due with more than a third of its life left', T0 + 199 * DAY, false],
    ['not due at exactly a third left', T0 + 200 * DAY, false],
    ['due just under a third left', T0 + 200 * DAY + 1, true],
    ['due once expired', T0 + 301 * DAY, true],
  ])('%s', (_rule, now, due) => {
    expect(renewalDue(life, now, 1 / 3)).toBe(due);
  });

  it('a configured fraction moves the threshold', () => {
    expect(renewalDue(life, T0 + 250 * DAY, 0.1)).toBe(false);
    expect(renewalDue(life, T0 + 271 * DAY, 0.1)).toBe(true);
  });

  it('a new certificate is backdated 5 minutes (a tenth of a short one) and never outlives its issuer', () => {
    expect(newValidity(T0, 365 * DAY)).toEqual({ notBeforeMs: T0 - 300_000, notAfterMs: T0 + 365 * DAY });
    expect(backdateMs(10_000)).toBe(1_000);
    expect(newValidity(T0, 365 * DAY, T0 + 30 * DAY).notAfterMs).toBe(T0 + 30 * DAY);
  });
});

describe('verdicts', () => {
  const ctx = { required: REQUIRED, trustedCas: ['fp-ca1'], nowMs: T0 + DAY, renewBeforeFraction: 1 / 3 };
  it.each([
    ['a CA that does not parse is unusable', bad('garbage'), 'unusable'],
    ['a certificate that is not a CA is unusable as CA', ok(ca('x', { isCa: false })), 'unusable'],
    ['a CA whose key does not match is unusable', ok(ca('x', { keyMatches: false })), 'unusable'],
    ['an expired CA is unusable', ok(ca('x', { notAfterMs: T0 })), 'unusable'],
    ['a CA in the last third of its life is due', ok(ca('x', { notAfterMs: T0 + 1.4 * DAY })), 'due'],
    ['a fresh CA is usable', ok(ca('x')), 'usable'],
  ] as const)('%s', (_rule, c, kind) => {
    expect(caVerdict(c, T0 + DAY, 1 / 3).kind).toBe(kind);
  });

  it.each([
    ['garbage PEM is unusable', bad('no PEM certificate'), 'unusable', /no PEM/],
    ['a key that does not match is unusable', ok(serving({ keyMatches: false })), 'unusable', /key does not match/],
    ['a certificate for the wrong names is unusable', ok(serving({ dnsNames: ['other.svc'] })), 'unusable', /not valid for hook\.sys\.svc/],
    ['a certificate no bundle CA signed is unusable', ok(serving({ issuedBy: null })), 'unusable', /not signed by a CA/],
    ['an expired certificate is unusable', ok(serving({ notAfterMs: T0 + DAY - 1 })), 'unusable', /expired/],
    ['a certificate in its last third is due', ok(serving({ notAfterMs: T0 + 1.4 * DAY })), 'due', /a third/],
    ['a good certificate is usable', ok(serving()), 'usable', /.*/],
  ] as const)('%s', (_rule, s, kind, reason) => {
    const v = servingVerdict(s, ctx);
    expect(v.kind).toBe(kind);
    if (v.kind !== 'usable') expect(v.reason).toMatch(reason);
  });

  it('file mode ignores the issuer and renewal but not names, key or validity', () => {
    const fileRequired = requiredNames({ serviceName: 'hook', namespace: 'sys' }, 'files');
    expect(filePairProblem(ok(serving({ issuedBy: null, notAfterMs: T0 + 1.1 * DAY })), fileRequired, T0 + DAY)).toBeNull();
    expect(filePairProblem(ok(serving({ keyMatches: false })), fileRequired, T0 + DAY)).toMatch(/key does not match/);
    expect(filePairProblem(ok(serving({ notAfterMs: T0 })), fileRequired, T0 + DAY)).toMatch(/expired/);
    expect(filePairProblem(bad('garbage'), fileRequired, T0 + DAY)).toBe('garbage');
  });
});

describe('the plan of one check', () => {
  it('keeps a usable Secret as it is', () => {
    expect(plan(stored())).toEqual({ newCa: null, newServing: null, previousCas: [], changed: false });
  });

  it('regenerates everything when the Secret is missing or its CA is garbage', () => {
    const p = plan(stored({ ca: bad('no ca.crt'), serving: bad('no certificate') }));
    expect(p).toMatchObject({ newCa: 'CA: no ca.crt', newServing: 'a new CA', previousCas: [], changed: true });
  });

  it('keeps a CA with a mismatched key as a previous CA while it is valid (its certificates may still be served)', () => {
    const p = plan(stored({ ca: ok(ca('ca1', { keyMatches: false })) }));
    expect(p.newCa).toMatch(/does not match/);
    expect(p.previousCas.map((c) => c.serial)).toEqual(['ca1']);
  });

  it.each([
    ['re-issues a serving certificate for the wrong names', serving({ dnsNames: ['x.svc'] }), /not valid for/],
    ['re-issues an expired serving certificate', serving({ notAfterMs: T0 }), /expired/],
    ['re-issues a serving certificate whose key does not match', serving({ keyMatches: false }), /key does not match/],
    ['re-issues a serving certificate in its last third', serving({ notAfterMs: T0 + 1.4 * DAY }), /a third/],
  ])('%s under the current CA', (_rule, s, reason) => {
    const p = plan(stored({ serving: ok(s) }));
    expect(p.newCa).toBeNull();
    expect(p.newServing).toMatch(reason);
  });

  it('rotates a CA in its last third, keeps it as previous, and keeps the serving certificate it signed', () => {
    const old = ca('ca1', { notAfterMs: T0 + 1.4 * DAY });
    const p = plan(stored({ ca: ok(old), serving: ok(serving({ notAfterMs: T0 + 1.39 * DAY, notBeforeMs: T0 + 0.9 * DAY })) }));
    expect(p.newCa).toMatch(/CA: less than a third/);
    expect(p.newServing).toBeNull();
    expect(p.previousCas).toEqual([old]);
  });

  it('moves the serving certificate to the new CA only once the published bundle trusts it', () => {
    const s = stored({ ca: ok(ca('ca2')), previousCas: [ca('ca1')], serving: ok(serving({ issuedBy: 'fp-ca1' })) });
    expect(plan(s, T0 + DAY, { publishedTrustsCurrentCa: false }).changed).toBe(false);
    expect(plan(s, T0 + DAY, { publishedTrustsCurrentCa: true }).newServing).toMatch(/signed by a previous CA/);
  });

  it('drops previous CAs once expired, and unreadable ones', () => {
    const s = stored({ previousCas: [ca('old', { notAfterMs: T0 + DAY })], unreadablePrevious: 1 });
    expect(plan(s, T0 + DAY)).toEqual({ newCa: null, newServing: null, previousCas: [], changed: true });
  });

  it('re-issues a serving certificate signed by a CA that has left the bundle', () => {
    const s = stored({ ca: ok(ca('ca2')), previousCas: [ca('ca1', { notAfterMs: T0 + DAY })], serving: ok(serving({ issuedBy: 'fp-ca1' })) });
    expect(plan(s, T0 + DAY).newServing).toMatch(/not signed by a CA of the caBundle/);
  });
});

describe('the caBundle', () => {
  const ca1 = ca('ca1', { notAfterMs: T0 + 10 * DAY });
  const ca2 = ca('ca2');
  it.each([
    ['holds the current CA alone before any rotation', [] as CaFacts[], T0, [pem('ca2')]],
    ['holds the new and the old CA during a rotation, the current first', [ca1], T0 + 9 * DAY, [pem('ca2'), pem('ca1')]],
    ['drops the old CA once it expired', [ca1], T0 + 10 * DAY, [pem('ca2')]],
    ['carries each CA once', [ca1, ca2, ca1], T0, [pem('ca2'), pem('ca1')]],
  ])('%s', (_rule, previous, now, want) => {
    expect(splitPem(caBundlePem(ca2, previous, now))).toEqual(want);
  });

  it('trusts a CA it carries, whatever the whitespace', () => {
    const bundle = `${pem('ca2')}${pem('ca1')}`;
    expect(bundleTrusts(bundle, '-----BEGIN CERTIFICATE-----\r\nca1\r\n-----END CERTIFICATE-----')).toBe(true);
    expect(bundleTrusts(bundle, pem('ca3'))).toBe(false);
    expect(bundleTrusts('', pem('ca1'))).toBe(false);
  });
});
