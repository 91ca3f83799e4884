// A stand-in for the CSI external-provisioner (plus the PV controller's binding step) for the
// local-LVM StorageClass, so WaitForFirstConsumer claims bind in a cluster without kubelets,
// CSI drivers or kube-controller-manager.
//
// What it mirrors:
// - external-provisioner: reacts to volume.kubernetes.io/selected-node on an unbound claim of its
//   StorageClass; creates a PV with a CSI source, claimRef and node affinity; on ResourceExhausted for
//   a WaitForFirstConsumer claim it removes selected-node (so kube-scheduler's VolumeBinding PreBind
//   fails and the pod is rescheduled) and records a Warning ProvisioningFailed event.
// - upstream's fake PV controller (test/integration/util StartFakePVController), because no PV
//   controller runs: sets pvc.spec.volumeName, pv.kubernetes.io/bind-completed and
//   bound-by-controller, and the Bound phases. kube-scheduler's PreBind waits for exactly
//   volumeName + bind-completed (pkg/scheduler/framework/plugins/volumebinding/binder.go).
// - optionally the node agent re-reading LVM: decreases the VG's freeBytes in the capacity report.
//
// Capacity: free = report.freeBytes − what this provisioner placed on that node/VG (its ledger). With
// updateReports the report itself is decreased, so then free = report.freeBytes.

import { CoreV1Api, StorageV1Api, type KubeConfig, type V1PersistentVolumeClaim, type V1StorageClass } from '@kubernetes/client-node';
import { parseCapacityReport } from '../wire/capacity.js';
import {
  ANNOTATION_SELECTED_NODE,
  ANNOTATION_SELECTED_NODE_BETA,
  ANNOTATION_VG_CAPACITY,
  DEFAULT_LOCAL_PROVISIONER,
  DEFAULT_VG_NAME,
  STORAGE_CLASS_VG_PARAMETER,
} from '../wire/keys.js';
import { sleep } from './processes.js';
import { adjustCapacityReport, bindClaim, isStatus, mergePatch, provisionedPv, provisioningFailedEvent, type VolumePlacement } from './provisioner-objects.js';
import { PvcWatchLoop } from './pvc-watch.js';
import { parseQuantityBytes } from './quantity.js';
import { KeyedQueue } from './work-queue.js';

export interface FakeProvisionerOptions {
  /** StorageClass provisioner name to serve. Default localplugin.csi.alibabacloud.com. */
  provisioner?: string;
  /** Decrease (and on PVC deletion restore) the VG's freeBytes in the node's capacity report. Default false. */
  updateReports?: boolean;
  /** Full relist period, a safety net for missed events and retries. Default 2000 ms. */
  resyncMs?: number;
  /** Debug sink; default silent. */
  log?: (msg: string) => void;
}

export interface ProvisionedVolume extends VolumePlacement {
  bytes: number;
  /** Set once spec.volumeName, bind-completed and both Bound phases are written. */
  bound: boolean;
  /** True when this volume's bytes were subtracted from the node's capacity report. */
  reportAdjusted: boolean;
}

export interface ProvisioningFailure {
  namespace: string;
  claimName: string;
  node: string;
  vg: string;
  requestedBytes: number;
  freeBytes: number;
  message: string;
  at: Date;
}

export interface FakeProvisioner {
  /** Volumes currently provisioned, by "namespace/claim". */
  readonly provisioned: ReadonlyMap<string, ProvisionedVolume>;
  /** Every refusal, oldest first. */
  readonly failures: readonly ProvisioningFailure[];
  /** Bytes this provisioner placed on a node's VG. */
  usedBytes(node: string, vg: string): number;
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

class NoRoom extends Error {
  constructor(
    readonly vg: string,
    readonly requestedBytes: number,
    readonly freeBytes: number,
    detail?: string,
  ) {
    super(detail ?? `no room: ${vg} requested ${requestedBytes}, free ${freeBytes}`);
  }
}

const keyOf = (o: V1PersistentVolumeClaim | undefined) => `${o?.metadata?.namespace ?? ''}/${o?.metadata?.name ?? ''}`;

class Provisioner implements FakeProvisioner {
  /** The ledger: what this provisioner placed, by "namespace/claim". */
  readonly provisioned = new Map<string, ProvisionedVolume>();
  readonly failures: ProvisioningFailure[] = [];
  private readonly storageClasses = new Map<string, V1StorageClass | null>();
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private readonly provisioner: string;
  private readonly updateReports: boolean;
  private readonly log: (msg: string) => void;
  private readonly queue: KeyedQueue;
  private readonly watch: PvcWatchLoop;
  private readonly resyncTimer: NodeJS.Timeout;
  private stopped = false;

