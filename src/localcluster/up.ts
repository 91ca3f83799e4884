// `npm run up` (src/cmd/up.ts is its entry point): the embedded local cluster, kept running in the
// foreground until Ctrl-C or `npm run down`. The same launcher as the demo (launcher.ts), and the
// demo's nodes (demo-stories.ts): gpu-0..gpu-3 with 2 GPUs each, and the edge workers edge-0 (as root
// with lvm2: node-resource-manager on loop devices; otherwise a simulated report), edge-1 (no such
// VG) and edge-2 (20Mi free), plus StorageClass csi-local-lvm; examples/local-cluster-*.yaml fit them.
// The kubeconfig goes to a stable path and the session file (session.ts) records what runs.

import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_LOCAL_STORAGE_CLASS } from '../wire/keys.js';
import { makeLocalStorageClass } from './builders.js';
import { kubeconfigYaml } from './credentials.js';
import { createEdgeWorkers, gpuNode, heading, secs, waitForAgentReport, type Out } from './demo-stories.js';
import { Launcher } from './launcher.js';
import { createNodes, ensureStorageClass } from './objects.js';
import { claimSession, cmdlineOf, removeOwnSession, sessionPaths, writeSession, type Session, type SessionPaths, type SessionProcess } from './session.js';
import type { Stack } from './stack.js';

export interface UpOptions {
  out: Out;
  /** The extender's logger (the entry point creates it). */
  extenderLogger: Logger;
  paths?: SessionPaths;
}

/** The examples `up` prints, with what each shows. */
export const UP_EXAMPLES = [
  { file: 'examples/local-cluster-gang.yaml', what: "seed 5.3.1's TFJob as 5 pods, one gang: all bound together" },
  { file: 'examples/local-cluster-lvm.yaml', what: "seed 8.3's lvm-pvc-test claim + local-test pod: lands on edge-0" },
];

const hasKubectl = () => spawnSync('sh', ['-c', 'command -v kubectl'], { stdio: 'ignore' }).status === 0;

function processName(cmdline: string): string {
  if (cmdline.includes('gang-cp-reaper')) return 'reaper';
  if (cmdline.includes('node-resource-manager')) return 'node-resource-manager';
  return basename(cmdline.split(' ')[0] ?? '?');
}

