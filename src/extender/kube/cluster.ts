// Live cluster state: reflectors for Nodes, Pods, PVCs, PVs and StorageClasses feeding the core's
// ClusterState, the PodGroup dialect (podgroups.ts: PodGroups when the API serves them), a readiness
// verdict, and the binder that creates pods/binding.

import { CoreV1Api, StorageV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterState } from '../../core/state.js';
import { toNode, toPod, toPv, toPvc, toStorageClass } from '../convert.js';
import { Reflector, type ListPage, type Sink } from './reflector.js';
import type { Binder, Readiness } from '../ports.js';
import { createBinder, createPodClient, type PodClient } from './binding.js';
import { startPodGroupDialect, type PodGroupDialectOptions } from './podgroups.js';

type Obj = { metadata?: { name?: string; namespace?: string; uid?: string } };

function keyedSink<M>(convert: (o: unknown) => M | null, keyOf: (m: M) => string, rawKey: (o: Obj) => string, set: (m: M) => void, del: (key: string) => void): Sink {
  const known = new Set<string>();
  return {
    replace(items) {
      const seen = new Set<string>();
      for (const it of items) {
        const m = convert(it);
        if (!m) continue;
        const k = keyOf(m);
        seen.add(k);
        known.add(k);
        set(m);
      }
      for (const k of [...known]) {
        if (!seen.has(k)) {
          known.delete(k);
          del(k);
        }
      }
    },
    upsert(o) {
      const m = convert(o);
      if (!m) return;
      known.add(keyOf(m));
      set(m);
    },
    remove(o) {
      const k = rawKey(o as Obj);
      known.delete(k);
      del(k);
    },
  };
}

const page = (p: Promise<unknown>): Promise<ListPage> => p as Promise<ListPage>;

export interface LiveCluster {
  readiness(): Readiness;
  binder: Binder;
  /** The kept-alive client the binder uses; the gate remover patches pods through it too. */
  pods: PodClient;
  stop(): void;
}

export function startLiveCluster(kc: KubeConfig, state: ClusterState, logger: Logger, bindingTimeoutMs: number, podGroups: PodGroupDialectOptions): LiveCluster {
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const nsKey = (o: Obj) => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
  const reflectors = [
    new Reflector(kc, {
      name: 'nodes', path: '/api/v1/nodes', logger,
      list: ({ limit, continueToken }) => page(core.listNode({ limit, ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: keyedSink(toNode, (n) => n.name, (o) => o.metadata?.name ?? '', (n) => state.setNode(n), (k) => state.deleteNode(k)),
    }),
    new Reflector(kc, {
      // Finished pods hold nothing; leaving them out keeps memory bounded by live pods.
      name: 'pods', path: '/api/v1/pods', logger, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
      list: ({ limit, continueToken }) => page(core.listPodForAllNamespaces({ limit, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: keyedSink(toPod, (p) => p.uid, (o) => o.metadata?.uid ?? '', (p) => state.setPod(p), (k) => state.deletePod(k)),
    }),
    new Reflector(kc, {
      name: 'pvcs', path: '/api/v1/persistentvolumeclaims', logger,
      list: ({ limit, continueToken }) => page(core.listPersistentVolumeClaimForAllNamespaces({ limit, ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: keyedSink(toPvc, (c) => `${c.namespace}/${c.name}`, nsKey, (c) => state.setPvc(c), (k) => {
        const [ns, name] = k.split('/') as [string, string];
        state.deletePvc(ns, name);
      }),
    }),
    new Reflector(kc, {
      name: 'pvs', path: '/api/v1/persistentvolumes', logger,
      list: ({ limit, continueToken }) => page(core.listPersistentVolume({ limit, ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: keyedSink(toPv, (v) => v.name, (o) => o.metadata?.name ?? '', (v) => state.setPv(v), (k) => state.deletePv(k)),
    }),
    new Reflector(kc, {
      name: 'storageclasses', path: '/apis/storage.k8s.io/v1/storageclasses', logger,
      list: ({ limit, continueToken }) => page(storage.listStorageClass({ limit, ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: keyedSink(toStorageClass, (s) => s.name, (o) => o.metadata?.name ?? '', (s) => state.setStorageClass(s), (k) => state.deleteStorageClass(k)),
    }),
  ];
  for (const r of reflectors) r.start();
  const dialect = startPodGroupDialect(kc, state, logger, podGroups);

  const bindings = createPodClient(kc);
  const binder = createBinder(bindings, bindingTimeoutMs);

  return {
    readiness() {
      const notSynced = reflectors.filter((r) => !r.synced).map((r) => r.name);
      if (notSynced.length) return { ready: false, reason: `caches not synced: ${notSynced.join(', ')}` };
      const unhealthy = reflectors.filter((r) => !r.healthy);
      if (unhealthy.length) return { ready: false, reason: `caches stale: ${unhealthy.map((r) => r.lastError || 'watch down').join('; ')}` };
      const d = dialect.readiness();
      return d.ready ? { ready: true, reason: `caches synced; ${d.detail}` } : { ready: false, reason: d.detail };
    },
    binder,
    pods: bindings,
    stop() {
      dialect.stop();
      for (const r of reflectors) r.stop();
      bindings.close();
    },
  };
}
