// Turns workload manifests into the pods their controllers would create, for the snapshot CLI and
// the demo: Pod, Deployment/ReplicaSet/StatefulSet/Job (spec.template), and Kubeflow TFJob /
// PyTorchJob (one pod per replica of each replica spec, named <job>-<type>-<index>).

import { DEFAULT_SCHEDULER_NAME } from '../wire/keys.js';

// Manifests are free-form JSON read a few known fields deep; `any` keeps that reading short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function podFromTemplate(template: Obj, name: string, namespace: string, uid: string, creationIso: string): Obj {
  const t = structuredClone(template ?? {});
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(t.metadata ?? {}),
      name,
      namespace,
      uid,
      creationTimestamp: creationIso,
      labels: { ...(t.metadata?.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}) },
    },
    spec: { schedulerName: DEFAULT_SCHEDULER_NAME, ...(t.spec ?? {}) },
    status: { phase: 'Pending' },
  };
}

/** Pods a manifest stands for; objects that make no pods give none. */
export function expandWorkload(obj: Obj, creationIso = new Date(0).toISOString()): Obj[] {
  const kind = String(obj?.kind ?? '');
  const name = String(obj?.metadata?.name ?? 'unnamed');
  const ns = String(obj?.metadata?.namespace ?? 'default');
  switch (kind) {
    case 'Pod': {
      const p = structuredClone(obj);
      p.metadata = { namespace: ns, uid: p.metadata?.uid ?? `${ns}-${name}`, creationTimestamp: creationIso, ...p.metadata };
      p.spec = { schedulerName: DEFAULT_SCHEDULER_NAME, ...(p.spec ?? {}) };
      return [p];
    }
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'Job': {
      const replicas = kind === 'Job' ? Number(obj.spec?.parallelism ?? 1) : Number(obj.spec?.replicas ?? 1);
      return Array.from({ length: replicas }, (_, i) => {
        const podName = kind === 'StatefulSet' ? `${name}-${i}` : `${name}-${i}`;
        return podFromTemplate(obj.spec?.template, podName, ns, `${ns}-${podName}`, creationIso);
      });
    }
    case 'TFJob':
    case 'PyTorchJob':
    case 'MPIJob': {
      const specs: Obj = obj.spec?.tfReplicaSpecs ?? obj.spec?.pytorchReplicaSpecs ?? obj.spec?.mpiReplicaSpecs ?? {};
      const pods: Obj[] = [];
      for (const [type, spec] of Object.entries(specs)) {
        const n = Number((spec as Obj).replicas ?? 1);
        for (let i = 0; i < n; i++) {
          const podName = `${name}-${type.toLowerCase()}-${i}`;
          pods.push(podFromTemplate((spec as Obj).template, podName, ns, `${ns}-${podName}`, creationIso));
        }
      }
      return pods;
    }
    default:
      return [];
  }
}
