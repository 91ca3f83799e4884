// What a manifest makes, for the what-if: the pods its workloads' controllers would create, and the
// claims that come with them: PersistentVolumeClaims in the manifest, a StatefulSet's
// volumeClaimTemplates (one claim per template and replica, mounted by that replica), and generic
// ephemeral volumes (one claim per pod and volume, KEP-1698).

import { expandWorkload } from '../extender/workloads.js';

// Manifests are free-form JSON read a few known fields deep; `any` keeps that reading short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export interface ManifestObjects {
  /** Pods as their controllers would create them, in manifest order. */
  pods: Obj[];
  /** PersistentVolumeClaims: the manifest's own, then those its workloads would create. */
  claims: Obj[];
}

function claimFrom(template: Obj, name: string, namespace: string): Obj {
  const t = structuredClone(template ?? {});
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { ...(t.metadata ?? {}), name, namespace }, spec: t.spec ?? {} };
}

/** The StatefulSet controller's part: replica i mounts claim <template>-<set>-<i> of each template, in place of a same-named volume. */
function withClaimTemplates(set: Obj, pods: Obj[], claims: Obj[]): void {
  const templates: Obj[] = Array.isArray(set.spec?.volumeClaimTemplates) ? set.spec.volumeClaimTemplates : [];
  if (templates.length === 0) return;
  const setName = String(set.metadata?.name ?? 'unnamed');
  pods.forEach((pod, i) => {
    const ns = String(pod.metadata?.namespace ?? 'default');
    const names = new Set(templates.map((t) => String(t.metadata?.name ?? '')));
    const volumes: Obj[] = (Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []).filter((v: Obj) => !names.has(String(v?.name ?? '')));
    for (const t of templates) {
      const tplName = String(t.metadata?.name ?? '');
      const claimName = `${tplName}-${setName}-${i}`;
      volumes.push({ name: tplName, persistentVolumeClaim: { claimName } });
      claims.push(claimFrom(t, claimName, ns));
    }
    pod.spec = { ...(pod.spec ?? {}), volumes };
  });
}

/** The ephemeral volume controller's part: claim <pod>-<volume> from each ephemeral volume's template. */
function ephemeralClaims(pod: Obj, claims: Obj[]): void {
  const podName = String(pod.metadata?.name ?? '');
  const ns = String(pod.metadata?.namespace ?? 'default');
  for (const v of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) {
    const template = v?.ephemeral?.volumeClaimTemplate;
    if (template && v.name) claims.push(claimFrom(template, `${podName}-${String(v.name)}`, ns));
  }
}

/** Pods and claims of a manifest's objects (Lists already flattened). */
export function manifestObjects(objects: readonly Obj[]): ManifestObjects {
  const pods: Obj[] = [];
  const claims: Obj[] = [];
  const made: Obj[] = [];
  for (const o of objects) {
    if (o?.kind === 'PersistentVolumeClaim') {
      claims.push(o);
      continue;
    }
    const expanded = expandWorkload(o);
    if (o?.kind === 'StatefulSet') withClaimTemplates(o, expanded, made);
    for (const p of expanded) ephemeralClaims(p, made);
    pods.push(...expanded);
  }
  return { pods, claims: [...claims, ...made] };
}
