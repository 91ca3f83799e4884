// Runs the secondary-scheduler setup from its rendered objects (kustomize overlay or Helm chart), as the
// pods would run in a cluster, on the local control plane: the extender sidecar with the Deployment's own
// extender arguments (only the ports are free-chosen) as the Deployment's ServiceAccount, the rendered
// MutatingWebhookConfiguration pointed at the sidecar on loopback, and the upstream kube-scheduler with the
// configuration of the ConfigMap the Deployment mounts and the Deployment's flags, leader election as shipped.
// Used by test/e2e/manifests.test.ts and test/e2e/helm.test.ts. The objects must be applied already.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoordinationV1Api, type V1Lease, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createExtenderApp, type ExtenderApp } from '../../src/extender/assemble.js';
import { loadExtenderConfig } from '../../src/config/extender.js';
import type { ControlPlane } from '../../src/localcluster/controlplane.js';
import { freePort } from '../../src/localcluster/net.js';
import { waitFor } from '../../src/localcluster/objects.js';
import { patchSchedulerConfig } from '../../src/localcluster/scheduler-config.js';
import { waitForCaBundle } from '../../src/localcluster/webhook.js';
import { WEBHOOK_PATH } from '../../src/extender/webhook/server.js';
import type { KubeObject } from '../harness/apply.js';

interface Container {
  name: string;
  command: string[];
}

export interface SecondarySetup {
  ext: ExtenderApp;
  extenderUrl: string;
  /** The secondary kube-scheduler's secure port on 127.0.0.1. */
  schedulerPort: number;
  scheduler: ChildProcess;
  /** The lease the leader holds (named as the configuration says). */
  lease: V1Lease;
  /** The last lines of the kube-scheduler log, for failure messages. */
  logTail(): string;
  stop(): Promise<void>;
}

export interface SecondaryOptions {
  /** The token user of the Deployment's ServiceAccount (in ControlPlaneOptions.users). */
  user: string;
  /** A directory for the patched scheduler configuration. */
  tmpDir: string;
  /** Log name in the control plane's logs directory. */
  logName?: string;
  logComponent?: string;
}

function httpsStatus(url: string): Promise<number> {
  return new Promise((res) => {
    const req = httpsGet(url, { rejectUnauthorized: false, timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(0));
  });
}

/** The rendered webhook configuration with every webhook's clientConfig a loopback url (no Service network here). */
export function loopbackWebhookConfiguration(rendered: KubeObject, port: number): V1MutatingWebhookConfiguration {
  const cfg = structuredClone(rendered) as unknown as V1MutatingWebhookConfiguration;
  // Read back from the cluster it carries server-side metadata, which a create must not.
  const { name, labels, annotations } = cfg.metadata ?? {};
  cfg.metadata = { name, labels, annotations };
  for (const w of cfg.webhooks ?? []) w.clientConfig = { url: `https://127.0.0.1:${port}${WEBHOOK_PATH}` };
  return cfg;
}

export function secondaryParts(objects: readonly KubeObject[]): { deployment: any; containers: Container[]; configMap: KubeObject & { data: Record<string, string> }; webhook: KubeObject } {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'edge-gang-scheduler') as any;
  if (!deployment) throw new Error('no Deployment edge-gang-scheduler among the rendered objects');
  const containers = deployment.spec.template.spec.containers as Container[];
  const cmName = (deployment.spec.template.spec.volumes as { name: string; configMap?: { name: string } }[]).find((v) => v.name === 'config')?.configMap?.name;
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === cmName) as (KubeObject & { data: Record<string, string> }) | undefined;
  if (!configMap) throw new Error(`the Deployment mounts ConfigMap ${cmName}, which is not among the rendered objects`);
  const webhook = objects.find((o) => o.kind === 'MutatingWebhookConfiguration');
  if (!webhook) throw new Error('no MutatingWebhookConfiguration among the rendered objects');
  return { deployment, containers, configMap, webhook };
}

