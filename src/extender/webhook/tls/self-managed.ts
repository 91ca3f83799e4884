// One check of the self-managed webhook certificate: read the Secret and the webhook configuration, decide
// (rules.ts), write the Secret when the plan says so (a replica that loses the race re-reads and takes the
// winner's), and bring every webhook's caBundle to the current CA plus the still-valid previous ones.
// The Secret is the truth every replica serves from: nothing is served or published before it is stored.

import type { Logger } from 'pino';
import type { CertStore, StoredSecret, WebhookConfigBundles } from './kube.js';
import { generateCa, issueServing, readStoredPki, type SecretPem } from './pki.js';
import { bundleTrusts, caBundlePem, planCertificates, type Plan, type RequiredNames, type StoredPki } from './rules.js';
import { CertificateError, type CertPair } from './types.js';

export interface CheckSettings {
  store: CertStore;
  required: RequiredNames;
  renewBeforeFraction: number;
  servingValidityMs: number;
  caValidityMs: number;
  webhookConfigName: string;
  logger: Logger;
}

export interface CheckResult {
  pair: CertPair;
  serial: string;
  notAfterMs: number;
  caNotAfterMs: number;
  /** The configuration exists and every webhook carries the bundle. */
  caBundlePatched: boolean;
  /** Why the caBundle is not patched (configuration missing, API error), or null. */
  bundleProblem: string | null;
}

/** Attempts at the Secret before giving up on a race (each loser re-reads, so two replicas settle in two). */
const SECRET_ATTEMPTS = 4;
const PATCH_ATTEMPTS = 3;

/** Runs one check at nowMs. Throws when the Secret cannot be read or written; a webhook configuration problem is reported. */
export async function checkCertificates(s: CheckSettings, nowMs: number): Promise<CheckResult> {
  const config = await readConfig(s);
  const secret = await settleSecret(s, nowMs, config);
  const pki = readStoredPki(secret.data);
  if (pki.ca.kind !== 'ok' || pki.serving.kind !== 'ok') throw new CertificateError('CERT_NOT_AVAILABLE', 'the stored Secret holds no usable pair');
  const bundle = caBundlePem(pki.ca.value, pki.previousCas, nowMs);
  const published = config.problem === null ? await publishBundle(s, config.value, bundle) : { patched: false, problem: config.problem };
  return {
    pair: { cert: secret.data.tlsCert ?? '', key: secret.data.tlsKey ?? '' },
    serial: pki.serving.value.serial,
    notAfterMs: pki.serving.value.notAfterMs,
    caNotAfterMs: pki.ca.value.notAfterMs,
    caBundlePatched: published.patched,
    bundleProblem: published.problem,
  };
}

interface ConfigRead {
  value: WebhookConfigBundles | null;
  /** null when the configuration was read and exists. */
  problem: string | null;
  /** The read failed: whether it already trusts a CA is unknown. */
  readFailed: boolean;
}

async function readConfig(s: CheckSettings): Promise<ConfigRead> {
  try {
    const value = await s.store.readWebhookConfig();
    const problem = value ? null : notFound(s);
    return { value, problem, readFailed: false };
  } catch (err) {
    return { value: null, problem: `reading MutatingWebhookConfiguration ${s.webhookConfigName}: ${message(err)}`, readFailed: true };
  }
}

/**
 * Whether kube-apiserver already trusts the current CA: every webhook's bundle carries it, or there is no
 * configuration to call us. A failed read counts as not trusted, so no serving certificate moves to a new CA.
 */
function trustsCurrentCa(config: ConfigRead, pki: StoredPki): boolean {
  if (config.readFailed) return false;
  if (!config.value || pki.ca.kind !== 'ok') return true;
  const caPem = pki.ca.value.pem;
  return config.value.webhooks.every((w) => bundleTrusts(w.caBundlePem, caPem));
}

async function settleSecret(s: CheckSettings, nowMs: number, config: ConfigRead): Promise<StoredSecret> {
  for (let attempt = 1; attempt <= SECRET_ATTEMPTS; attempt++) {
    const stored = await s.store.readSecret();
    const pki = readStoredPki(stored?.data ?? {});
    const plan = planCertificates({
      stored: pki, required: s.required, nowMs, renewBeforeFraction: s.renewBeforeFraction,
      publishedTrustsCurrentCa: trustsCurrentCa(config, pki),
    });
    if (stored && !plan.changed) return stored;
    const data = await nextSecretData(s, nowMs, stored?.data ?? {}, plan);
    const written = stored ? await s.store.updateSecret(stored, data) : await s.store.createSecret(data);
    if (written.kind === 'written') {
      s.logger.info({ newCa: plan.newCa, newServing: plan.newServing, previousCas: plan.previousCas.length }, 'webhook certificate Secret written');
      return written.value;
    }
    s.logger.info({ attempt }, 'webhook certificate Secret changed under us (another replica?): re-reading');
  }
  throw new CertificateError('CERT_SECRET_CONFLICT', `the webhook Secret kept changing during ${SECRET_ATTEMPTS} attempts`);
}

async function nextSecretData(s: CheckSettings, nowMs: number, current: SecretPem, plan: Plan): Promise<SecretPem> {
  const ca = plan.newCa !== null ? await generateCa(nowMs, s.caValidityMs) : { cert: current.caCert ?? '', key: current.caKey ?? '' };
  const serving = plan.newServing !== null
    ? await issueServing(ca, s.required, nowMs, s.servingValidityMs)
    : { cert: current.tlsCert ?? '', key: current.tlsKey ?? '' };
  const previousCas = plan.previousCas.map((c) => c.pem).join('');
  return { caCert: ca.cert, caKey: ca.key, tlsCert: serving.cert, tlsKey: serving.key, ...(previousCas ? { previousCas } : {}) };
}

async function publishBundle(s: CheckSettings, first: WebhookConfigBundles | null, bundle: string): Promise<{ patched: boolean; problem: string | null }> {
  let config = first;
  try {
    for (let attempt = 1; attempt <= PATCH_ATTEMPTS; attempt++) {
      if (!config) return { patched: false, problem: notFound(s) };
      const stale = config.webhooks.flatMap((w, i) => (w.caBundlePem === bundle ? [] : [i]));
      if (stale.length === 0) return { patched: true, problem: null };
      const result = await s.store.patchCaBundles(config, stale, bundle);
      if (result.kind === 'written') {
        s.logger.info({ webhooks: stale.length, cas: bundle.split('-----BEGIN').length - 1 }, 'caBundle patched into the webhook configuration');
        return { patched: true, problem: null };
      }
      config = await s.store.readWebhookConfig();
    }
    return { patched: false, problem: `the webhook configuration kept changing during ${PATCH_ATTEMPTS} patch attempts` };
  } catch (err) {
    return { patched: false, problem: `patching caBundle of ${s.webhookConfigName}: ${message(err)}` };
  }
}

function notFound(s: CheckSettings): string {
  return `MutatingWebhookConfiguration ${s.webhookConfigName} not found (yet): caBundle not patched, will retry`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
