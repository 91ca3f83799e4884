// Kubeflow training-operator v1.8.1 (the Go module github.com/kubeflow/training-operator, built by
// test/controlplane/build-training-operator.sh) as a child process against the local control plane.
//
// What a cluster install (the module's manifests/overlays/standalone) gives the operator, done here:
//  - its CRDs, from the module (manifests/base/crds, every file its kustomization lists);
//  - the Namespace kubeflow and the Secret kubeflow/training-operator-webhook-cert (the manifests ship it
//    empty; the certificate rotator, cert-controller v0.10.1, must find it or the manager exits);
//  - its ValidatingWebhookConfiguration validator.training-operator.kubeflow.org, from the module's
//    manifests/base/webhook (the kustomize patch renames it), each webhook pointed at the operator's
//    port on loopback by `url` instead of the Service (no Service network here);
//  - serving certificates where its webhook server reads them (in a pod: the Secret mounted there).
//
// Certificates. The rotator's own certificate is for training-operator.kubeflow.svc only, and the API
// server calls a `url` webhook at 127.0.0.1, so a copy of it would fail TLS verification. So the Secret is
// seeded with a CA and a serving certificate made here that the rotator accepts as valid (the CA with the
// SAN training-operator-ca it checks, the server certificate for training-operator.kubeflow.svc and
// 127.0.0.1, both valid beyond its 90-day lookahead): it keeps them ("no cert refresh needed") and injects
// the CA into the ValidatingWebhookConfiguration itself, as in a cluster. Its webhook server
// (controller-runtime v0.17) reads $TMPDIR/k8s-webhook-server/serving-certs: TMPDIR is the test's own
// directory. Its rotator waits until /tmp/k8s-webhook-server/serving-certs/tls.crt exists (a path fixed
// in pkg/cert/cert.go, no flag) before it reports ready; only the file's existence is checked, so the
// same certificate is written there too when absent, and removed at stop when this run created it.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, ApiextensionsV1Api, CoreV1Api, type KubeConfig, type V1CustomResourceDefinition, type V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { ensureNamespace, waitFor } from '../../src/localcluster/objects.js';
import { freePorts, httpGet } from '../../src/localcluster/net.js';
import { REPO_ROOT } from '../../src/localcluster/paths.js';
import { Component, installExitHook, startReaper, type Reaper } from '../../src/localcluster/processes.js';
import { openssl } from './openssl.js';

export const OPERATOR_NAMESPACE = 'kubeflow';
const SECRET_NAME = 'training-operator-webhook-cert';
const SERVICE_NAME = 'training-operator';
const WEBHOOK_CONFIGURATION = 'validator.training-operator.kubeflow.org';
/** cert-controller checks the CA certificate against this DNS name (pkg/cert/cert.go caName). */
const CA_NAME = 'training-operator-ca';
/** pkg/cert/cert.go certDir: the rotator's readiness waits for tls.crt here. */
const ROTATOR_CERT_DIR = '/tmp/k8s-webhook-server/serving-certs';
const BUILD_SCRIPT = join(REPO_ROOT, 'test/controlplane/build-training-operator.sh');
const COSCHEDULING_SCRIPT = join(REPO_ROOT, 'test/controlplane/build-coscheduling.sh');

function runScript(script: string, args: string[], timeoutMs: number, needs: string): Promise<string> {
  return new Promise((res, rej) => {
    execFile('bash', [script, ...args], { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (err || !last) rej(new Error(`${[script.slice(REPO_ROOT.length + 1), ...args].join(' ')} failed (${needs}): ${String(stderr).trim().split('\n').slice(-5).join('\n') || (err?.message ?? 'no output')}`));
      else res(last);
    });
  });
}

export interface OperatorBuild {
  binary: string;
  /** The module's manifests/base/crds. */
  crdDir: string;
  /** The module's manifests/base (webhook/, crds/). */
  manifestsDir: string;
}

/** Builds (cold: a few minutes) or finds the manager; fails naming what to install when Go or the module is missing. */
export async function locateTrainingOperator(buildTimeoutMs: number): Promise<OperatorBuild> {
  const needs = 'it needs Go >= 1.22 and the Go module github.com/kubeflow/training-operator@v1.8.1 from a Go module proxy';
  const binary = await runScript(BUILD_SCRIPT, [], buildTimeoutMs, needs);
  const crdDir = await runScript(BUILD_SCRIPT, ['--crds'], 5 * 60_000, needs);
  return { binary, crdDir, manifestsDir: join(crdDir, '..') };
}

