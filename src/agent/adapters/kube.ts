// node-resource-manager's side of the API server: watch the topology ConfigMap and this node's Node object,
// publish the capacity report as a merge patch on the Node, record Events on the Node. It can be pointed at any
// kubeconfig (the shared harness's, a real cluster's) and never exits on API errors: it retries, and tells the
// agent when the server answers again (edge autonomy, issue 5).

import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions, type CoreV1Event, type V1ConfigMap, type V1Node } from '@kubernetes/client-node';
import type { AgentLog, PublisherPort } from '../agent.js';
import type { NodeLabels } from '../desired.js';
import type { AgentEvent } from '../pass.js';
import type { CapacityReport } from '../../wire/capacity.js';
import { ANNOTATION_VG_CAPACITY, NRM_COMPONENT, TOPO_CONFIGMAP_KEY } from '../../wire/keys.js';

export interface NrmKubeOptions {
  readonly nodeName: string;
  readonly configMapNamespace: string;
  readonly configMapName: string;
  /** Server-side watch timeout; the object is re-listed after it. */
  readonly watchTimeoutSeconds: number;
  /** Time limit of each call that publishes (a black-holed API server must not stall reconciling). */
  readonly requestTimeoutMs: number;
  /** First retry delay after an error; doubles up to maxRetryDelayMs. */
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
}

/** Loads a kubeconfig: the given file, else in-cluster, else ~/.kube/config (the client's default order). */
export function loadNrmKubeConfig(path: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (path !== null) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** Kubernetes Event messages are limited to 1 KiB. */
const MAX_EVENT_MESSAGE = 1024;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface SingleObjectWatch<T> {
  readonly what: string;
  readonly path: string;
  readonly fieldSelector: string;
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  onState(obj: T | null): void;
}

export class NrmKube implements PublisherPort {
  private readonly core: CoreV1Api;
  private readonly watch: Watch;
  private stopped = false;
  private readonly aborts = new Set<AbortController>();
  private readonly sleeps = new Set<() => void>();

  constructor(
    kc: KubeConfig,
    private readonly options: NrmKubeOptions,
    private readonly log: AgentLog,
    /** Called whenever a list succeeds: the API server is reachable. */
    private readonly onReachable: () => void = () => {},
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.watch = new Watch(kc);
  }

  async publishCapacity(report: CapacityReport): Promise<void> {
    const body = { metadata: { annotations: { [ANNOTATION_VG_CAPACITY]: JSON.stringify(report) } } };
    await withTimeout(
      this.core.patchNode({ name: this.options.nodeName, body, fieldManager: NRM_COMPONENT }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      this.options.requestTimeoutMs,
      'patching the Node',
    );
    this.answered();
  }

  async recordEvent(event: AgentEvent): Promise<void> {
    const node = this.options.nodeName;
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${node}.`, namespace: 'default' },
      // kubectl describe node finds Node events by a uid equal to the node's name (as the kubelet records them).
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, uid: node },
      type: event.type,
      reason: event.reason,
      message: event.message.length > MAX_EVENT_MESSAGE ? `${event.message.slice(0, MAX_EVENT_MESSAGE - 3)}...` : event.message,
      source: { component: NRM_COMPONENT, host: node },
      reportingComponent: NRM_COMPONENT,
      reportingInstance: node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await withTimeout(this.core.createNamespacedEvent({ namespace: 'default', body }), this.options.requestTimeoutMs, 'recording an Event');
    this.answered();
  }

  /**
   * A publishing call got through: watches waiting out a retry delay (up to maxRetryDelayMs after a long outage)
   * list again now, so changes made right after the API server's return are not missed for that long.
   */
  private answered(): void {
    for (const wake of [...this.sleeps]) wake();
  }

  /** Watches the topology ConfigMap; `onText` gets data.volumegroup, or null when the ConfigMap or key is absent. */
  watchConfigMap(onText: (text: string | null) => void): void {
    const { configMapNamespace: namespace, configMapName: name } = this.options;
    const fieldSelector = `metadata.name=${name}`;
    void this.loop<V1ConfigMap>({
      what: `ConfigMap ${namespace}/${name}`,
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
      fieldSelector,
      list: () => this.core.listNamespacedConfigMap({ namespace, fieldSelector }),
      onState: (cm) => {
        const text = cm?.data?.[TOPO_CONFIGMAP_KEY];
        onText(typeof text === 'string' ? text : null);
      },
    });
  }

  /** Watches this node's Node object; `onLabels` gets its labels. */
  watchNode(onLabels: (labels: NodeLabels) => void): void {
    const fieldSelector = `metadata.name=${this.options.nodeName}`;
    void this.loop<V1Node>({
      what: `Node ${this.options.nodeName}`,
      path: '/api/v1/nodes',
      fieldSelector,
      list: () => this.core.listNode({ fieldSelector }),
      onState: (node) => {
        if (node === null) {
          this.log.warn({ node: this.options.nodeName }, 'Node object not found; keeping the labels in force');
          return;
        }
        onLabels({ ...(node.metadata?.labels ?? {}) });
      },
    });
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    for (const wake of this.sleeps) wake();
    this.sleeps.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeps.add(wake);
    });
  }

  /** List, then watch from the list's resourceVersion; on any error back off and start again. */
  private async loop<T extends { metadata?: { resourceVersion?: string } }>(w: SingleObjectWatch<T>): Promise<void> {
    let delay = this.options.retryDelayMs;
    let failing = false;
    while (!this.stopped) {
      try {
        const list = await withTimeout(w.list(), this.options.requestTimeoutMs, `listing ${w.what}`);
        if (failing) this.log.info({ what: w.what }, 'watch re-established');
        failing = false;
        delay = this.options.retryDelayMs;
        this.onReachable();
        w.onState(list.items[0] ?? null);
        await this.watchUntilDone(w, list.metadata?.resourceVersion);
      } catch (err) {
        if (this.stopped) return;
        if (!failing) this.log.warn({ err: (err as Error).message, what: w.what }, 'watch failed; retrying');
        failing = true;
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.options.maxRetryDelayMs);
      }
    }
  }

  private watchUntilDone<T>(w: SingleObjectWatch<T>, resourceVersion: string | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let controller: AbortController | null = null;
      const finish = (err: unknown): void => {
        if (controller !== null) this.aborts.delete(controller);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve();
      };
      this.watch
        .watch(
          w.path,
          { fieldSelector: w.fieldSelector, resourceVersion, timeoutSeconds: this.options.watchTimeoutSeconds, allowWatchBookmarks: true },
          (type: string, obj: unknown) => {
            if (type === 'ADDED' || type === 'MODIFIED') w.onState(obj as T);
            else if (type === 'DELETED') w.onState(null);
            else if (type === 'ERROR') {
              // e.g. 410 Gone: the resourceVersion is too old. Ending the watch makes the loop list again.
              controller?.abort();
            }
          },
          (err: unknown) => finish(err && !this.stopped ? err : null),
        )
        .then((c) => {
          controller = c;
          if (this.stopped) c.abort();
          else this.aborts.add(c);
        }, (err: unknown) => finish(err));
    });
  }
}
