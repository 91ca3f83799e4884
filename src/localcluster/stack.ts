// The whole product on one machine: etcd + kube-apiserver, the extender in-process (createExtenderApp,
// exactly what cmd/extender.ts runs), kube-scheduler with the shipped configuration pointed at it, and
// the fake CSI provisioner. Used by `npm run demo` (demo.ts) and test/e2e/scenarios.test.ts.
//
// stop() tears everything down in dependency order (scheduler first, so no verb arrives at a closed
// extender) and never throws; the control plane's own exit hook and reaper cover a crash.

import { CoreV1Api, StorageV1Api, type KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { createExtenderApp, type ExtenderApp } from '../extender/assemble.js';
import { loadExtenderConfig } from '../config/extender.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { waitFor } from './objects.js';
import { SHIPPED_SCHEDULER_CONFIG, repoRelative } from './paths.js';
import { registerLocalWebhook, waitForCaBundle } from './webhook.js';
import { startFakeProvisioner, type FakeProvisioner } from './provisioner.js';

export interface StackOptions {
  /** kube-apiserver and kube-scheduler version ("1.37.2"): ControlPlaneOptions.k8sVersion. Default: env K8S_VERSION, else 1.35.4. */
  k8sVersion?: string;
  /** Extra extender flags (e.g. ['--barrier-timeout-ms', '20000']); --host/--port are set here. */
  extenderArgs?: string[];
  /** pino level of the extender's logger. Default 'warn'. */
  extenderLogLevel?: string;
  /** A logger to use instead (the demo passes a silent one). */
  extenderLogger?: Logger;
  /** Provisioner updates the capacity reports like the node agent re-reading LVM. Default true. */
  updateReports?: boolean;
  /** The extender's own view of the API server (default: the control plane's admin kubeconfig); tests route it through a lagging proxy. */
  extenderKubeConfig?: (cp: ControlPlane) => Promise<KubeConfig>;
  /** Progress lines ("etcd + kube-apiserver up in 12.3 s"). */
  progress?: (line: string) => void;
}

export interface StackTimings {
  controlPlaneMs: number;
  extenderMs: number;
  schedulerMs: number;
  totalMs: number;
}

export interface Stack {
  cp: ControlPlane;
  ext: ExtenderApp;
  /** http://127.0.0.1:PORT */
  extenderUrl: string;
  provisioner: FakeProvisioner;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  storage: StorageV1Api;
  timings: StackTimings;
  /** Idempotent; never throws. */
  stop(): Promise<void>;
}

/** Starts control plane, extender, scheduler and provisioner; on any failure stops what started and rethrows. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const progress = opts.progress ?? (() => undefined);
  const t0 = Date.now();
  let cp: ControlPlane | undefined;
  let ext: ExtenderApp | undefined;
  let provisioner: FakeProvisioner | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const step = async (what: string, fn: () => Promise<void>) => {
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`stack stop: ${what} failed: ${(err as Error).message}\n`);
        }
      };
      if (cp) await step('kube-scheduler', () => (cp as ControlPlane).stopScheduler({ graceMs: 2000 }));
      if (ext) await step('extender', () => (ext as ExtenderApp).close());
      if (provisioner) await step('provisioner', () => (provisioner as FakeProvisioner).stop());
      if (cp) await step('control plane', () => (cp as ControlPlane).stop());
    })();
    return stopping;
  };
  try {
    cp = await startControlPlane({ k8sVersion: opts.k8sVersion });
    const controlPlaneMs = Date.now() - t0;
    progress(`etcd + kube-apiserver up in ${(controlPlaneMs / 1000).toFixed(1)} s (files in ${cp.dir}, etcd ${cp.etcdUrl})`);

    let t = Date.now();
    // The webhook first: pods created from here on get the scheduling mark, or (webhook down) fail or pass as documented.
    const webhook = await registerLocalWebhook(cp.kubeConfig);
    const cfg = loadExtenderConfig(['--host', '127.0.0.1', '--port', '0', ...webhook.extenderArgs, ...(opts.extenderArgs ?? [])], {});
    if (cfg.kind !== 'ok') throw new Error(`extender configuration invalid: ${cfg.errors.join('; ')}`);
    const logger = opts.extenderLogger ?? pino({ level: opts.extenderLogLevel ?? 'warn', base: { component: 'extender' } });
    ext = createExtenderApp(cfg.config, logger, { kubeConfig: opts.extenderKubeConfig ? await opts.extenderKubeConfig(cp) : cp.kubeConfig });
    const extenderUrl = await ext.listen();
    const app = ext;
    await waitFor(() => app.readiness().ready, 60_000, `extender readiness (${app.readiness().reason})`, 100);
    await waitForCaBundle(cp.kubeConfig);
    const extenderMs = Date.now() - t;
    progress(`extender listening on ${extenderUrl}, caches synced, webhook on ${app.webhook()?.address} in ${(extenderMs / 1000).toFixed(1)} s`);

    t = Date.now();
    await cp.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: new URL(extenderUrl).host });
    const schedulerMs = Date.now() - t;
    progress(`kube-scheduler up in ${(schedulerMs / 1000).toFixed(1)} s with ${repoRelative(SHIPPED_SCHEDULER_CONFIG)}`);

    provisioner = await startFakeProvisioner(cp.kubeConfig, { updateReports: opts.updateReports ?? true });
    const kubeConfig = cp.kubeConfig;
    return {
      cp,
      ext,
      extenderUrl,
      provisioner,
      kubeConfig,
      core: kubeConfig.makeApiClient(CoreV1Api),
      storage: kubeConfig.makeApiClient(StorageV1Api),
      timings: { controlPlaneMs, extenderMs, schedulerMs, totalMs: Date.now() - t0 },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
