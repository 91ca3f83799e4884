// The self-managed webhook certificate on a real kube-apiserver (RBAC on, the manager runs with only the
// rules it documents): the Secret appears, the caBundle is patched once the configuration exists, and
// kube-apiserver calls a webhook served with the manager's certificate (the pod comes back labelled).
// Then two replicas race to create one Secret, a restart reuses its Secret, and short validities force
// serving renewals and a CA rotation while pods keep being created: every one is mutated through the switch.

import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AdmissionregistrationV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { createKubeCertStore } from '../../src/extender/webhook/tls/kube.js';
import { startCertificateManager, type CertificateManager, type CertificateManagerOptions } from '../../src/extender/webhook/tls/manager.js';
import { splitPem } from '../../src/extender/webhook/tls/rules.js';
import type { CertPair } from '../../src/extender/webhook/tls/types.js';

const NS = 'kube-system';
const CONFIG = 'webhook-certs-e2e';
const LABEL = 'webhook-certs-e2e';
const MARK = 'webhook-certs-e2e-served-serial';
const USER = 'edge-gang-extender';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;

/** The RBAC the manager needs, as reported to the lead (create on secrets cannot be narrowed by name). */
function grantManager(rbac: RbacAuthorizationV1Api, secretNames: string[]): Promise<unknown[]> {
  const subjects = [{ kind: 'User', name: USER, apiGroup: 'rbac.authorization.k8s.io' }];
  return Promise.all([
    rbac.createNamespacedRole({ namespace: NS, body: { metadata: { name: 'webhook-certs' }, rules: [
      { apiGroups: [''], resources: ['secrets'], resourceNames: secretNames, verbs: ['get', 'update'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ] } }),
    rbac.createNamespacedRoleBinding({ namespace: NS, body: { metadata: { name: 'webhook-certs' }, subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'webhook-certs' } } }),
    rbac.createClusterRole({ body: { metadata: { name: 'webhook-certs' }, rules: [
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [CONFIG], verbs: ['get', 'patch'] },
    ] } }),
    rbac.createClusterRoleBinding({ body: { metadata: { name: 'webhook-certs' }, subjects, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'webhook-certs' } } }),
  ]);
}

function webhookConfig(port: number): V1MutatingWebhookConfiguration {
  const hook = (name: string, label: string) => ({
    name, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', timeoutSeconds: 5,
    clientConfig: { url: `https://127.0.0.1:${port}/mutate-pods` },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    objectSelector: { matchLabels: { [label]: 'yes' } },
  });
  // Two webhooks: the caBundle goes into each; only the first matches the test's pods.
  return { metadata: { name: CONFIG }, webhooks: [hook('mark.webhook-certs.e2e', LABEL), hook('unused.webhook-certs.e2e', `${LABEL}-unused`)] };
}