export async function startSecondaryScheduler(plane: ControlPlane, objects: readonly KubeObject[], opts: SecondaryOptions): Promise<SecondarySetup> {
  const { containers, configMap, webhook } = secondaryParts(objects);
  // The sidecar, with the Deployment's own extender arguments (after `node dist/cmd/extender.js`).
  const sidecarArgs = (containers.find((c) => c.name === 'extender')?.command ?? []).slice(2);

  // The rendered webhook configuration (its scheduler name and rules) on loopback, served by the sidecar.
  const webhookPort = await freePort();
  const admission = plane.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const body = loopbackWebhookConfiguration(webhook, webhookPort);
  const webhookName = body.metadata?.name ?? '';
  await admission.deleteMutatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
  await admission.createMutatingWebhookConfiguration({ body });
  const webhookArgs = ['--webhook-port', String(webhookPort), '--webhook-host', '127.0.0.1', '--webhook-extra-sans', '127.0.0.1', '--webhook-configuration', webhookName];

  const loaded = loadExtenderConfig([...sidecarArgs, '--port', '0', ...webhookArgs], {});
  if (loaded.kind !== 'ok') throw new Error(`the Deployment's extender arguments: ${loaded.errors.join('; ')}`);
  const saKube = plane.kubeConfigFor(opts.user);
  const ext = createExtenderApp(loaded.config, pino({ level: 'warn', base: { component: opts.logComponent ?? 'extender-sidecar' } }), { kubeConfig: saKube.kubeConfig });
  const extenderUrl = await ext.listen();
  let scheduler: ChildProcess | undefined;
  let reaper: ChildProcess | undefined;
  const logPath = join(plane.logsDir, opts.logName ?? 'secondary-kube-scheduler.log');
  const logTail = () => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const stop = async () => {
    if (scheduler && scheduler.exitCode === null && scheduler.signalCode === null) {
      const s = scheduler;
      const exited = new Promise((r) => s.once('exit', r));
      s.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
    }
    reaper?.kill('SIGKILL');
    await ext.close();
  };
  try {
    await waitFor(() => ext.readiness().ready, 60_000, `sidecar readiness (${ext.readiness().reason})`);
    await waitForCaBundle(plane.kubeConfig);

    // kube-scheduler with the mounted ConfigMap's configuration. Only what a loopback test must change is
    // patched (kubeconfig path, extender port); leader election stays as shipped.
    const text = configMap.data['kube-scheduler-config.yaml'];
    if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata?.name} has no kube-scheduler-config.yaml`);
    const shipped = parseYaml(text) as Record<string, unknown>;
    const patched = parseYaml(patchSchedulerConfig(text, saKube.kubeconfigPath, { configPath: 'secondary', extenderAddress: new URL(extenderUrl).host })) as Record<string, unknown>;
    patched.leaderElection = shipped.leaderElection;
    const cfgPath = join(opts.tmpDir, `${opts.logName ?? 'secondary'}-kube-scheduler-config.yaml`);
    writeFileSync(cfgPath, stringifyYaml(patched));
    const schedulerContainer = containers.find((c) => c.name === 'kube-scheduler');
    const flags = (schedulerContainer?.command ?? []).slice(1).filter((a) => !a.startsWith('--config='));
    const schedulerPort = await freePort();
    const log = openSync(logPath, 'a');
    const proc = spawn(join(plane.binDir, 'kube-scheduler'), [
      `--config=${cfgPath}`,
      ...flags,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      // Delegated authn/authz as the ServiceAccount, as in-cluster: reads the client CA ConfigMap at start.
      `--authentication-kubeconfig=${saKube.kubeconfigPath}`,
      `--authorization-kubeconfig=${saKube.kubeconfigPath}`,
    ], { stdio: ['ignore', log, log] });
    scheduler = proc;
    closeSync(log);
    // Kills the scheduler if this process dies without stopping it.
    reaper = spawn('/bin/sh', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; exit 0', 'reaper', String(process.pid), String(proc.pid)], { detached: true, stdio: 'ignore' });
    reaper.unref();

    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`kube-scheduler exited with ${proc.exitCode}`);
      return (await httpsStatus(`https://127.0.0.1:${schedulerPort}/readyz`)) === 200;
    }, 60_000, 'secondary kube-scheduler /readyz');
    const election = shipped.leaderElection as { resourceName?: string; resourceNamespace?: string } | undefined;
    const coord = plane.kubeConfig.makeApiClient(CoordinationV1Api);
    const leaseName = election?.resourceName ?? 'kube-scheduler';
    const lease = await waitFor(async () => {
      const l = await coord.readNamespacedLease({ name: leaseName, namespace: election?.resourceNamespace ?? 'kube-system' });
      return l.spec?.holderIdentity ? l : null;
    }, 30_000, `leader-election lease ${leaseName}`);
    return { ext, extenderUrl, schedulerPort, scheduler: proc, lease, logTail, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- secondary kube-scheduler log ---\n${logTail()}`);
  }
}
