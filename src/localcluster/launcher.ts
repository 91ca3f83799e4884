// The one launcher of the embedded local cluster, shared by `npm run demo` (demo.ts) and `npm run up`
// (up.ts): build (or find in the cache) etcd, kube-apiserver and kube-scheduler with build.sh, then
// start the stack (stack.ts: control plane, extender in-process, kube-scheduler with the shipped
// configuration, the stand-in CSI provisioner). The end-to-end tests call startStack directly.
// It also owns the node agent on loop devices (demo-agent.ts), so one stop() path removes them.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { DemoAgent } from './demo-agent.js';
import { heading, secs, type Out } from './demo-stories.js';
import { BUILD_SCRIPT, REPO_ROOT, repoRelative } from './paths.js';
import { startStack, type Stack } from './stack.js';

export interface LaunchOptions {
  out: Out;
  /** The extender's logger (the entry point creates it). */
  extenderLogger: Logger;
  /** Extra extender flags. */
  extenderArgs?: string[];
}

export class Launcher {
  stack: Stack | undefined;
  /** node-resource-manager on loop devices (as root with lvm2); started by the caller when it wants one. */
  readonly agent = new DemoAgent();
  private buildChild: ChildProcess | undefined;
  private stopped = false;

  constructor(private readonly opts: LaunchOptions) {}

  /** Builds (or finds) the binaries, then starts the stack, printing progress. */
  async launch(): Promise<Stack> {
    const { out } = this.opts;
    await this.buildControlPlane();
    if (this.stopped) throw new Error('stopped while building the control plane');
    heading(out, 'Starting the cluster on this machine');
    const stack = await startStack({
      extenderArgs: this.opts.extenderArgs ?? [],
      extenderLogger: this.opts.extenderLogger,
      progress: (l) => out(`  ${l}`),
    });
    if (this.stopped) {
      await stack.stop();
      throw new Error('stopped while starting the cluster');
    }
    this.stack = stack;
    out('  fake CSI provisioner running (stands in for csi-local-plugin: creates a PV on the node kube-scheduler picked)');
    return this.stack;
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

  /** Stops build.sh and the node agent, and removes the loop devices. */
  async stopHelpers(): Promise<void> {
    this.stopped = true;
    this.buildChild?.kill('SIGTERM');
    await this.agent.stop();
  }

  /** Stops the stack (scheduler, extender, provisioner, control plane); never throws. */
  async stopCluster(): Promise<void> {
    this.stopped = true;
    const s = this.stack;
    this.stack = undefined;
    if (s) await s.stop();
  }
}
