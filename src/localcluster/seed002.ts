// The workloads of seed 002 as plain Pods (no tf-operator and no kube-controller-manager run here):
// 5.3.1's TFJob tf-smoke-gpu (1 PS with cpu 1, 4 workers with 2 GPUs each, min-available 5) and
// 8.3's PVC lvm-pvc-test (50Mi, csi-local-lvm) with the local-test Deployment's pod template.

import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_EDGE_WORKER } from '../wire/keys.js';
import { makePod, makePvc, type PodBuilder, type PvcBuilder } from './builders.js';

export const TFJOB_NAME = 'tf-smoke-gpu';
export const TFJOB_MIN_AVAILABLE = 5;

export interface TfJobOptions {
  /** With the pod-group labels (name tf-smoke-gpu, min-available "5"), as the seed's second run. */
  gang: boolean;
  /** Keeps the pods on one test's nodes. */
  nodeSelector?: Record<string, string>;
}

/** tf-smoke-gpu-ps-0 (cpu 1) and tf-smoke-gpu-worker-0..3 (nvidia.com/gpu 2 each), as tf-operator names them. */
export function tfJobPods(namespace: string, opts: TfJobOptions): PodBuilder[] {
  const pods = [
    makePod(`${TFJOB_NAME}-ps-0`).cpu('1').label('tf-replica-type', 'ps'),
    ...Array.from({ length: 4 }, (_, i) => makePod(`${TFJOB_NAME}-worker-${i}`).gpu(2).label('tf-replica-type', 'worker')),
  ];
  for (const p of pods) {
    p.ns(namespace).label('tf-job-name', TFJOB_NAME).image('registry.cn-hangzhou.aliyuncs.com/kubeflow-images-public/tf-benchmarks-gpu:v20171202-bdab599-dirty-284af3');
    if (opts.gang) p.group(TFJOB_NAME, TFJOB_MIN_AVAILABLE);
    if (opts.nodeSelector) p.nodeSelector(opts.nodeSelector);
  }
  return pods;
}

export const LVM_PVC_NAME = 'lvm-pvc-test';
export const LVM_POD_NAME = 'local-test';

/** The seed's claim: 50Mi of csi-local-lvm. */
export function seedLvmPvc(namespace: string): PvcBuilder {
  return makePvc(LVM_PVC_NAME, '50Mi').ns(namespace);
}

/** The pod template of the seed's local-test Deployment: hostNetwork, toleration Exists, edge workers only. */
export function seedLvmPod(namespace: string, name = LVM_POD_NAME): V1Pod {
  const pod = makePod(name)
    .ns(namespace)
    .image('nginx:1.15.7-alpine')
    .label('k8s-app', 'local-test')
    .tolerateAll()
    .nodeSelector({ [LABEL_EDGE_WORKER]: 'true' })
    .pvc(LVM_PVC_NAME)
    .manifest();
  const spec = pod.spec ?? { containers: [] };
  pod.spec = { ...spec, hostNetwork: true, dnsPolicy: 'ClusterFirst', restartPolicy: 'Always' };
  return pod;
}
