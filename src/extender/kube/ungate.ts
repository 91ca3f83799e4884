// Removes the gang gate (wire/keys.ts SCHEDULING_GATE_GANG) from a gang's members: a strategic
// merge patch that deletes that one entry of spec.schedulingGates by its name (the list merges on
// name), leaving any other gate alone. Gangs go one at a time, each gang's members together, so they
// enter kube-scheduler's queue back to back.

import type { Logger } from 'pino';
import type { PodRef } from '../../core/gang/planner.js';
import { SCHEDULING_GATE_GANG } from '../../wire/keys.js';
import type { Ungater } from '../ports.js';
import type { PodClient } from './binding.js';

/** A gate removal not answered in this long counts as failed (the planner sends it again). */
const PATCH_TIMEOUT_MS = 10_000;

export class GateRemover implements Ungater {
  private readonly queue: PodRef[][] = [];
  private running = false;

  /** `api`: the live cluster's kept-alive pod client (binding.ts), shared with the binder and closed with it. */
  constructor(private readonly api: PodClient, private readonly logger: Logger, private readonly onDone: (result: 'removed' | 'failed') => void = () => undefined) {}

  ungate(batches: readonly PodRef[][]): void {
    this.queue.push(...batches);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let batch = this.queue.shift(); batch; batch = this.queue.shift()) await Promise.all(batch.map((p) => this.one(p)));
    } finally {
      this.running = false;
    }
  }

  private async one(p: PodRef): Promise<void> {
    try {
      // The uid is a precondition: a pod re-created under the same name is left alone.
      const res = await this.api.patchPod(p.namespace, p.name, { metadata: { uid: p.uid }, spec: { schedulingGates: [{ name: SCHEDULING_GATE_GANG, $patch: 'delete' }] } }, PATCH_TIMEOUT_MS);
      if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
      this.onDone('removed');
    } catch (err) {
      // Not seen removed by our watch: the planner sends it again after a few seconds.
      this.onDone('failed');
      this.logger.warn({ pod: `${p.namespace}/${p.name}`, err: (err as Error).message }, 'quorum gate not removed');
    }
  }
}
