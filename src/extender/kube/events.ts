// Kubernetes Events on gang member pods: why a gang waits, why it cannot be placed (on every member),
// when it is planned and bound (on its first member). Deduplicated (same pod, reason and message within `dedupMs`) and bounded so a
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

  /**
   * A gang's progress (planned, bound together) is told once, on its first member by name: kube-scheduler
   * already records Scheduled on every pod, and one Event per member was two API writes per pod per
   * gang. What makes a pod wait (too few members, no room, a failed barrier) goes on every member,
   * where `kubectl describe pod` shows it.
   */
  private recipients(e: GangEvent): readonly string[] {
    if (e.kind !== 'planned' && e.kind !== 'bound') return e.podUids;
    let first: { uid: string; name: string } | null = null;
    for (const uid of e.podUids) {
      const name = this.state.pods.get(uid)?.name;
      if (name !== undefined && (first === null || name < first.name)) first = { uid, name };
    }
    return first ? [first.uid] : [];
  }

  publish(events: readonly GangEvent[]): void {
    for (const e of events) {
      const { reason, type } = GANG_EVENTS[e.kind];
      for (const uid of this.recipients(e)) {
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