  constructor(kubeConfig: KubeConfig, opts: FakeProvisionerOptions) {
    this.provisioner = opts.provisioner ?? DEFAULT_LOCAL_PROVISIONER;
    this.updateReports = opts.updateReports ?? false;
    this.log = opts.log ?? (() => undefined);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.storage = kubeConfig.makeApiClient(StorageV1Api);
    this.queue = new KeyedQueue(
      (key) => this.sync(key),
      (key, err) => this.log(`sync ${key} failed, retrying: ${err.message}`),
    );
    this.watch = new PvcWatchLoop(kubeConfig, () => this.relist(), (pvc) => this.queue.add(keyOf(pvc)), this.log);
    this.resyncTimer = setInterval(() => {
      this.relist().catch((err: Error) => this.log(`resync: ${err.message}`));
    }, opts.resyncMs ?? 2000);
    this.resyncTimer.unref();
  }

  usedBytes(node: string, vg: string): number {
    let sum = 0;
    for (const v of this.provisioned.values()) if (v.node === node && v.vg === vg) sum += v.bytes;
    return sum;
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const drained = this.queue.stop();
    clearInterval(this.resyncTimer);
    this.watch.abort();
    await drained;
    await Promise.race([this.watch.done, sleep(2000)]);
  }

  /** Queues every claim that may need a volume, and every ledger entry whose claim is gone. */
  private async relist(): Promise<string | undefined> {
    const list = await this.core.listPersistentVolumeClaimForAllNamespaces();
    const seen = new Set<string>();
    for (const pvc of list.items) {
      const key = keyOf(pvc);
      seen.add(key);
      const ann = pvc.metadata?.annotations ?? {};
      const wantsVolume = !pvc.spec?.volumeName && (ann[ANNOTATION_SELECTED_NODE] ?? ann[ANNOTATION_SELECTED_NODE_BETA]);
      const known = this.provisioned.get(key);
      if (wantsVolume || (known && (!known.bound || known.claimUid !== pvc.metadata?.uid))) this.queue.add(key);
    }
    for (const key of this.provisioned.keys()) if (!seen.has(key)) this.queue.add(key);
    return list.metadata?.resourceVersion;
  }

  private async storageClass(name: string): Promise<V1StorageClass | null> {
    if (this.storageClasses.has(name)) return this.storageClasses.get(name) ?? null;
    try {
      const sc = await this.storage.readStorageClass({ name });
      this.storageClasses.set(name, sc);
      return sc;
    } catch (err) {
      if (isStatus(err, 404)) return null; // not cached: it may be created later
      throw err;
    }
  }

  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const known = this.provisioned.get(key);
    let pvc: V1PersistentVolumeClaim;
    try {
      pvc = await this.core.readNamespacedPersistentVolumeClaim({ name, namespace });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      if (known) await this.release(key, known); // reclaimPolicy Delete
      return;
    }
    const uid = pvc.metadata?.uid ?? '';
    if (known && known.claimUid !== uid) {
      await this.release(key, known); // the claim was deleted and re-created under the same name
      return this.queue.add(key);
    }
    if (pvc.metadata?.deletionTimestamp) return;
    if (pvc.spec?.volumeName && (!known || known.bound)) return;

    const scName = pvc.spec?.storageClassName;
    if (!scName) return;
    const sc = await this.storageClass(scName);
    if (!sc || sc.provisioner !== this.provisioner) return;

    const v = known ?? (await this.reserve(pvc, sc, scName, { namespace, name, uid }));
    if (v) await this.provisionAndBind(pvc, sc, v);
  }

  /**
   * Places a new claim on its selected node's VG and records it in the ledger, or records the refusal.
   * Undefined when there is nothing (more) to do.
   */
  private async reserve(pvc: V1PersistentVolumeClaim, sc: V1StorageClass, scName: string, id: { namespace: string; name: string; uid: string }): Promise<ProvisionedVolume | undefined> {
    const annotations = pvc.metadata?.annotations ?? {};
    const node = annotations[ANNOTATION_SELECTED_NODE] ?? annotations[ANNOTATION_SELECTED_NODE_BETA];
    if (!node) return undefined;
    const vg = sc.parameters?.[STORAGE_CLASS_VG_PARAMETER] ?? DEFAULT_VG_NAME;
    const request = pvc.spec?.resources?.requests?.storage ?? '0';
    const bytes = parseQuantityBytes(request);
    try {
      await this.checkRoom(node, vg, bytes);
    } catch (err) {
      if (err instanceof NoRoom) {
        await this.recordFailure(pvc, node, scName, err);
        return undefined;
      }
      throw err;
    }
    const v: ProvisionedVolume = { pvName: `pvc-${id.uid}`, namespace: id.namespace, claimName: id.name, claimUid: id.uid, node, vg, bytes, bound: false, reportAdjusted: false };
    this.provisioned.set(`${id.namespace}/${id.name}`, v); // reserve before any await can let another claim see the same free bytes
    return v;
  }

