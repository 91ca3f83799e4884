// The webhook's view of the extender's cache: MarkLookup over ClusterState (the informers feed it).

import type { ClusterState } from '../../core/state.js';
import type { StorageClassModel } from '../../core/model.js';
import { claimKey } from '../../core/model.js';
import type { MarkLookup } from './mark.js';

/**
 * The default StorageClass as the DefaultStorageClass admission plugin picks it: of several defaults the
 * newest, then the first by name (k8s.io/component-helpers storage/volume GetDefaultClass). null when
 * none is the default.
 */
export function defaultClassOf(classes: Iterable<StorageClassModel>): string | null {
  let best: StorageClassModel | null = null;
  for (const sc of classes) {
    if (!sc.isDefault) continue;
    const t = sc.creationMs;
    const bt = best?.creationMs ?? 0;
    if (!best || t > bt || (t === bt && sc.name < best.name)) best = sc;
  }
  return best ? best.name : null;
}

export interface StateLookupOptions {
  /** Whether every informer has listed; before that the cache knows nothing for sure (everything is "unknown"). */
  synced?: () => boolean;
}

/** Answers from the cache; an object it has not seen is `undefined` (the webhook marks conservatively). */
export function stateLookup(state: ClusterState, opts: StateLookupOptions = {}): MarkLookup {
  const synced = opts.synced ?? (() => true);
  return {
    pvcClass(namespace, claimName) {
      const pvc = state.pvcs.get(claimKey(namespace, claimName));
      if (!pvc) return undefined;
      return pvc.storageClassName === '' ? null : pvc.storageClassName;
    },
    isLocalClass(name) {
      // Configured names are local whether or not the class is cached (ClusterState.localVgOf).
      if (state.localVgOf(name) !== null) return true;
      return state.storageClasses.has(name) ? false : undefined;
    },
    defaultClass() {
      return synced() ? defaultClassOf(state.storageClasses.values()) : undefined;
    },
    servesScheduler(name) {
      return state.config.schedulerNames.includes(name);
    },
    gateGangs() {
      return state.config.gang.quorumGate;
    },
  };
}
