// Asks kube-scheduler to try gang members again: a merge patch of one annotation on each pod. A pod
// we refused sits in the scheduler's unschedulable pool until a cluster event moves it; an extender
// has no queueing hints of its own, so kube-scheduler requeues an extender-rejected pod on any
// event, its own update included (kubernetes/kubernetes#122019; scheduler/framework/runtime:
// defaultEnqueueExtension). Used only for members refused before a plan that now includes them.

import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PodRef } from '../../core/gang/planner.js';
import { ANNOTATION_REQUEUED_AT } from '../../wire/keys.js';
import type { Requeuer } from '../ports.js';

/** Patches in flight above this are shed: the member then waits for the next cluster event, as before. */
const MAX_INFLIGHT = 100;

export class PodRequeuer implements Requeuer {
  private readonly api: CoreV1Api;
  private inflight = 0;

  constructor(kc: KubeConfig, private readonly logger: Logger, private readonly onDone: (result: 'patched' | 'failed' | 'shed') => void = () => undefined) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  requeue(pods: readonly PodRef[]): void {
    const at = new Date().toISOString();
    for (const p of pods) {
      if (this.inflight >= MAX_INFLIGHT) {
        this.onDone('shed');
        continue;
      }
      this.inflight++;
      // The uid in the patch is a precondition: a pod re-created under the same name is left alone.
      this.api.patchNamespacedPod(
        { name: p.name, namespace: p.namespace, body: { metadata: { uid: p.uid, annotations: { [ANNOTATION_REQUEUED_AT]: at } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ).then(() => this.onDone('patched'), (err: unknown) => {
        this.onDone('failed');
        this.logger.debug({ pod: `${p.namespace}/${p.name}`, err: (err as Error).message }, 'gang member not requeued');
      }).finally(() => { this.inflight--; });
    }
  }
}
