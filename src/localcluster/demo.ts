// `npm run demo` (src/cmd/demo.ts is its entry point): one command that shows what the extender does,
// on this machine, with real etcd + kube-apiserver + kube-scheduler (the shipped configuration), the
// extender in-process and a fake CSI provisioner. It plays seed 002's two stories (demo-stories.ts).
// No kubelet runs, so "bound" means kube-scheduler (through the extender's bind) set spec.nodeName; a
// kubelet would then start the pod.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { DemoAgent } from './demo-agent.js';
import { gangStory, heading, lvmStory, secs, type Out } from './demo-stories.js';
import { BUILD_SCRIPT, REPO_ROOT, repoRelative } from './paths.js';
import { LVM_POD_NAME, TFJOB_NAME } from './seed002.js';
import { startStack, type Stack } from './stack.js';

export interface DemoOptions {
  out: Out;
  /** The extender's logger (the entry point creates it). */
  extenderLogger: Logger;
}

export class Demo {
  private stack: Stack | undefined;
  private buildChild: ChildProcess | undefined;
  private readonly agent = new DemoAgent();

  constructor(private readonly opts: DemoOptions) {}

  /** Builds (or finds) the control plane, starts the stack, tells both stories and the summary. */
  async run(): Promise<void> {
    const { out } = this.opts;
    const t0 = Date.now();
    heading(out, 'edge-gang demo: kube-scheduler extender for gang scheduling and local LVM capacity');
    await this.buildControlPlane();

    heading(out, 'Starting the cluster on this machine');
    this.stack = await startStack({
      extenderArgs: ['--barrier-timeout-ms', '20000'],
      extenderLogger: this.opts.extenderLogger,
      progress: (l) => out(`  ${l}`),
    });
    out('  fake CSI provisioner running (stands in for csi-local-plugin: creates a PV on the node kube-scheduler picked)');

    const gang = await gangStory(this.stack, out);
    const lvm = await lvmStory(this.stack, out, this.agent);

    heading(out, 'Summary');
    out(`  Gang:  ${TFJOB_NAME} stayed all Pending on 4 GPUs ("${gang.reason.replace(/^gang \S+: /, '')}"),`);
    out(`         then all 5 bound together (within ${gang.spreadMs} ms) ${secs(gang.boundAfterMs)} after 4 more GPUs appeared:`);
    out(`         ${gang.placement.map((r) => `${r.name.replace(`${TFJOB_NAME}-`, '')}->${r.node}`).join(', ')}.`);
    out(`  LVM:   ${LVM_POD_NAME} landed on ${lvm.node}, the only edge worker whose VolumeGroup had room for 50Mi;`);
    for (const r of lvm.refused) out(`         ${r.node} refused: ${r.reason}`);
    out(`  Demo took ${secs(Date.now() - t0)}. Stopping everything ...`);
  }

  /** Runs build.sh with its progress on stderr; returns the binaries directory. */
  private async buildControlPlane(): Promise<string> {
    const { out } = this.opts;
    out(`Checking the control plane binaries (${repoRelative(BUILD_SCRIPT)}).`);
    out('  If they are not cached yet, this compiles etcd, kube-apiserver and kube-scheduler from source with Go:');
    out('  the first build takes about 4-5 minutes; later runs reuse ~/.cache/gang-lvm-scheduler.');
    const t = Date.now();
    const dir = await new Promise<string>((res, rej) => {
      const child = spawn('bash', [BUILD_SCRIPT], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      this.buildChild = child;
      let stdout = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => (stdout += c));
      child.on('error', (err) => rej(new Error(`cannot run ${BUILD_SCRIPT}: ${err.message}`)));
      child.on('exit', (code, signal) => {
        this.buildChild = undefined;
        if (code === 0) res(stdout.trim().split('\n').pop() ?? '');
        else rej(new Error(`${BUILD_SCRIPT} failed (${signal ?? `exit code ${code}`}); it needs Go >= 1.24 and the Go module proxy. See its output above.`));
      });
    });
    out(`  binaries ready in ${secs(Date.now() - t)}: ${dir}`);
    return dir;
  }

  /** Stops build.sh and the node agent, and removes the demo's loop devices. */
  async stopHelpers(): Promise<void> {
    this.buildChild?.kill('SIGTERM');
    await this.agent.stop();
  }

  /** Stops the stack (scheduler, extender, provisioner, control plane); never throws. */
  async stopCluster(): Promise<void> {
    const s = this.stack;
    this.stack = undefined;
    if (s) await s.stop();
  }
}