  private async checkRoom(node: string, vg: string, bytes: number): Promise<void> {
    let n;
    try {
      n = await this.core.readNode({ name: node });
    } catch (err) {
      if (isStatus(err, 404)) throw new NoRoom(vg, bytes, 0, `no room: node ${node} does not exist`);
      throw err;
    }
    const text = n.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
    if (text === undefined) throw new NoRoom(vg, bytes, 0, `no room: node ${node} has no capacity report (${ANNOTATION_VG_CAPACITY})`);
    const parsed = parseCapacityReport(text);
    if (parsed.kind !== 'ok') throw new NoRoom(vg, bytes, 0, `no room: node ${node}: ${parsed.reason}`);
    const report = parsed.report.vgs.find((x) => x.name === vg);
    if (!report) throw new NoRoom(vg, bytes, 0, `no room: ${vg} is not on node ${node}`);
    const free = this.updateReports ? report.freeBytes : report.freeBytes - this.usedBytes(node, vg);
    if (bytes > free) throw new NoRoom(vg, bytes, Math.max(0, free));
  }

  private async recordFailure(pvc: V1PersistentVolumeClaim, node: string, scName: string, e: NoRoom): Promise<void> {
    const namespace = pvc.metadata?.namespace ?? 'default';
    const claimName = pvc.metadata?.name ?? '';
    // external-provisioner's wording for a CreateVolume error, with the reason as the CSI status.
    const message = `failed to provision volume with StorageClass "${scName}": rpc error: code = ResourceExhausted desc = ${e.message}`;
    this.failures.push({ namespace, claimName, node, vg: e.vg, requestedBytes: e.requestedBytes, freeBytes: e.freeBytes, message, at: new Date() });
    this.log(`${namespace}/${claimName} on ${node}: ${message}`);
    // Rescheduling signal: drop selected-node (both spellings) so VolumeBinding PreBind fails.
    await this.core.patchNamespacedPersistentVolumeClaim(
      { name: claimName, namespace, body: { metadata: { annotations: { [ANNOTATION_SELECTED_NODE]: null, [ANNOTATION_SELECTED_NODE_BETA]: null } } } },
      mergePatch,
    );
    await this.core.createNamespacedEvent({ namespace, body: provisioningFailedEvent(pvc, message, this.provisioner) });
  }

  private async release(key: string, v: ProvisionedVolume): Promise<void> {
    try {
      await this.core.deletePersistentVolume({ name: v.pvName });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    if (v.reportAdjusted) await adjustCapacityReport(this.core, v.node, v.vg, v.bytes);
    this.provisioned.delete(key);
    this.log(`${key}: released ${v.pvName} (${v.bytes} bytes on ${v.node}/${v.vg})`);
  }

  private async provisionAndBind(pvc: V1PersistentVolumeClaim, sc: V1StorageClass, v: ProvisionedVolume): Promise<void> {
    const request = pvc.spec?.resources?.requests?.storage ?? String(v.bytes);
    try {
      await this.core.createPersistentVolume({ body: provisionedPv(pvc, sc, v, this.provisioner, request) });
    } catch (err) {
      if (!isStatus(err, 409)) {
        this.provisioned.delete(`${v.namespace}/${v.claimName}`);
        throw err;
      }
    }
    if (this.updateReports && !v.reportAdjusted) {
      await adjustCapacityReport(this.core, v.node, v.vg, -v.bytes);
      v.reportAdjusted = true;
    }
    await bindClaim(this.core, pvc, v, this.provisioner, request);
    v.bound = true;
    this.log(`${v.namespace}/${v.claimName}: provisioned ${v.pvName} (${v.bytes} bytes) on ${v.node}/${v.vg}`);
  }
}

/** Starts watching PVCs; provisions and binds claims of `opts.provisioner`'s StorageClasses. */
export async function startFakeProvisioner(kubeConfig: KubeConfig, opts: FakeProvisionerOptions = {}): Promise<FakeProvisioner> {
  return new Provisioner(kubeConfig, opts);
}
