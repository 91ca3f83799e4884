// Kubernetes Events on gang member pods: why a gang waits, why it cannot be placed, when it is
// planned and bound. Deduplicated (same pod, reason and message within `dedupMs`) and bounded so a
// pending gang retried by the scheduler does not flood the API server.

import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import type { GangEvent } from '../../core/gang/planner.js';
import type { ClusterState } from '../../core/state.js';
import { GANG_EVENTS } from '../../wire/keys.js';
import type { EventSink } from '../ports.js';

export class GangEventRecorder implements EventSink {
  private readonly api: CoreV1Api;
  /** A cache, not the truth: forgetting an entry only means one repeated Event. */
  private readonly recent = new LRUCache<string, true>({ max: 20_000, ttl: 60_000 });
  private inflight = 0;

  constructor(kc: KubeConfig, private readonly state: ClusterState, private readonly logger: Logger, private readonly component = 'edge-gang-extender') {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  publish(events: readonly GangEvent[]): void {
    for (const e of events) {
      const { reason, type } = GANG_EVENTS[e.kind];
      for (const uid of e.podUids) {
        const pod = this.state.pods.get(uid);
        if (!pod) continue;
        const k = `${uid}|${reason}|${e.reason}`;
        if (this.recent.has(k)) continue;
        this.recent.set(k, true);
        if (this.inflight > 200) continue; // shed under pressure; the pod's FailedScheduling event carries the reason too
        this.inflight++;
        const now = new Date();
        this.api.createNamespacedEvent({
          namespace: pod.namespace,
          body: {
            metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
            involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, uid: pod.uid },
            reason, message: e.reason.slice(0, 1024), type,
            source: { component: this.component },
            firstTimestamp: now, lastTimestamp: now, count: 1,
            reportingComponent: this.component, reportingInstance: this.component,
          },
        }).catch((err: unknown) => this.logger.debug({ err: (err as Error).message }, 'event not recorded'))
          .finally(() => { this.inflight--; });
      }
    }
  }
}
