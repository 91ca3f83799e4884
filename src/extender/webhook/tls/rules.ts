// The webhook certificate decisions, pure: which names a serving certificate must carry, whether a
// certificate is still usable or due for renewal, what to generate on a check, and the caBundle built
// from the CAs. No I/O, no clock (time is a parameter); pki.ts turns PEM into the facts used here.

/** What one certificate says about itself, read from its PEM by pki.ts. */
export interface CertFacts {
  /** This certificate alone, PEM. */
  pem: string;
  serial: string;
  /** SHA-256 fingerprint, the identity used to compare certificates. */
  fingerprint: string;
  notBeforeMs: number;
  notAfterMs: number;
  isCa: boolean;
  /** subjectAltName DNS entries, lower case. */
  dnsNames: readonly string[];
  /** subjectAltName IP entries, normalized by `normalizeIp`. */
  ips: readonly string[];
}

export interface CaFacts extends CertFacts {
  /** ca.key is the private key of this certificate. */
  keyMatches: boolean;
}

export interface ServingFacts extends CertFacts {
  /** tls.key is the private key of this certificate. */
  keyMatches: boolean;
  /** Fingerprint of the CA (current or previous) that signed it; null when none of them did. */
  issuedBy: string | null;
}

/** A value read from PEM, or why it could not be (missing, garbage). */
export type Parsed<T> = { kind: 'ok'; value: T } | { kind: 'bad'; reason: string };

/** The Secret's certificates as read (self-managed mode). */
export interface StoredPki {
  ca: Parsed<CaFacts>;
  /** Parseable certificates of ca-previous.crt. */
  previousCas: readonly CertFacts[];
  /** PEM blocks of ca-previous.crt that did not parse. */
  unreadablePrevious: number;
  serving: Parsed<ServingFacts>;
}

export interface RequiredNames {
  dnsNames: readonly string[];
  ips: readonly string[];
}

export interface NameInputs {
  serviceName: string;
  namespace: string;
  extraDnsNames?: readonly string[];
  extraIps?: readonly string[];
}

/**
 * Names the serving certificate must carry. kube-apiserver calls a service webhook as
 * `<service>.<namespace>.svc` (k8s.io/apiserver webhook/util `ServerName`); self-managed mode also adds the
 * `.cluster.local` form; a `url` webhook is checked against its host (the extra DNS names and IPs).
 */
export function requiredNames(inputs: NameInputs, mode: 'self-managed' | 'files'): RequiredNames {
  const svc = `${inputs.serviceName}.${inputs.namespace}.svc`;
  const base = mode === 'self-managed' ? [svc, `${svc}.cluster.local`] : [svc];
  const dnsNames = unique([...base, ...(inputs.extraDnsNames ?? [])].map((n) => n.toLowerCase()));
  const ips = unique((inputs.extraIps ?? []).map(normalizeIp));
  return { dnsNames, ips };
}

/** Canonical text of an IP (IPv4 as is; IPv6 as eight lower-case hex groups without leading zeros). */
export function normalizeIp(ip: string): string {
  const text = ip.trim().toLowerCase();
  if (!text.includes(':')) return text;
  const [head = '', tail] = text.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap(v4Groups));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16)).join(':');
}

