// Fluent builders of Kubernetes JSON for unit tests: makePod('w-0').group('tf', 5).gpu(2).

import { ANNOTATION_VG_CAPACITY, LABEL_LOCAL_STORAGE, LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME, ANNOTATION_SELECTED_NODE } from '../../src/wire/keys.js';
import type { CapacityReport } from '../../src/wire/capacity.js';

type Obj = Record<string, any>;

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

export class PodBuilder {
  obj: Obj;
  constructor(name: string) {
    this.obj = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: {}, annotations: {}, creationTimestamp: '2026-11-21T00:00:00Z' },
      spec: { schedulerName: 'default-scheduler', containers: [{ name: 'c', image: 'x', resources: { requests: {}, limits: {} } }] },
      status: { phase: 'Pending' },
    };
  }
  ns(n: string): this { this.obj.metadata.namespace = n; return this; }
  uid(u: string): this { this.obj.metadata.uid = u; return this; }
  created(iso: string): this { this.obj.metadata.creationTimestamp = iso; return this; }
  cpu(q: string): this { this.obj.spec.containers[0].resources.requests.cpu = q; return this; }
  mem(q: string): this { this.obj.spec.containers[0].resources.requests.memory = q; return this; }
  gpu(n: number): this { this.obj.spec.containers[0].resources.limits['nvidia.com/gpu'] = String(n); return this; }
  label(k: string, v: string): this { this.obj.metadata.labels[k] = v; return this; }
  annotate(k: string, v: string): this { this.obj.metadata.annotations[k] = v; return this; }
  group(name: string, minAvailable: number | string): this {
    return this.label(LABEL_POD_GROUP_NAME, name).label(LABEL_POD_GROUP_MIN_AVAILABLE, String(minAvailable));
  }
  priority(p: number): this { this.obj.spec.priority = p; return this; }
  pvc(claim: string): this {
    (this.obj.spec.volumes ??= []).push({ name: claim, persistentVolumeClaim: { claimName: claim } });
    return this;
  }
  nodeSelector(k: string, v: string): this { (this.obj.spec.nodeSelector ??= {})[k] = v; return this; }
  tolerateAll(): this { (this.obj.spec.tolerations ??= []).push({ operator: 'Exists' }); return this; }
  on(node: string): this { this.obj.spec.nodeName = node; return this; }
  scheduler(name: string): this { this.obj.spec.schedulerName = name; return this; }
  build(): Obj { return structuredClone(this.obj); }
}
export const makePod = (name: string) => new PodBuilder(name);

export class NodeBuilder {
  obj: Obj;
  constructor(name: string) {
    this.obj = {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations: {} },
      spec: {},
      status: {
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    };
  }
  label(k: string, v: string): this { this.obj.metadata.labels[k] = v; return this; }
  gpus(n: number): this {
    this.obj.status.allocatable['nvidia.com/gpu'] = String(n);
    this.obj.status.capacity['nvidia.com/gpu'] = String(n);
    return this;
  }
  cpu(q: string): this { this.obj.status.allocatable.cpu = q; return this; }
  taint(key: string, effect = 'NoSchedule', value = ''): this { (this.obj.spec.taints ??= []).push({ key, value, effect }); return this; }
  localStorage(): this { return this.label(LABEL_LOCAL_STORAGE, 'true'); }
  /** A capacity report as node-resource-manager publishes it. */
  vg(name: string, sizeBytes: number, freeBytes = sizeBytes, updatedAt = '2026-11-21T00:00:00Z'): this {
    const prev: CapacityReport = this.obj.metadata.annotations[ANNOTATION_VG_CAPACITY]
      ? JSON.parse(this.obj.metadata.annotations[ANNOTATION_VG_CAPACITY])
      : { version: 1, node: this.obj.metadata.name, updatedAt, vgs: [], refused: [] };
    prev.vgs.push({ name, sizeBytes, freeBytes, pvs: [] });
    prev.updatedAt = updatedAt;
    this.obj.metadata.annotations[ANNOTATION_VG_CAPACITY] = JSON.stringify(prev);
    return this;
  }
  build(): Obj { return structuredClone(this.obj); }
}
export const makeNode = (name: string) => new NodeBuilder(name);

export function makePvc(name: string, storage: string, opts: { ns?: string; sc?: string; selectedNode?: string; volumeName?: string } = {}): Obj {
  return {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: opts.ns ?? 'default', uid: `pvc-uid-${name}`, annotations: opts.selectedNode ? { [ANNOTATION_SELECTED_NODE]: opts.selectedNode } : {} },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, storageClassName: opts.sc ?? 'csi-local-lvm', ...(opts.volumeName ? { volumeName: opts.volumeName } : {}) },
  };
}

export function makePv(name: string, storage: string, node: string, opts: { sc?: string; claim?: string; created?: string } = {}): Obj {
  return {
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name, creationTimestamp: opts.created ?? '2026-11-20T00:00:00Z' },
    spec: {
      capacity: { storage }, storageClassName: opts.sc ?? 'csi-local-lvm', accessModes: ['ReadWriteOnce'],
      ...(opts.claim ? { claimRef: { namespace: 'default', name: opts.claim } } : {}),
      csi: { driver: 'localplugin.csi.alibabacloud.com', volumeHandle: name },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
    },
  };
}

export function makeLocalStorageClass(name = 'csi-local-lvm', vgName = 'volumegroup1'): Obj {
  return {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name }, provisioner: 'localplugin.csi.alibabacloud.com',
    parameters: { vgName, fsType: 'ext4', volumeType: 'LVM' },
    reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true,
  };
}