/** A webhook that labels each pod with the serial of the certificate its TLS connection was made with. */
function startWebhookServer(): Promise<Server> {
  const server = createServer({}, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString());
      const served = (req.socket as TLSSocket).getCertificate() as { serialNumber?: string } | null;
      const patch = [{ op: 'add', path: `/metadata/labels/${MARK.replace('/', '~1')}`, value: served?.serialNumber ?? 'unknown' }];
      // connection: close gives every call a fresh TLS handshake, so the label names the certificate served
      // now (kube-apiserver otherwise keeps one connection per caBundle for as long as it likes).
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
      }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('webhook certificates on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let userKc: KubeConfig;
  let core: CoreV1Api;
  let admission: AdmissionregistrationV1Api;
  let server: Server;
  let port: number;
  let podSeq = 0;
  const running: CertificateManager[] = [];
  /** Every pair handed to the server, by serial. */
  const served = new Map<string, CertPair>();

  const startManager = async (over: Partial<CertificateManagerOptions> = {}): Promise<CertificateManager> => {
    const m = await startCertificateManager({
      mode: 'self-managed', kubeConfig: userKc, namespace: NS, secretName: 'webhook-certs', webhookConfigName: CONFIG,
      serviceName: 'edge-gang-webhook', extraIps: ['127.0.0.1'], checkEveryMs: 250, retryEveryMs: 250, logger,
      onCertificate: (pair) => {
        served.set(serialOf(pair.cert), pair);
        server.setSecureContext(pair);
      },
      ...over,
    });
    running.push(m);
    return m;
  };
  const stopAll = (): void => {
    for (const m of running.splice(0)) m.stop();
  };
  /** Creates a pod that matches the webhook; the label the webhook added (or undefined). */
  const createPod = async (): Promise<string | undefined> => {
    const pod = await core.createNamespacedPod({ namespace: 'default', body: {
      metadata: { name: `certs-${++podSeq}`, labels: { [LABEL]: 'yes' } },
      spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
    } });
    return pod.metadata?.labels?.[MARK];
  };
  const bundleOf = async (): Promise<string[][]> => {
    const cfg = await admission.readMutatingWebhookConfiguration({ name: CONFIG });
    return (cfg.webhooks ?? []).map((w) => splitPem(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString()));
  };
  const untilMutated = async (timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mark = await createPod();
      if (mark) return mark;
      if (Date.now() > deadline) throw new Error('no pod was mutated: kube-apiserver does not trust the served certificate');
      await sleep(200);
    }
  };

  beforeAll(async () => {
    cp = await startControlPlane({ authorization: 'RBAC', users: [{ name: USER }] });
    console.info(`control plane up in ${cp.timings.totalMs} ms`);
    userKc = cp.kubeConfigFor(USER).kubeConfig;
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    await grantManager(cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api), ['webhook-certs', 'webhook-certs-race', 'webhook-certs-rotating']);
    server = await startWebhookServer();
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    stopAll();
    server?.close();
    await cp?.stop();
  });

  it('creates the Secret at start, reports the missing configuration, and patches its caBundle once it exists', async () => {
    const t = Date.now();
    const m = await startManager();
    const secret = await core.readNamespacedSecret({ name: 'webhook-certs', namespace: NS });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(m.status()).toMatchObject({ ready: true, caBundlePatched: false, lastError: expect.stringMatching(/not found/) });

    await admission.createMutatingWebhookConfiguration({ body: webhookConfig(port) });
    for (let i = 0; i < 40 && !m.status().caBundlePatched; i++) await sleep(100);
    expect(m.status()).toMatchObject({ caBundlePatched: true, lastError: null });
    const caPem = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString();
    expect(await bundleOf()).toEqual([[caPem], [caPem]]);
    console.info(`Secret and caBundle in ${Date.now() - t} ms`);
  });

  it('is trusted by kube-apiserver: a pod is mutated by the webhook served with the certificate', async () => {
    const t = Date.now();
    const mark = await untilMutated(15_000);
    console.info(`first mutated pod ${Date.now() - t} ms after the patch`);
    expect(mark).toBe(serialOf(running[0]?.current().cert ?? ''));
    for (let i = 0; i < 3; i++) expect(await createPod()).toBe(mark);
  });

  it('a caBundle patch against a webhook list that changed since the read is a conflict (422 of the JSON patch test)', async () => {
    const store = createKubeCertStore(userKc, { namespace: NS, secretName: 'webhook-certs', webhookConfigName: CONFIG });
    const read = await store.readWebhookConfig();
    const stale = { name: CONFIG, webhooks: (read?.webhooks ?? []).map((w, i) => ({ ...w, name: i === 0 ? 'renamed.e2e' : w.name })) };
    expect(await store.patchCaBundles(stale, [0], 'ignored')).toEqual({ kind: 'conflict' });
    expect(await bundleOf()).toEqual((read?.webhooks ?? []).map((w) => splitPem(w.caBundlePem)));
  });

  it('two replicas starting on no Secret race (409) and settle on one; a restart reuses its Secret', async () => {
    const before = await core.readNamespacedSecret({ name: 'webhook-certs', namespace: NS });
    const serial = serialOf(running[0]?.current().cert ?? '');
    stopAll();
    const lines: string[] = [];
    const raceLogger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const [a, b] = await Promise.all([1, 2].map(() => startManager({ secretName: 'webhook-certs-race', logger: raceLogger })));
    expect(serialOf(b?.current().cert ?? '')).toBe(serialOf(a?.current().cert ?? ''));
    expect(lines.filter((l) => l.includes('Secret written'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('re-reading'))).toBe(true);
    stopAll();

    const restarted = await startManager();
    expect(serialOf(restarted.current().cert)).toBe(serial);
    const after = await core.readNamespacedSecret({ name: 'webhook-certs', namespace: NS });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(await untilMutated(15_000)).toBe(serial);
  });

  it('keeps every pod mutated through serving renewals and a CA rotation', async () => {
    stopAll();
    // Short lives: the serving certificate is renewed every ~4 s, the CA rotated at ~10 s and expires at 16 s.
    const m = await startManager({ secretName: 'webhook-certs-rotating', servingValidityMs: 6_000, caValidityMs: 16_000 });
    const firstCa = (await bundleOf())[0]?.[0];
    await untilMutated(15_000); // a new CA replaced the first phase's: not a rotation, so wait for it to be trusted
    const t = Date.now();
    const marks = new Set<string>();
    let sawBoth = false;
    let sawOldDropped = false;
    let pods = 0;
    while (!(sawBoth && sawOldDropped) && Date.now() - t < 40_000) {
      const mark = await createPod();
      pods++;
      expect(mark, `pod ${pods} at ${Date.now() - t} ms not mutated (status ${JSON.stringify(m.status())})`).toBeDefined();
      marks.add(mark ?? '');
      const bundle = (await bundleOf())[0] ?? [];
      if (bundle.length === 2 && bundle[1] === firstCa) sawBoth = true;
      if (sawBoth && bundle.length === 1 && bundle[0] !== firstCa) sawOldDropped = true;
      await sleep(300);
    }
    console.info(`rotation phase: ${pods} pods in ${Date.now() - t} ms, ${marks.size} serving certificates served`);
    expect({ sawBoth, sawOldDropped }).toEqual({ sawBoth: true, sawOldDropped: true });
    // Pods were mutated with certificates of both CAs: the switch happened while pods kept coming.
    const signedBy = (caPem: string) => [...marks].filter((mark) => new X509Certificate(served.get(mark)?.cert ?? '').verify(new X509Certificate(caPem).publicKey));
    const lastCa = (await bundleOf())[0]?.[0] ?? '';
    expect(signedBy(firstCa ?? '').length).toBeGreaterThanOrEqual(1);
    expect(signedBy(lastCa).length).toBeGreaterThanOrEqual(1);
    expect(marks.size).toBeGreaterThanOrEqual(3);
  });
});
