// The scheduling-mark webhook on the local cluster: the shipped MutatingWebhookConfiguration
// (manifests/base/webhook), pointed at the extender's webhook port on loopback by `url` instead of a
// Service (no Service network here), and the extender flags that serve it with a self-managed
// certificate for 127.0.0.1. The extender patches the caBundle itself, as in a cluster.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, type KubeConfig, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './paths.js';
import { freePort } from './net.js';
import { waitFor } from './objects.js';
import { WEBHOOK_PATH } from '../extender/webhook/server.js';
import { DEFAULT_SCHEDULER_NAME } from '../wire/keys.js';

export const SHIPPED_WEBHOOK_CONFIG = join(REPO_ROOT, 'manifests/base/webhook/mutatingwebhookconfiguration.yaml');

export interface LocalWebhook {
  port: number;
  /** Flags for the extender (in-process or as a child process). */
  extenderArgs: string[];
}

/** The shipped configuration with every webhook's clientConfig replaced by a loopback url. */
export function localWebhookConfiguration(port: number, schedulerName = DEFAULT_SCHEDULER_NAME): V1MutatingWebhookConfiguration {
  const cfg = parseYaml(readFileSync(SHIPPED_WEBHOOK_CONFIG, 'utf8')) as V1MutatingWebhookConfiguration;
  for (const w of cfg.webhooks ?? []) {
    w.clientConfig = { url: `https://127.0.0.1:${port}${WEBHOOK_PATH}` };
    for (const m of w.matchConditions ?? []) m.expression = m.expression.replace(`'${DEFAULT_SCHEDULER_NAME}'`, `'${schedulerName}'`);
  }
  return cfg;
}

/** Applies the webhook configuration (replacing an earlier one) and returns the port and flags to serve it on. */
export async function registerLocalWebhook(kc: KubeConfig, opts: { port?: number; schedulerName?: string } = {}): Promise<LocalWebhook> {
  const port = opts.port ?? (await freePort());
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const body = localWebhookConfiguration(port, opts.schedulerName);
  const name = body.metadata?.name ?? '';
  await api.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
  await api.createMutatingWebhookConfiguration({ body });
  return {
    port,
    extenderArgs: ['--webhook-port', String(port), '--webhook-host', '127.0.0.1', '--webhook-extra-sans', '127.0.0.1', '--webhook-configuration', name],
  };
}

/** Waits until every webhook of the configuration carries a caBundle (the extender's certificate manager patched it). */
export async function waitForCaBundle(kc: KubeConfig, timeoutMs = 60_000): Promise<void> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const name = localWebhookConfiguration(0).metadata?.name ?? '';
  await waitFor(async () => {
    const cfg = await api.readMutatingWebhookConfiguration({ name });
    return (cfg.webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== '') || undefined;
  }, timeoutMs, `the caBundle of MutatingWebhookConfiguration ${name}`, 200);
}