function v4Groups(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/** The required names a certificate lacks (a `*.` entry covers one leftmost label), in the order required. */
export function missingNames(cert: Pick<CertFacts, 'dnsNames' | 'ips'>, required: RequiredNames): string[] {
  const covers = (name: string): boolean =>
    cert.dnsNames.some((d) => d === name || (d.startsWith('*.') && name.slice(name.indexOf('.')) === d.slice(1)));
  return [
    ...required.dnsNames.filter((n) => !covers(n)),
    ...required.ips.filter((ip) => !cert.ips.includes(ip)),
  ];
}

/** Due when less than `renewBeforeFraction` of the certificate's life (notBefore..notAfter) remains at nowMs. */
export function renewalDue(cert: Pick<CertFacts, 'notBeforeMs' | 'notAfterMs'>, nowMs: number, renewBeforeFraction: number): boolean {
  const lifeMs = cert.notAfterMs - cert.notBeforeMs;
  return cert.notAfterMs - nowMs < lifeMs * renewBeforeFraction;
}

/** Why a certificate is outside its validity at nowMs, or null. */
export function validityProblem(cert: Pick<CertFacts, 'notBeforeMs' | 'notAfterMs'>, nowMs: number): string | null {
  if (nowMs >= cert.notAfterMs) return `expired at ${new Date(cert.notAfterMs).toISOString()}`;
  if (nowMs < cert.notBeforeMs) return `not valid before ${new Date(cert.notBeforeMs).toISOString()}`;
  return null;
}

export type Verdict = { kind: 'usable' } | { kind: 'due'; reason: string } | { kind: 'unusable'; reason: string };

/** A CA is usable when it parses, is a CA, its key matches and it is valid; due in the last fraction of its life. */
export function caVerdict(ca: Parsed<CaFacts>, nowMs: number, renewBeforeFraction: number): Verdict {
  if (ca.kind === 'bad') return { kind: 'unusable', reason: `CA: ${ca.reason}` };
  const c = ca.value;
  if (!c.isCa) return { kind: 'unusable', reason: 'CA: the certificate is not a CA (basicConstraints)' };
  if (!c.keyMatches) return { kind: 'unusable', reason: 'CA: ca.key does not match ca.crt' };
  const invalid = validityProblem(c, nowMs);
  if (invalid) return { kind: 'unusable', reason: `CA: ${invalid}` };
  if (renewalDue(c, nowMs, renewBeforeFraction)) return { kind: 'due', reason: `CA: less than ${fraction(renewBeforeFraction)} of its life remains` };
  return { kind: 'usable' };
}

export interface ServingContext {
  required: RequiredNames;
  /** Fingerprints of the CAs in the caBundle; the serving certificate must be signed by one of them. */
  trustedCas: readonly string[];
  nowMs: number;
  renewBeforeFraction: number;
}

/** A serving pair is usable when its key matches, it names every required host, a trusted CA signed it and it is valid. */
export function servingVerdict(serving: Parsed<ServingFacts>, ctx: ServingContext): Verdict {
  if (serving.kind === 'bad') return { kind: 'unusable', reason: `serving certificate: ${serving.reason}` };
  const s = serving.value;
  if (!s.keyMatches) return { kind: 'unusable', reason: 'serving certificate: the key does not match the certificate' };
  const missing = missingNames(s, ctx.required);
  if (missing.length > 0) return { kind: 'unusable', reason: `serving certificate: not valid for ${missing.join(', ')}` };
  if (s.issuedBy === null || !ctx.trustedCas.includes(s.issuedBy)) {
    return { kind: 'unusable', reason: 'serving certificate: not signed by a CA of the caBundle' };
  }
  const invalid = validityProblem(s, ctx.nowMs);
  if (invalid) return { kind: 'unusable', reason: `serving certificate: ${invalid}` };
  if (renewalDue(s, ctx.nowMs, ctx.renewBeforeFraction)) {
    return { kind: 'due', reason: `serving certificate: less than ${fraction(ctx.renewBeforeFraction)} of its life remains` };
  }
  return { kind: 'usable' };
}

/**
 * File mode (cert-manager): a pair is usable when its key matches, it names every required host and it is
 * valid. Who signed it is cainjector's business (it fills the caBundle), and renewal is cert-manager's.
 */
export function filePairProblem(serving: Parsed<ServingFacts>, required: RequiredNames, nowMs: number): string | null {
  if (serving.kind === 'bad') return serving.reason;
  const s = serving.value;
  if (!s.keyMatches) return 'the key does not match the certificate';
  const missing = missingNames(s, required);
  if (missing.length > 0) return `the certificate is not valid for ${missing.join(', ')}`;
  return validityProblem(s, nowMs);
}

export interface PlanInput {
  stored: StoredPki;
  required: RequiredNames;
  nowMs: number;
  renewBeforeFraction: number;
  /**
   * The webhook configuration already trusted the current CA before this check (or does not exist). Only
   * then is a serving certificate re-issued by a newly rotated CA: kube-apiserver must trust the new CA first.
   */
  publishedTrustsCurrentCa: boolean;
}

/** What one check must do to the Secret; `changed` is false when the Secret stays as it is. */
export interface Plan {
  /** Why a new CA is generated, or null to keep the current one. */
  newCa: string | null;
  /** Why a new serving certificate is issued, or null to keep it. */
  newServing: string | null;
  /** Replaced CAs to keep in ca-previous.crt (valid, without the current one), newest first. */
  previousCas: CertFacts[];
  changed: boolean;
}

/**
 * One check of the Secret. An unusable CA regenerates everything; a CA in its last fraction of life is
 * replaced and kept as a previous CA (its serving certificate stays until the next check finds the new CA
 * published); an unusable or due serving certificate is re-issued; expired previous CAs are dropped.
 */
export function planCertificates(input: PlanInput): Plan {
  const { stored, nowMs } = input;
  const stillValid = (c: CertFacts): boolean => c.notAfterMs > nowMs;
  const current = stored.ca.kind === 'ok' ? stored.ca.value : null;
  const kept = uniqueBy(stored.previousCas.filter((c) => stillValid(c) && c.fingerprint !== current?.fingerprint), (c) => c.fingerprint);
  const prunedPrevious = kept.length !== stored.previousCas.length || stored.unreadablePrevious > 0;
  const ca = caVerdict(stored.ca, nowMs, input.renewBeforeFraction);

  if (ca.kind !== 'usable') {
    // The replaced CA stays trusted while valid: another replica may still serve a certificate it signed.
    const previousCas = current && current.isCa && stillValid(current) ? [current, ...kept] : kept;
    const newServing = ca.kind === 'unusable' ? 'a new CA' : servingReason(input, current, kept);
    return { newCa: ca.reason, newServing, previousCas, changed: true };
  }
  const newServing = servingReason(input, current, kept);
  return { newCa: null, newServing, previousCas: kept, changed: newServing !== null || prunedPrevious };
}

/** Why the serving certificate must be re-issued under the current CA, or null. */
function servingReason(input: PlanInput, current: CaFacts | null, kept: readonly CertFacts[]): string | null {
  const trustedCas = [...(current ? [current.fingerprint] : []), ...kept.map((c) => c.fingerprint)];
  const verdict = servingVerdict(input.stored.serving, { ...input, trustedCas });
  if (verdict.kind !== 'usable') return verdict.reason;
  const s = input.stored.serving;
  if (s.kind === 'ok' && current && s.value.issuedBy !== current.fingerprint && input.publishedTrustsCurrentCa) {
    return 'serving certificate: signed by a previous CA, and the caBundle now carries the current one';
  }
  return null;
}

/** Validity of a new certificate: backdated a little for clock skew, never outliving its issuer. */
export function newValidity(nowMs: number, validityMs: number, issuerNotAfterMs?: number): { notBeforeMs: number; notAfterMs: number } {
  const notAfterMs = Math.min(nowMs + validityMs, issuerNotAfterMs ?? Number.POSITIVE_INFINITY);
  return { notBeforeMs: nowMs - backdateMs(validityMs), notAfterMs };
}

/** Clock skew allowance: 5 minutes, or a tenth of a short validity (tests use seconds). */
export function backdateMs(validityMs: number): number {
  return Math.min(5 * 60_000, Math.floor(validityMs / 10));
}

/** The caBundle: the current CA first, then each previous CA still valid at nowMs, each once. */
export function caBundlePem(current: CertFacts, previous: readonly CertFacts[], nowMs: number): string {
  const cas = uniqueBy([current, ...previous.filter((c) => c.notAfterMs > nowMs)], (c) => c.fingerprint);
  return cas.map((c) => ensureNewline(c.pem)).join('');
}

/** The PEM certificate blocks of a text, each ending with a newline. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map(ensureNewline) ?? [];
}

/** A caBundle (PEM) trusts a CA when it carries the same certificate (compared without whitespace). */
export function bundleTrusts(bundlePem: string, caPem: string): boolean {
  const squash = (pem: string): string => pem.replace(/\s+/g, '');
  const want = squash(caPem);
  return splitPem(bundlePem).some((block) => squash(block) === want);
}

function ensureNewline(pem: string): string {
  const trimmed = pem.trim();
  return `${trimmed}\n`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function uniqueBy<T>(values: readonly T[], key: (v: T) => string): T[] {
  const seen = new Set<string>();
  return values.filter((v) => (seen.has(key(v)) ? false : (seen.add(key(v)), true)));
}

function fraction(f: number): string {
  return Math.abs(f - 1 / 3) < 1e-9 ? 'a third' : `${Math.round(f * 100)}%`;
}
