// The Kubernetes side of the self-managed webhook certificate: the Secret that holds the CA and the serving
// pair (shared by every replica), and the caBundle of the MutatingWebhookConfiguration. Behind a small
// interface so the manager's logic is tested on an in-memory store.
//
// RBAC: secrets get/update on the one name and create (create cannot be narrowed by name);
// mutatingwebhookconfigurations get/patch on the one name.

import { AdmissionregistrationV1Api, ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { SecretPem } from './pki.js';
import { SECRET_KEY_CA_CERT, SECRET_KEY_CA_KEY, SECRET_KEY_PREVIOUS_CAS, SECRET_KEY_TLS_CERT, SECRET_KEY_TLS_KEY } from './types.js';

/** The Secret as read: its decoded PEM and what an update must carry over. */
export interface StoredSecret {
  resourceVersion: string;
  data: SecretPem;
  type: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One webhook of the configuration: its name (checked before patching its index) and its caBundle as PEM. */
export interface WebhookBundle {
  name: string;
  caBundlePem: string;
}

export interface WebhookConfigBundles {
  name: string;
  webhooks: WebhookBundle[];
}

/** 'conflict': another writer got there first (AlreadyExists, a stale resourceVersion, a reordered list): re-read. */
export type WriteResult<T> = { kind: 'written'; value: T } | { kind: 'conflict' };

export interface CertStore {
  /** The Secret, or null when it does not exist. */
  readSecret(): Promise<StoredSecret | null>;
  createSecret(data: SecretPem): Promise<WriteResult<StoredSecret>>;
  updateSecret(previous: StoredSecret, data: SecretPem): Promise<WriteResult<StoredSecret>>;
  /** The webhook configuration's bundles, or null when it does not exist (yet). */
  readWebhookConfig(): Promise<WebhookConfigBundles | null>;
  /** Sets the caBundle of the webhooks at `indexes` (as read in `config`) to `bundlePem`. */
  patchCaBundles(config: WebhookConfigBundles, indexes: readonly number[], bundlePem: string): Promise<WriteResult<void>>;
}

export interface KubeCertStoreOptions {
  namespace: string;
  secretName: string;
  webhookConfigName: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined): string | undefined => (text === undefined ? undefined : Buffer.from(text, 'base64').toString('utf8'));
const status = (err: unknown): number | undefined => (err instanceof ApiException ? err.code : undefined);

/** The webhook Secret is `kubernetes.io/tls`, so tools that expect tls.crt/tls.key read it as they would any. */
export const WEBHOOK_SECRET_TYPE = 'kubernetes.io/tls';

function encodeData(data: SecretPem): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, value: string | undefined): void => {
    if (value !== undefined) out[key] = b64(value);
  };
  put(SECRET_KEY_CA_CERT, data.caCert);
  put(SECRET_KEY_CA_KEY, data.caKey);
  put(SECRET_KEY_TLS_CERT, data.tlsCert ?? '');
  put(SECRET_KEY_TLS_KEY, data.tlsKey ?? '');
  put(SECRET_KEY_PREVIOUS_CAS, data.previousCas);
  return out;
}

function decodeSecret(s: V1Secret): StoredSecret {
  const d = s.data ?? {};
  return {
    resourceVersion: s.metadata?.resourceVersion ?? '',
    type: s.type ?? 'Opaque',
    labels: s.metadata?.labels,
    annotations: s.metadata?.annotations,
    data: {
      caCert: unb64(d[SECRET_KEY_CA_CERT]),
      caKey: unb64(d[SECRET_KEY_CA_KEY]),
      tlsCert: unb64(d[SECRET_KEY_TLS_CERT]),
      tlsKey: unb64(d[SECRET_KEY_TLS_KEY]),
      previousCas: unb64(d[SECRET_KEY_PREVIOUS_CAS]),
    },
  };
}

/** The live store on the API server. */
export function createKubeCertStore(kc: KubeConfig, o: KubeCertStoreOptions): CertStore {
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const { namespace, secretName: name } = o;
  const conflictOn = async <T>(codes: number[], write: () => Promise<T>): Promise<WriteResult<T>> => {
    try {
      return { kind: 'written', value: await write() };
    } catch (err) {
      if (codes.includes(status(err) ?? 0)) return { kind: 'conflict' };
      throw err;
    }
  };
  return {
    async readSecret() {
      try {
        return decodeSecret(await core.readNamespacedSecret({ name, namespace }));
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    createSecret(data) {
      const body: V1Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: WEBHOOK_SECRET_TYPE, data: encodeData(data) };
      return conflictOn([409], async () => decodeSecret(await core.createNamespacedSecret({ namespace, body })));
    },
    updateSecret(previous, data) {
      const body: V1Secret = {
        apiVersion: 'v1', kind: 'Secret', type: previous.type, data: encodeData(data),
        metadata: { name, namespace, resourceVersion: previous.resourceVersion, labels: previous.labels, annotations: previous.annotations },
      };
      // 404: deleted since the read; the next read finds it missing and creates it.
      return conflictOn([404, 409], async () => decodeSecret(await core.replaceNamespacedSecret({ name, namespace, body })));
    },
    async readWebhookConfig() {
      try {
        const cfg = await admission.readMutatingWebhookConfiguration({ name: o.webhookConfigName });
        const webhooks = (cfg.webhooks ?? []).map((w) => ({ name: w.name, caBundlePem: unb64(w.clientConfig?.caBundle) ?? '' }));
        return { name: o.webhookConfigName, webhooks };
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },
    patchCaBundles(config, indexes, bundlePem) {
      // A JSON merge patch replaces the whole webhooks list, and an update through the typed client drops the
      // fields it does not know; a JSON patch edits one index, after testing the index still names the same
      // webhook (a failed test is 422: the list changed since the read).
      const body = indexes.flatMap((i) => [
        { op: 'test', path: `/webhooks/${i}/name`, value: config.webhooks[i]?.name },
        { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: b64(bundlePem) },
      ]);
      return conflictOn([404, 409, 422], async () => {
        await admission.patchMutatingWebhookConfiguration({ name: config.name, body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
      });
    },
  };
}
