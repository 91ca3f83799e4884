// Starts the scheduling-mark webhook inside the extender process: its certificate (self-managed in a
// Secret, or files cert-manager mounts), the HTTPS server on its own port, and the rotation hand-off.
// It shares the extender's cache, so a claim's StorageClass is answered without an API call.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { WebhookConfig } from '../../config/extender.js';
import type { ClusterState } from '../../core/state.js';
import type { Readiness } from '../ports.js';
import { stateLookup } from './lookup.js';
import { createWebhookMetrics } from './metrics.js';
import { buildWebhookServer, rotateCertificate } from './server.js';
import { closeWithin } from '../http/routes.js';
import { startCertificateManager, type CertificateManager } from './tls/manager.js';
import type { CertStatus } from './tls/types.js';

export interface RunningWebhook {
  /** https://host:port */
  address: string;
  status(): CertStatus;
  close(): Promise<void>;
}

export interface WebhookDeps {
  state: ClusterState;
  readiness: () => Readiness;
  logger: Logger;
  registry: Registry;
  kubeConfig: KubeConfig | null;
}

export async function startWebhook(config: WebhookConfig, deps: WebhookDeps): Promise<RunningWebhook> {
  if (config.tls === 'self-managed' && !deps.kubeConfig) throw new Error('the webhook\'s self-managed TLS needs a cluster (not snapshot mode); use --webhook-tls files');
  let app: FastifyInstance | null = null;
  const logger = deps.logger.child({ component: 'webhook' });
  const certs: CertificateManager = await startCertificateManager({
    mode: config.tls,
    ...(deps.kubeConfig ? { kubeConfig: deps.kubeConfig } : {}),
    namespace: config.namespace, secretName: config.secretName, webhookConfigName: config.configurationName, serviceName: config.serviceName,
    extraDnsNames: config.extraDnsNames, extraIps: config.extraIps,
    ...(config.tls === 'files' ? { certFile: config.certFile, keyFile: config.keyFile } : {}),
    logger,
    // The first pair arrives before the server exists; it is built with certs.current() below.
    onCertificate(pair) {
      if (app) rotateCertificate(app, pair);
    },
  });
  const pair = certs.current();
  app = buildWebhookServer({
    lookup: stateLookup(deps.state, { synced: () => deps.readiness().ready }),
    logger, metrics: createWebhookMetrics(deps.registry), https: pair,
  });
  try {
    const address = await app.listen({ host: config.host, port: config.port });
    logger.info({ address, tls: config.tls }, 'webhook listening');
    const server = app;
    return {
      address,
      status: () => certs.status(),
      async close() {
        certs.stop();
        await closeWithin(server, 2000);
      },
    };
  } catch (err) {
    certs.stop();
    throw err;
  }
}