export class Up {
  private readonly launcher: Launcher;
  private readonly paths: SessionPaths;
  private claimed = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: UpOptions) {
    this.paths = opts.paths ?? sessionPaths();
    this.launcher = new Launcher({ out: opts.out, extenderLogger: opts.extenderLogger });
  }

  /** Starts everything and prints how to use it; 'refused' when another `up` runs. */
  async start(): Promise<'ready' | 'refused'> {
    const { out } = this.opts;
    const t0 = Date.now();
    const claim = await claimSession(this.paths, (l) => out(l));
    if (claim.kind === 'running') {
      const s = claim.session;
      process.stderr.write(`up: a local cluster is already running (pid ${s.pid}, since ${s.startedAt}${s.kubeconfig ? `, kubeconfig ${s.kubeconfig}` : ''}).\n`);
      process.stderr.write('up: stop it with Ctrl-C in its terminal, or `npm run down`, then run `npm run up` again.\n');
      return 'refused';
    }
    this.claimed = true;
    heading(out, 'edge-gang local cluster (npm run up)');
    const stack = await this.launcher.launch();
    const agent = await this.createObjects(stack);
    writeFileSync(this.paths.kubeconfig, kubeconfigYaml(stack.cp.apiUrl, 'admin', stack.cp.tokens.get('admin') ?? ''), { mode: 0o600 });
    writeSession(this.paths, this.session(claim.session, stack));
    this.printUsage(stack, agent, Date.now() - t0);
    return 'ready';
  }

  /** The demo's nodes (all four GPU nodes at once) and the StorageClass; as root, the node agent on loop devices. */
  private async createObjects(s: Stack): Promise<string> {
    const { out } = this.opts;
    await createNodes(s.core, ['gpu-0', 'gpu-1', 'gpu-2', 'gpu-3'].map(gpuNode));
    const { vgName, real } = await createEdgeWorkers(s, this.launcher.agent);
    await ensureStorageClass(s.storage, makeLocalStorageClass(DEFAULT_LOCAL_STORAGE_CLASS, vgName));
    if (!real) {
      const why = typeof process.getuid === 'function' && process.getuid() !== 0 ? 'not running as root' : this.launcher.agent.skipReason;
      out(`  node-resource-manager not started (${why}): edge-0's capacity report is simulated (10Gi ${vgName}).`);
      out('  Run `npm run up` as root with lvm2 to have it build a real VolumeGroup on loop devices.');
      return `simulated report, ${vgName} 10Gi`;
    }
    out(`  node-resource-manager (pid ${this.launcher.agent.pid}) for edge-0 on loop devices ${real.devices.join(', ')} ...`);
    await waitForAgentReport(s.core, vgName);
    out(`  it built VolumeGroup ${vgName} and published edge-0's report.`);
    return `node-resource-manager on ${real.devices.join(', ')}, VG ${vgName}`;
  }

  private session(base: Session, s: Stack): Session {
    const pids = [...s.cp.pids(), ...(this.launcher.agent.pid !== undefined ? [this.launcher.agent.pid] : [])];
    const processes: SessionProcess[] = [];
    for (const pid of pids) {
      const cmdline = cmdlineOf(pid) ?? '';
      processes.push({ name: processName(cmdline), pid, cmdline });
    }
    const etcdData = /--data-dir=(\S+)/.exec(processes.find((p) => p.name === 'etcd')?.cmdline ?? '')?.[1];
    const info = this.launcher.agent.info;
    return {
      ...base,
      state: 'ready',
      kubeconfig: this.paths.kubeconfig,
      apiUrl: s.cp.apiUrl,
      extenderUrl: s.extenderUrl,
      processes,
      loopDevices: info?.devices ?? [],
      ...(info ? { loopDir: info.labDir, vgName: info.vgName } : {}),
      dirs: [s.cp.dir, ...(etcdData && etcdData.startsWith('/dev/shm/') ? [etcdData] : [])],
    };
  }

  private printUsage(s: Stack, edge0: string, ms: number): void {
    const { out } = this.opts;
    heading(out, `Local cluster up in ${secs(ms)}`);
    out(`  kube-apiserver ${s.cp.apiUrl}, extender ${s.extenderUrl}, kube-scheduler with the shipped configuration.`);
    out('  Nodes: gpu-0..gpu-3 (2 nvidia.com/gpu each, 8 in all),');
    out(`         edge-0 (${edge0}), edge-1 (only VG vg-ssd), edge-2 (20Mi free),`);
    out('         edge-* labelled alibabacloud.com/is-edge-worker=true and alibabacloud.com/edge-enable-localstorage=true.');
    out('  No kubelet runs: a pod is "bound" once spec.nodeName is set; delete pods with --grace-period=0 --force.');
    out();
    out(`  export KUBECONFIG=${this.paths.kubeconfig}`);
    for (const e of UP_EXAMPLES) out(`  kubectl apply -f ${e.file}    # ${e.what}`);
    out('  kubectl get pods -o wide');
    if (!hasKubectl()) {
      out('  (kubectl is needed for these and is not on PATH: install it, https://kubernetes.io/docs/tasks/tools/;');
      out('   this repository has no apply command of its own.)');
    }
    out();
    out('  Ctrl-C here, or `npm run down` in another terminal, stops everything (and removes the loop devices).');
    out(`ready: kubeconfig ${this.paths.kubeconfig} (API ${s.cp.apiUrl}, up pid ${process.pid})`);
  }

  /** Stops the node agent and loop devices, then the cluster; removes the kubeconfig and the session file. Never throws. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.launcher.stopHelpers();
      await this.launcher.stopCluster();
      if (!this.claimed) return;
      rmSync(this.paths.kubeconfig, { force: true });
      removeOwnSession(this.paths);
    })();
    return this.stopping;
  }
}
