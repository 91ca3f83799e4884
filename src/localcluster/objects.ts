// Creating, listing and waiting for API objects in the local cluster. The objects come from the
// builders (builders.ts); a builder is sent as its manifest(), without the fields the server owns.

import {
  ApiException,
  type CoreV1Api,
  type StorageV1Api,
  type V1Node,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { NodeBuilder, PodBuilder, PvcBuilder, makeLocalStorageClass } from './builders.js';

export const isNotFound = (err: unknown) => err instanceof ApiException && err.code === 404;
export const isConflict = (err: unknown) => err instanceof ApiException && err.code === 409;

/** Runs `fn` over `items` with at most `concurrency` in flight; results keep input order. */
export async function inBatches<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

// --- nodes -------------------------------------------------------------------------------------------

/** Creates Nodes (status included: a create keeps it) with `concurrency` requests in flight. */
/** Creates the namespace unless it exists. */
export async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

export async function createNodes(core: CoreV1Api, nodes: (V1Node | NodeBuilder)[], concurrency = 50): Promise<V1Node[]> {
  return inBatches(nodes, concurrency, (n) => core.createNode({ body: n instanceof NodeBuilder ? n.manifest() : n }));
}

// --- pods ----------------------------------------------------------------------------------------------

export async function createPods(core: CoreV1Api, pods: (V1Pod | PodBuilder)[], concurrency = 50): Promise<V1Pod[]> {
  return inBatches(pods, concurrency, (p) => {
    const body = p instanceof PodBuilder ? p.manifest() : p;
    return core.createNamespacedPod({ namespace: body.metadata?.namespace ?? 'default', body });
  });
}

export async function listPods(core: CoreV1Api, namespace = 'default', labelSelector?: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector })).items;
}

/**
 * Deletes pods with gracePeriodSeconds 0: with no kubelet a graceful delete of a bound pod stays
 * Terminating forever. Waits until they are gone.
 */
export async function forceDeletePods(core: CoreV1Api, namespace = 'default', labelSelector?: string, timeoutMs = 30_000): Promise<void> {
  const pods = await listPods(core, namespace, labelSelector);
  await inBatches(pods, 50, async (p) => {
    try {
      await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  await waitFor(async () => (await listPods(core, namespace, labelSelector)).length === 0, timeoutMs, `pods ${labelSelector ?? '(all)'} in ${namespace} deleted`);
}

// --- storage ---------------------------------------------------------------------------------------------

/** Creates the StorageClass; an existing one with the same name is kept. */
export async function ensureStorageClass(storage: StorageV1Api, sc: V1StorageClass = makeLocalStorageClass()): Promise<void> {
  try {
    await storage.createStorageClass({ body: sc });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

export async function createPvc(core: CoreV1Api, pvc: V1PersistentVolumeClaim | PvcBuilder): Promise<V1PersistentVolumeClaim> {
  const body = pvc instanceof PvcBuilder ? pvc.manifest() : pvc;
  return core.createNamespacedPersistentVolumeClaim({ namespace: body.metadata?.namespace ?? 'default', body });
}

// --- waiting ------------------------------------------------------------------------------------------------

/**
 * Polls `predicate` until it returns a truthy value (returned) or `timeoutMs` passes. Errors thrown
 * by the predicate count as "not yet"; the last one is included in the timeout error.
 */
export async function waitFor<T>(
  predicate: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs: number,
  description = 'condition',
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
