// How the local cluster runs kube-scheduler: the options a caller gives and the patch applied to a
// KubeSchedulerConfiguration file so it talks to this loopback control plane.

import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEFAULT_SCHEDULER_NAME } from '../wire/keys.js';

export interface SchedulerOptions {
  /** A KubeSchedulerConfiguration YAML file. Only addresses are patched (see patchSchedulerConfig). */
  configPath: string;
  /** "host:port" substituted into every extenders[].urlPrefix (scheme and path are kept). */
  extenderAddress?: string;
  /**
   * Appends VolumeBinding args {bindTimeoutSeconds} to every profile's pluginConfig (unless the file
   * already configures VolumeBinding). Off by default: the shipped config stays as users deploy it.
   */
  volumeBindingTimeoutSeconds?: number;
  /** klog verbosity (-v). Default 2: one line per bound pod, enough to debug a test. */
  verbosity?: number;
  extraArgs?: string[];
  /**
   * Another kube-scheduler binary (e.g. one built with out-of-tree plugins by
   * test/controlplane/build-coscheduling.sh). Default: the one build.sh built.
   */
  binary?: string;
}

type YamlMap = Record<string, unknown>;

/**
 * Reads a KubeSchedulerConfiguration and patches only what a loopback test must change: the
 * kubeconfig, client QPS/burst (defaults 50/100 would cap binds), leader election (off: one
 * scheduler, no lease wait), extender host:port. Optionally appends VolumeBinding args.
 */
export function patchSchedulerConfig(text: string, kubeconfigPath: string, opts: SchedulerOptions): string {
  const cfg = parseYaml(text) as YamlMap | null;
  if (!cfg || cfg.kind !== 'KubeSchedulerConfiguration') {
    throw new Error(`${opts.configPath}: not a KubeSchedulerConfiguration (kind ${String(cfg?.kind)})`);
  }
  cfg.clientConnection = { ...((cfg.clientConnection as YamlMap | undefined) ?? {}), kubeconfig: kubeconfigPath, qps: 5000, burst: 5000 };
  cfg.leaderElection = { ...((cfg.leaderElection as YamlMap | undefined) ?? {}), leaderElect: false };
  if (opts.extenderAddress !== undefined && Array.isArray(cfg.extenders)) {
    for (const ext of cfg.extenders as YamlMap[]) {
      if (typeof ext.urlPrefix !== 'string') continue;
      const u = new URL(ext.urlPrefix);
      u.host = opts.extenderAddress;
      ext.urlPrefix = u.toString();
    }
  }
  if (opts.volumeBindingTimeoutSeconds !== undefined) {
    const profiles = (Array.isArray(cfg.profiles) && cfg.profiles.length > 0 ? cfg.profiles : [{ schedulerName: DEFAULT_SCHEDULER_NAME }]) as YamlMap[];
    for (const p of profiles) {
      const pc = (Array.isArray(p.pluginConfig) ? p.pluginConfig : []) as YamlMap[];
      if (!pc.some((x) => x.name === 'VolumeBinding')) {
        pc.push({ name: 'VolumeBinding', args: { bindTimeoutSeconds: opts.volumeBindingTimeoutSeconds } });
      }
      p.pluginConfig = pc;
    }
    cfg.profiles = profiles;
  }
  return stringifyYaml(cfg);
}
