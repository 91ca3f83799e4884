// An in-memory CertStore with the API server's write semantics: AlreadyExists on create, a stale
// resourceVersion on update, a JSON patch whose `test` of a webhook's name fails when the list changed.

import type { CertStore, StoredSecret, WebhookConfigBundles, WriteResult } from '../../../src/extender/webhook/tls/kube.js';
import type { SecretPem } from '../../../src/extender/webhook/tls/pki.js';

export class FakeCertStore implements CertStore {
  secret: StoredSecret | null = null;
  config: WebhookConfigBundles | null = null;
  private rv = 0;
  creates = 0;
  updates = 0;
  patches = 0;
  conflicts = 0;
  /** Runs once, just before the next Secret write lands: another replica writing first. */
  beforeWrite: (() => void) | null = null;
  /** Each read of the Secret throws while positive (an API server that is down), counting down. */
  failingReads = 0;

  constructor(webhookNames?: string[]) {
    if (webhookNames) this.config = { name: 'hooks', webhooks: webhookNames.map((name) => ({ name, caBundlePem: '' })) };
  }

  /** Puts a Secret in place as another writer would. */
  put(data: SecretPem): void {
    this.secret = { resourceVersion: String(++this.rv), type: 'kubernetes.io/tls', data: { ...data } };
  }

  async readSecret(): Promise<StoredSecret | null> {
    if (this.failingReads > 0) {
      this.failingReads--;
      throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
    }
    return this.secret ? structuredClone(this.secret) : null;
  }

  private race(): void {
    const other = this.beforeWrite;
    this.beforeWrite = null;
    other?.();
  }

  async createSecret(data: SecretPem): Promise<WriteResult<StoredSecret>> {
    this.race();
    if (this.secret) return this.conflict();
    this.creates++;
    this.put(data);
    return { kind: 'written', value: structuredClone(this.secret as unknown as StoredSecret) };
  }

  async updateSecret(previous: StoredSecret, data: SecretPem): Promise<WriteResult<StoredSecret>> {
    this.race();
    if (!this.secret || this.secret.resourceVersion !== previous.resourceVersion) return this.conflict();
    this.updates++;
    this.put(data);
    return { kind: 'written', value: structuredClone(this.secret) };
  }

  async readWebhookConfig(): Promise<WebhookConfigBundles | null> {
    return this.config ? structuredClone(this.config) : null;
  }

  async patchCaBundles(read: WebhookConfigBundles, indexes: readonly number[], bundlePem: string): Promise<WriteResult<void>> {
    const live = this.config;
    if (!live || indexes.some((i) => live.webhooks[i]?.name !== read.webhooks[i]?.name)) return this.conflict();
    this.patches++;
    for (const i of indexes) (live.webhooks[i] as { caBundlePem: string }).caBundlePem = bundlePem;
    return { kind: 'written', value: undefined };
  }

  private conflict(): { kind: 'conflict' } {
    this.conflicts++;
    return { kind: 'conflict' };
  }
}
