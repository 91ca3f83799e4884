// `npm run demo` (src/cmd/demo.ts is its entry point): one command that shows what the extender does,
// on this machine, with real etcd + kube-apiserver + kube-scheduler (the shipped configuration), the
// extender in-process and a fake CSI provisioner, started by the launcher `npm run up` uses too
// (launcher.ts). It plays seed 002's two stories (demo-stories.ts).
// No kubelet runs, so "bound" means kube-scheduler (through the extender's bind) set spec.nodeName; a
// kubelet would then start the pod.

import type { Logger } from 'pino';
import { gangStory, heading, lvmStory, secs, type Out } from './demo-stories.js';
import { Launcher } from './launcher.js';
import { LVM_POD_NAME, TFJOB_NAME } from './seed002.js';

export interface DemoOptions {
  out: Out;
  /** The extender's logger (the entry point creates it). */
  extenderLogger: Logger;
}

export class Demo {
  private readonly launcher: Launcher;

  constructor(private readonly opts: DemoOptions) {
    this.launcher = new Launcher({ out: opts.out, extenderLogger: opts.extenderLogger, extenderArgs: ['--barrier-timeout-ms', '20000'] });
  }

  /** Builds (or finds) the control plane, starts the stack, tells both stories and the summary. */
  async run(): Promise<void> {
    const { out } = this.opts;
    const t0 = Date.now();
    heading(out, 'edge-gang demo: kube-scheduler extender for gang scheduling and local LVM capacity');
    const stack = await this.launcher.launch();

    const gang = await gangStory(stack, out);
    const lvm = await lvmStory(stack, out, this.launcher.agent);

    heading(out, 'Summary');
    out(`  Gang:  ${TFJOB_NAME} stayed all Pending on 4 GPUs ("${gang.reason.replace(/^gang \S+: /, '')}"),`);
    out(`         then all 5 bound together (within ${gang.spreadMs} ms) ${secs(gang.boundAfterMs)} after 4 more GPUs appeared:`);
    out(`         ${gang.placement.map((r) => `${r.name.replace(`${TFJOB_NAME}-`, '')}->${r.node}`).join(', ')}.`);
    out(`  LVM:   ${LVM_POD_NAME} landed on ${lvm.node}, the only edge worker whose VolumeGroup had room for 50Mi;`);
    for (const r of lvm.refused) out(`         ${r.node} refused: ${r.reason}`);
    out(`  Demo took ${secs(Date.now() - t0)}. Stopping everything ...`);
  }

  /** Stops build.sh and the node agent, and removes the demo's loop devices. */
  stopHelpers(): Promise<void> {
    return this.launcher.stopHelpers();
  }

  /** Stops the stack (scheduler, extender, provisioner, control plane); never throws. */
  stopCluster(): Promise<void> {
    return this.launcher.stopCluster();
  }
}
