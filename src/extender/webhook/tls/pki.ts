// X.509 for the webhook: keys from node:crypto (RSA 2048 on the thread pool, so the event loop stays free),
// certificates built and signed with node-forge (Node has no API to create a certificate; forge signs with
// RSA only, hence no ECDSA), and everything read back with node:crypto's X509Certificate, the same parser
// the TLS stack uses.

import { X509Certificate, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { newValidity, normalizeIp, splitPem, type CaFacts, type CertFacts, type Parsed, type RequiredNames, type ServingFacts, type StoredPki } from './rules.js';
import type { CertPair } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Subject CN prefix of our CAs; each CA gets a unique CN (with its issue time) so chains never confuse two CAs.
 * forge encodes it as PrintableString, which Go's x509 parser holds to its character set (no '@', no '_'):
 * kube-apiserver refused a caBundle with `edge-gang-webhook-ca@<time>` ("invalid PrintableString").
 */
export const CA_COMMON_NAME_PREFIX = 'edge-gang-webhook-ca';

interface RsaKeys {
  forgeKey: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
  keyPem: string;
}

async function newRsaKeys(): Promise<RsaKeys> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    forgeKey: forge.pki.privateKeyFromPem(privateKey),
    forgePublic: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    keyPem: privateKey,
  };
}

/** forge writes CRLF line ends; Node, Kubernetes and the caBundle comparisons use LF. */
function toPem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

/** A positive serial of 128 random bits (RFC 5280 4.1.2.2: at most 20 octets, positive). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function baseCertificate(publicKey: forge.pki.rsa.PublicKey, nowMs: number, validityMs: number, issuerNotAfterMs?: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  const { notBeforeMs, notAfterMs } = newValidity(nowMs, validityMs, issuerNotAfterMs);
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = new Date(notBeforeMs);
  cert.validity.notAfter = new Date(notAfterMs);
  return cert;
}

/** A self-signed CA valid from nowMs (backdated for skew) for validityMs. */
export async function generateCa(nowMs: number, validityMs: number): Promise<CertPair> {
  const keys = await newRsaKeys();
  const cert = baseCertificate(keys.forgePublic, nowMs, validityMs);
  const subject = [{ name: 'commonName', value: `${CA_COMMON_NAME_PREFIX}-${Math.floor(nowMs / 1000)}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.forgeKey, forge.md.sha256.create());
  return { cert: toPem(cert), key: keys.keyPem };
}

/** A serving certificate for the names, signed by the CA; it never outlives the CA. */
export async function issueServing(ca: CertPair, names: RequiredNames, nowMs: number, validityMs: number): Promise<CertPair> {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = await newRsaKeys();
  const cert = baseCertificate(keys.forgePublic, nowMs, validityMs, caCert.validity.notAfter.getTime());
  cert.setSubject([{ name: 'commonName', value: names.dnsNames[0] ?? names.ips[0] ?? 'webhook' }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...names.dnsNames.map((value) => ({ type: 2, value })),
    ...names.ips.map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: toPem(cert), key: keys.keyPem };
}

/** Facts of the first certificate of a PEM text; throws on anything that is not one. */
export function certFacts(pem: string): CertFacts {
  const block = splitPem(pem)[0];
  if (!block) throw new Error('no PEM certificate');
  const x = new X509Certificate(block);
  return factsOf(x, block);
}

function factsOf(x: X509Certificate, pem: string): CertFacts {
  const sans = parseSubjectAltName(x.subjectAltName ?? '');
  return {
    pem,
    serial: x.serialNumber,
    fingerprint: x.fingerprint256,
    notBeforeMs: Date.parse(x.validFrom),
    notAfterMs: Date.parse(x.validTo),
    isCa: x.ca,
    dnsNames: sans.dns,
    ips: sans.ips,
  };
}

/** Node prints subjectAltName as `DNS:a, IP Address:1.2.3.4`, quoting entries with unusual characters. */
function parseSubjectAltName(text: string): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const entry of text.split(', ')) {
    const colon = entry.indexOf(':');
    const kind = entry.slice(0, colon);
    const value = entry.slice(colon + 1).replace(/^"(.*)"$/, '$1');
    if (kind === 'DNS') dns.push(value.toLowerCase());
    else if (kind === 'IP Address') ips.push(normalizeIp(value));
  }
  return { dns, ips };
}

function problem(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function keyMatches(x: X509Certificate, keyPem: string): boolean {
  try {
    return x.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** A CA certificate and key as stored; `bad` when either is missing or not PEM. */
export function readCa(certPem: string | undefined, keyPem: string | undefined): Parsed<CaFacts> {
  if (!certPem) return { kind: 'bad', reason: 'no ca.crt' };
  if (!keyPem) return { kind: 'bad', reason: 'no ca.key' };
  try {
    const block = splitPem(certPem)[0];
    if (!block) return { kind: 'bad', reason: 'ca.crt holds no PEM certificate' };
    const x = new X509Certificate(block);
    return { kind: 'ok', value: { ...factsOf(x, block), keyMatches: keyMatches(x, keyPem) } };
  } catch (err) {
    return { kind: 'bad', reason: `ca.crt: ${problem(err)}` };
  }
}

/**
 * A serving pair: the leaf is the first certificate (a chain may follow, as cert-manager writes it);
 * `issuedBy` is the fingerprint of the CA among `cas` whose key signed it.
 */
export function readServing(certPem: string | undefined, keyPem: string | undefined, cas: readonly CertFacts[]): Parsed<ServingFacts> {
  if (!certPem) return { kind: 'bad', reason: 'no certificate' };
  if (!keyPem) return { kind: 'bad', reason: 'no key' };
  try {
    const block = splitPem(certPem)[0];
    if (!block) return { kind: 'bad', reason: 'no PEM certificate' };
    const x = new X509Certificate(block);
    const issuer = cas.find((ca) => signedBy(x, ca.pem));
    return { kind: 'ok', value: { ...factsOf(x, block), keyMatches: keyMatches(x, keyPem), issuedBy: issuer?.fingerprint ?? null } };
  } catch (err) {
    return { kind: 'bad', reason: problem(err) };
  }
}

function signedBy(x: X509Certificate, caPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    return x.checkIssued(ca) && x.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** The raw strings of the Secret's keys (already base64-decoded). */
export interface SecretPem {
  caCert?: string;
  caKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  previousCas?: string;
}

/** Reads every certificate of the Secret into the facts the rules decide on. */
export function readStoredPki(data: SecretPem): StoredPki {
  const ca = readCa(data.caCert, data.caKey);
  const previousCas: CertFacts[] = [];
  let unreadablePrevious = 0;
  for (const block of splitPem(data.previousCas ?? '')) {
    try {
      previousCas.push(certFacts(block));
    } catch {
      unreadablePrevious++;
    }
  }
  if (data.previousCas && splitPem(data.previousCas).length === 0 && data.previousCas.trim() !== '') unreadablePrevious++;
  const cas = [...(ca.kind === 'ok' ? [ca.value] : []), ...previousCas];
  return { ca, previousCas, unreadablePrevious, serving: readServing(data.tlsCert, data.tlsKey, cas) };
}
