// The local cluster's real node agent: node-resource-manager for edge-0 on three loop devices, when the
// demo or `npm run up` runs as root with lvm2. The VG name is unique per run, so nothing on the host is touched.

import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LoopLab, requireRootAndTools, seedConfigMap } from './loop-lab.js';
import { NODE_RESOURCE_MANAGER_ENTRY, REPO_ROOT } from './paths.js';
import type { Stack } from './stack.js';

export class DemoAgent {
  private lab: LoopLab | undefined;
  private child: ChildProcess | undefined;
  /** Why the agent does not run (when start() returned null). */
  skipReason = '';
  /** The VG and loop devices of the running agent (for `npm run up`'s session file). */
  info: { vgName: string; devices: string[]; labDir: string } | undefined;

  /** True once start() has started the agent. */
  get started(): boolean {
    return this.child !== undefined;
  }

  /** The agent's PID while it runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Builds the loop devices and the seed's ConfigMap, starts the agent; null (and skipReason) without root or lvm2. */
  async start(s: Stack): Promise<{ vgName: string; devices: string[] } | null> {
    try {
      requireRootAndTools();
    } catch (err) {
      this.skipReason = (err as Error).message.split('\n')[1]?.replace(/^\s*- /, '') ?? 'not root';
      return null;
    }
    const lab = new LoopLab();
    this.lab = lab;
    await lab.start();
    lab.assertReady();
    const vgName = lab.vg('volumegroup1');
    const devices = ['sdb1', 'sdb2', 'sdc'].map((n) => lab.loop(n, { sizeMiB: 256 }));
    const cm = parseYaml(seedConfigMap(vgName, devices)) as Record<string, unknown>;
    await s.core.createNamespacedConfigMap({ namespace: 'kube-system', body: cm });
    this.child = spawn(process.execPath, [
      '--import', 'tsx', NODE_RESOURCE_MANAGER_ENTRY,
      '--kubeconfig', s.cp.kubeconfigPath, '--node-name', 'edge-0', '--state-dir', resolve(lab.dir, 'state'),
      '--metrics-port', '0', '--resync-interval-ms', '5000', '--heartbeat-interval-ms', '30000', '--log-level', 'error',
    ], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    this.info = { vgName, devices, labDir: lab.dir };
    return { vgName, devices };
  }

  /** Stops the agent (SIGTERM, up to 5 s) and removes the demo's own loop devices and VG (never anything else). */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
    }
    await this.lab?.tearDown().catch((err: Error) => process.stderr.write(`demo cleanup: ${err.message}\n`));
  }
}
