// What the fake provisioner writes to the API: the PV of a provisioned claim, the claim's binding,
// the ProvisioningFailed event, and the node agent's capacity report after a volume is created.

import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type CoreV1Event,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { parseCapacityReport, type CapacityReport } from '../wire/capacity.js';
import { ANNOTATION_VG_CAPACITY, STORAGE_CLASS_VG_PARAMETER } from '../wire/keys.js';

// Well-known PV/PVC annotations (k8s.io/component-helpers storage/volume and the PV controller).
// They belong to Kubernetes, not to this product, so they are spelled here and not in src/wire.
const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const LABEL_HOSTNAME = 'kubernetes.io/hostname';

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const isStatus = (err: unknown, code: number) => err instanceof ApiException && err.code === code;

/** Where a claim's volume is (or will be) and how big it is. */
export interface VolumePlacement {
  pvName: string;
  namespace: string;
  claimName: string;
  claimUid: string;
  node: string;
  vg: string;
}

/** The PV external-provisioner would create: CSI source, claimRef to the claim, node affinity to the node. */
export function provisionedPv(pvc: V1PersistentVolumeClaim, sc: V1StorageClass, v: VolumePlacement, provisioner: string, request: string): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: v.pvName, annotations: { [ANN_PROVISIONED_BY]: provisioner } },
    spec: {
      capacity: { storage: request },
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: sc.metadata?.name,
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: v.namespace, name: v.claimName, uid: v.claimUid },
      csi: {
        driver: provisioner,
        volumeHandle: `${v.vg}/${v.pvName}`,
        fsType: 'ext4',
        volumeAttributes: { [STORAGE_CLASS_VG_PARAMETER]: v.vg },
      },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: LABEL_HOSTNAME, operator: 'In', values: [v.node] }] }] },
      },
    },
  };
}

/**
 * The PV controller's binding step (upstream's fake PV controller): both Bound phases,
 * spec.volumeName and bind-completed, which kube-scheduler's VolumeBinding PreBind waits for.
 */
export async function bindClaim(core: CoreV1Api, pvc: V1PersistentVolumeClaim, v: VolumePlacement, provisioner: string, request: string): Promise<void> {
  const accessModes = pvc.spec?.accessModes ?? ['ReadWriteOnce'];
  await core.patchPersistentVolumeStatus({ name: v.pvName, body: { status: { phase: 'Bound' } } }, mergePatch);
  await core.patchNamespacedPersistentVolumeClaim(
    {
      name: v.claimName,
      namespace: v.namespace,
      body: {
        metadata: { annotations: { [ANN_BIND_COMPLETED]: 'yes', [ANN_BOUND_BY_CONTROLLER]: 'yes', [ANN_STORAGE_PROVISIONER]: provisioner } },
        spec: { volumeName: v.pvName },
      },
    },
    mergePatch,
  );
  await core.patchNamespacedPersistentVolumeClaimStatus(
    { name: v.claimName, namespace: v.namespace, body: { status: { phase: 'Bound', capacity: { storage: request }, accessModes } } },
    mergePatch,
  );
}

/** external-provisioner's Warning event for a failed CreateVolume. */
export function provisioningFailedEvent(pvc: V1PersistentVolumeClaim, message: string, provisioner: string): CoreV1Event {
  const namespace = pvc.metadata?.namespace ?? 'default';
  const claimName = pvc.metadata?.name ?? '';
  const now = new Date();
  return {
    metadata: { name: `${claimName}.${process.hrtime.bigint().toString(16)}`, namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace,
      name: claimName,
      uid: pvc.metadata?.uid,
      resourceVersion: pvc.metadata?.resourceVersion,
    },
    reason: 'ProvisioningFailed',
    message,
    type: 'Warning',
    source: { component: `${provisioner}_fake-provisioner` },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/**
 * Adds `deltaBytes` to a VG's free bytes in the node's capacity report (as the node agent would after
 * re-reading LVM): read-modify-write with a resourceVersion precondition, retried on conflict.
 */
export async function adjustCapacityReport(core: CoreV1Api, node: string, vg: string, deltaBytes: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let n;
    try {
      n = await core.readNode({ name: node });
    } catch (err) {
      if (isStatus(err, 404)) return; // the node is gone: nothing to report on
      throw err;
    }
    const text = n.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
    const parsed = text === undefined ? undefined : parseCapacityReport(text);
    if (parsed?.kind !== 'ok') return;
    const report: CapacityReport = parsed.report;
    const v = report.vgs.find((x) => x.name === vg);
    if (!v) return;
    v.freeBytes = Math.min(v.sizeBytes, Math.max(0, v.freeBytes + deltaBytes));
    // Spread the change over the PVs in order, as a linear LV allocation would.
    let rest = deltaBytes;
    for (const pv of v.pvs) {
      if (rest === 0) break;
      const step = rest < 0 ? -Math.min(pv.freeBytes, -rest) : Math.min(pv.sizeBytes - pv.freeBytes, rest);
      pv.freeBytes += step;
      rest -= step;
    }
    report.updatedAt = new Date().toISOString();
    try {
      await core.patchNode(
        { name: node, body: { metadata: { resourceVersion: n.metadata?.resourceVersion, annotations: { [ANNOTATION_VG_CAPACITY]: JSON.stringify(report) } } } },
        mergePatch,
      );
      return;
    } catch (err) {
      if (!isStatus(err, 409) || attempt >= 10) throw err;
    }
  }
}