/** scheduler-plugins' PodGroup CRD (scheduling.x-k8s.io/v1alpha1), from the module cache, as test/e2e/podgroup-dialect.test.ts installs it. */
export async function podGroupCrd(): Promise<V1CustomResourceDefinition> {
  const path = await runScript(COSCHEDULING_SCRIPT, ['--crd'], 10 * 60_000, 'it needs Go >= 1.25 and the Go module sigs.k8s.io/scheduler-plugins');
  return parseYaml(readFileSync(path, 'utf8')) as V1CustomResourceDefinition;
}

/** The operator's CRDs, in the order of the module's crds/kustomization.yaml. */
export function operatorCrds(crdDir: string): V1CustomResourceDefinition[] {
  const kustomization = parseYaml(readFileSync(join(crdDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.map((f) => parseYaml(readFileSync(join(crdDir, f), 'utf8')) as V1CustomResourceDefinition);
}

/** Creates each CRD as a client sends it and waits until every one is Established. */
export async function installCrds(kc: KubeConfig, crds: V1CustomResourceDefinition[]): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    await api.createCustomResourceDefinition({ body: { ...crd, metadata: { name: crd.metadata?.name, annotations: crd.metadata?.annotations, labels: crd.metadata?.labels } } });
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitFor(async () => (await api.readCustomResourceDefinition({ name })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), 60_000, `CRD ${name} Established`, 200);
  }
}

interface Pki {
  caCrt: string;
  caKey: string;
  tlsCrt: string;
  tlsKey: string;
}

/** A CA and a serving certificate the rotator accepts (see the header), RSA keys in PKCS#1 as it writes them. */
function makePki(dir: string, dnsName: string): Pki {
  const f = (n: string) => join(dir, n);
  openssl(['genrsa', '-traditional', '-out', f('ca.key'), '2048']);
  openssl(['req', '-x509', '-new', '-key', f('ca.key'), '-days', '3650', '-subj', `/O=training-operator/CN=${CA_NAME}`,
    '-addext', `subjectAltName=DNS:${CA_NAME}`, '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign', '-out', f('ca.crt')]);
  openssl(['genrsa', '-traditional', '-out', f('tls.key'), '2048']);
  openssl(['req', '-new', '-key', f('tls.key'), '-subj', `/CN=${dnsName}`, '-out', f('tls.csr')]);
  writeFileSync(f('tls.ext'), `subjectAltName=DNS:${dnsName},IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=critical,CA:FALSE\n`);
  openssl(['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '365', '-extfile', f('tls.ext'), '-out', f('tls.crt')]);
  const read = (n: string) => readFileSync(f(n), 'utf8');
  return { caCrt: read('ca.crt'), caKey: read('ca.key'), tlsCrt: read('tls.crt'), tlsKey: read('tls.key') };
}

/** The module's ValidatingWebhookConfiguration, renamed as its kustomize patch does, each webhook at 127.0.0.1:port by url. */
export function operatorWebhookConfiguration(manifestsDir: string, port: number): V1ValidatingWebhookConfiguration {
  const docs = parseAllDocuments(readFileSync(join(manifestsDir, 'webhook/manifests.yaml'), 'utf8')).map((d) => d.toJS() as V1ValidatingWebhookConfiguration | null);
  const cfg = docs.find((d) => d?.kind === 'ValidatingWebhookConfiguration');
  if (!cfg) throw new Error(`no ValidatingWebhookConfiguration in ${manifestsDir}/webhook/manifests.yaml`);
  cfg.metadata = { name: WEBHOOK_CONFIGURATION, labels: { 'control-plane': 'kubeflow-training-operator' } };
  for (const w of cfg.webhooks ?? []) w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service?.path ?? '/'}` };
  return cfg;
}

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  build: OperatorBuild;
  /** --gang-scheduler-name. */
  gangSchedulerName: string;
}

export interface TrainingOperator {
  readonly component: Component;
  /** The CA the Secret was seeded with (PEM). */
  readonly caPem: string;
  readonly logPath: string;
  readonly webhookConfigurationName: string;
  readonly secretName: string;
  /** The full log (for assertions on what the manager said). */
  log(): string;
  /** Stops the manager, the reaper, and removes its files. Idempotent; never throws. */
  stop(): Promise<void>;
}

/** Installs what the operator needs in the cluster, starts it, and waits for its /readyz (certificates ready, webhook server up). */
export async function startTrainingOperator(opts: OperatorOptions): Promise<TrainingOperator> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'training-operator-'));
  const certDir = join(dir, 'k8s-webhook-server', 'serving-certs');
  mkdirSync(certDir, { recursive: true });
  const pki = makePki(dir, `${SERVICE_NAME}.${OPERATOR_NAMESPACE}.svc`);
  writeFileSync(join(certDir, 'tls.crt'), pki.tlsCrt);
  writeFileSync(join(certDir, 'tls.key'), pki.tlsKey, { mode: 0o600 });
  const createdRotatorDir = !existsSync('/tmp/k8s-webhook-server');
  if (!existsSync(join(ROTATOR_CERT_DIR, 'tls.crt'))) {
    mkdirSync(ROTATOR_CERT_DIR, { recursive: true });
    writeFileSync(join(ROTATOR_CERT_DIR, 'tls.crt'), pki.tlsCrt);
  }

  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  await ensureNamespace(core, OPERATOR_NAMESPACE);
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await core.createNamespacedSecret({
    namespace: OPERATOR_NAMESPACE,
    body: { metadata: { name: SECRET_NAME }, data: { 'ca.crt': b64(pki.caCrt), 'ca.key': b64(pki.caKey), 'tls.crt': b64(pki.tlsCrt), 'tls.key': b64(pki.tlsKey) } },
  });
  const [webhookPort, metricsPort, probePort] = (await freePorts(3)) as [number, number, number];
  await opts.kubeConfig.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({ body: operatorWebhookConfiguration(opts.build.manifestsDir, webhookPort) });

  const pidFile = join(dir, 'pids');
  writeFileSync(pidFile, '');
  const logPath = join(dir, 'training-operator.log');
  const args = [
    `--kubeconfig=${opts.kubeconfigPath}`,
    '--enable-scheme=tfjob',
    `--gang-scheduler-name=${opts.gangSchedulerName}`,
    '--leader-elect=false',
    `--webhook-server-port=${webhookPort}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    `--health-probe-bind-address=127.0.0.1:${probePort}`,
    '--zap-log-level=info',
  ];
  // env(1) execs the manager in place (same PID) with TMPDIR and the namespace its rotator uses (the default, said explicitly).
  const component: Component = new Component('training-operator', '/usr/bin/env', () => [`TMPDIR=${dir}`, `MY_POD_NAMESPACE=${OPERATOR_NAMESPACE}`, opts.build.binary, ...args], logPath, () => {
    writeFileSync(pidFile, component.pid !== undefined ? `${component.pid}\n` : '');
  });
  const extraDir = createdRotatorDir ? '/tmp/k8s-webhook-server' : dir;
  // Kills the manager and removes these files if this process dies without running its exit handlers.
  const reaper: Reaper = startReaper(pidFile, process.env.KEEP_CONTROLPLANE === '1', [dir, extraDir]);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await component.stop({ graceMs: 5000 });
      } catch (err) {
        process.stderr.write(`training-operator stop failed: ${(err as Error).message}\n`);
      }
      await reaper.stop();
      if (process.env.KEEP_CONTROLPLANE !== '1') {
        rmSync(dir, { recursive: true, force: true });
        if (createdRotatorDir) rmSync('/tmp/k8s-webhook-server', { recursive: true, force: true });
      }
    })();
    return stopping;
  };
  component.start();
  try {
    await component.waitReady(async () => (await httpGet(`http://127.0.0.1:${probePort}/readyz`)).status === 200, 180_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    component,
    caPem: pki.caCrt,
    logPath,
    webhookConfigurationName: WEBHOOK_CONFIGURATION,
    secretName: SECRET_NAME,
    log: () => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    },
    stop,
  };
}
