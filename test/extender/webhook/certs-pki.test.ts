// Certificates as made by pki.ts, checked with node:crypto's X509Certificate (the parser the TLS stack uses),
// and bad PEM read back as facts the rules refuse.

import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { certFacts, generateCa, issueServing, readCa, readServing, readStoredPki } from '../../../src/extender/webhook/tls/pki.js';
import { requiredNames } from '../../../src/extender/webhook/tls/rules.js';
import type { CertPair } from '../../../src/extender/webhook/tls/types.js';

const DAY = 86_400_000;
const NOW = Date.now();
const NAMES = requiredNames({ serviceName: 'hook', namespace: 'sys', extraDnsNames: ['hook.example'], extraIps: ['127.0.0.1', '::1'] }, 'self-managed');

let ca: CertPair;
let otherCa: CertPair;
let leaf: CertPair;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([generateCa(NOW, 3650 * DAY), generateCa(NOW, 3650 * DAY)]);
  leaf = await issueServing(ca, NAMES, NOW, 365 * DAY);
});

describe('generation', () => {
  it('makes a self-signed CA valid for the requested life', () => {
    const x = new X509Certificate(ca.cert);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(Date.parse(x.validTo)).toBeGreaterThan(NOW + 3649 * DAY);
    expect(Date.parse(x.validFrom)).toBeLessThanOrEqual(NOW - 299_000);
  });

  it('makes a serving certificate signed by the CA, for every DNS name and IP requested', () => {
    const x = new X509Certificate(leaf.cert);
    const caX = new X509Certificate(ca.cert);
    expect(x.ca).toBe(false);
    expect(x.verify(caX.publicKey)).toBe(true);
    expect(x.checkIssued(caX)).toBe(true);
    expect(x.verify(new X509Certificate(otherCa.cert).publicKey)).toBe(false);
    for (const host of ['hook.sys.svc', 'hook.sys.svc.cluster.local', 'hook.example']) expect(x.checkHost(host, { subject: 'never' })).toBe(host);
    expect(x.checkHost('other.sys.svc')).toBeUndefined();
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkIP('::1')).toBe('::1');
    expect(x.checkIP('10.0.0.1')).toBeUndefined();
    expect(x.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(Math.abs(Date.parse(x.validTo) - (NOW + 365 * DAY))).toBeLessThan(2_000);
  });

  it('never issues a serving certificate that outlives its CA', async () => {
    const shortCa = await generateCa(NOW, 10 * DAY);
    const s = await issueServing(shortCa, NAMES, NOW, 365 * DAY);
    expect(Date.parse(new X509Certificate(s.cert).validTo)).toBe(Date.parse(new X509Certificate(shortCa.cert).validTo));
  });

  it('gives every CA its own subject, so a chain never mixes an old and a new CA', async () => {
    const later = await generateCa(NOW + 1_000, DAY);
    expect(new X509Certificate(later.cert).subject).not.toBe(new X509Certificate(ca.cert).subject);
  });

  it('writes only legal PrintableString values (Go, hence kube-apiserver, refuses others in a caBundle)', () => {
    const printable = (pem: string): string[] => {
      const found: string[] = [];
      const walk = (node: forge.asn1.Asn1): void => {
        if (node.tagClass === forge.asn1.Class.UNIVERSAL && node.type === forge.asn1.Type.PRINTABLESTRING) found.push(String(node.value));
        if (Array.isArray(node.value)) node.value.forEach(walk);
      };
      walk(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(pem)));
      return found;
    };
    const values = [...printable(ca.cert), ...printable(leaf.cert)];
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) expect(v).toMatch(/^[A-Za-z0-9 '()+,\-./:=?]*$/);
  });

  it('reads back the names, the serial and the validity as facts', () => {
    const f = certFacts(leaf.cert);
    expect(f.dnsNames).toEqual(['hook.sys.svc', 'hook.sys.svc.cluster.local', 'hook.example']);
    expect(f.ips).toEqual(['127.0.0.1', '0:0:0:0:0:0:0:1']);
    expect(f.serial).toBe(new X509Certificate(leaf.cert).serialNumber);
    expect(f.notAfterMs).toBe(Date.parse(new X509Certificate(leaf.cert).validTo));
  });
});

describe('reading stored PEM', () => {
  it.each([
    ['a missing CA certificate', () => readCa(undefined, ca.key), /no ca\.crt/],
    ['a missing CA key', () => readCa(ca.cert, undefined), /no ca\.key/],
    ['garbage instead of PEM', () => readCa('not a certificate', ca.key), /no PEM certificate/],
    ['a PEM block that is not DER', () => readCa('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ca.key), /ca\.crt:/],
  ])('reports %s as bad', (_rule, read, reason) => {
    const r = read();
    expect(r.kind).toBe('bad');
    if (r.kind === 'bad') expect(r.reason).toMatch(reason);
  });

  it('notes a key that does not match its certificate, and garbage as a key', () => {
    const r = readCa(ca.cert, otherCa.key);
    expect(r.kind === 'ok' && r.value.keyMatches).toBe(false);
    const s = readServing(leaf.cert, 'garbage', []);
    expect(s.kind === 'ok' && s.value.keyMatches).toBe(false);
  });

  it('names the CA that signed a serving certificate, and none for a stranger CA', () => {
    const facts = [certFacts(otherCa.cert), certFacts(ca.cert)];
    const s = readServing(leaf.cert, leaf.key, facts);
    expect(s.kind === 'ok' && s.value.issuedBy).toBe(facts[1]?.fingerprint);
    const t = readServing(leaf.cert, leaf.key, [certFacts(otherCa.cert)]);
    expect(t.kind === 'ok' && t.value.issuedBy).toBeNull();
  });

  it('reads the leaf of a chain (cert-manager writes leaf then CA)', () => {
    const s = readServing(`${leaf.cert}${ca.cert}`, leaf.key, []);
    expect(s.kind === 'ok' && s.value.serial).toBe(new X509Certificate(leaf.cert).serialNumber);
  });

  it('counts unreadable previous CAs so the next write drops them', () => {
    const p = readStoredPki({ caCert: ca.cert, caKey: ca.key, tlsCert: leaf.cert, tlsKey: leaf.key, previousCas: `${otherCa.cert}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n` });
    expect(p.previousCas).toHaveLength(1);
    expect(p.unreadablePrevious).toBe(1);
    expect(readStoredPki({ previousCas: 'junk' }).unreadablePrevious).toBe(1);
  });
});
