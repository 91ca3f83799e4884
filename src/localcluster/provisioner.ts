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

import {
  ApiException,
  CoreV1Api,
  PatchStrategy,
  StorageV1Api,
  Watch,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { parseCapacityReport, type CapacityReport } from '../wire/capacity.js';
import {
  ANNOTATION_SELECTED_NODE,
  ANNOTATION_SELECTED_NODE_BETA,
  ANNOTATION_VG_CAPACITY,
  DEFAULT_LOCAL_PROVISIONER,
  DEFAULT_VG_NAME,
  STORAGE_CLASS_VG_PARAMETER,
} from '../wire/keys.js';
import { parseQuantityBytes } from './quantity.js';

// Well-known PV/PVC annotations (k8s.io/component-helpers storage/volume and the PV controller).
// They belong to Kubernetes, not to this product, so they are spelled here and not in src/wire.
const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const LABEL_HOSTNAME = 'kubernetes.io/hostname';

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

export interface ProvisionedVolume {
  pvName: string;
  namespace: string;
  claimName: string;
  claimUid: string;
  node: string;
  vg: string;
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

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const isStatus = (err: unknown, code: number) => err instanceof ApiException && err.code === code;

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

/** Starts watching PVCs; provisions and binds claims of `opts.provisioner`'s StorageClasses. */
export async function startFakeProvisioner(kubeConfig: KubeConfig, opts: FakeProvisionerOptions = {}): Promise<FakeProvisioner> {
  const provisioner = opts.provisioner ?? DEFAULT_LOCAL_PROVISIONER;
  const updateReports = opts.updateReports ?? false;
  const resyncMs = opts.resyncMs ?? 2000;
  const log = opts.log ?? (() => undefined);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const storage = kubeConfig.makeApiClient(StorageV1Api);

  const ledger = new Map<string, ProvisionedVolume>();
  const failures: ProvisioningFailure[] = [];
  const storageClasses = new Map<string, V1StorageClass | null>();

  // --- a one-worker queue keyed by namespace/name ------------------------------------------------
  const queue = new Set<string>();
  let inFlight = false;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];
  let workerDone: Promise<void> = Promise.resolve();

  const enqueue = (key: string) => {
    if (stopped) return;
    queue.add(key);
    if (!inFlight) workerDone = work();
  };
  const work = async () => {
    inFlight = true;
    while (queue.size > 0 && !stopped) {
      const key = queue.values().next().value as string;
      queue.delete(key);
      try {
        await sync(key);
      } catch (err) {
        log(`sync ${key} failed, retrying: ${(err as Error).message}`);
        setTimeout(() => enqueue(key), 500).unref();
      }
    }
    inFlight = false;
    for (const w of idleWaiters) w();
    idleWaiters = [];
  };

  const usedBytes = (node: string, vg: string) => {
    let sum = 0;
    for (const v of ledger.values()) if (v.node === node && v.vg === vg) sum += v.bytes;
    return sum;
  };

  async function storageClass(name: string): Promise<V1StorageClass | null> {
    if (storageClasses.has(name)) return storageClasses.get(name) ?? null;
    try {
      const sc = await storage.readStorageClass({ name });
      storageClasses.set(name, sc);
      return sc;
    } catch (err) {
      if (isStatus(err, 404)) return null; // not cached: it may be created later
      throw err;
    }
  }

  /** Read-modify-write of the node's capacity report, with a resourceVersion precondition. */
  async function adjustReport(node: string, vg: string, deltaBytes: number): Promise<void> {
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

  async function recordFailure(pvc: V1PersistentVolumeClaim, node: string, scName: string, e: NoRoom): Promise<void> {
    const namespace = pvc.metadata?.namespace ?? 'default';
    const claimName = pvc.metadata?.name ?? '';
    // external-provisioner's wording for a CreateVolume error, with the reason as the CSI status.
    const message = `failed to provision volume with StorageClass "${scName}": rpc error: code = ResourceExhausted desc = ${e.message}`;
    failures.push({ namespace, claimName, node, vg: e.vg, requestedBytes: e.requestedBytes, freeBytes: e.freeBytes, message, at: new Date() });
    log(`${namespace}/${claimName} on ${node}: ${message}`);
    // Rescheduling signal: drop selected-node (both spellings) so VolumeBinding PreBind fails.
    await core.patchNamespacedPersistentVolumeClaim(
      { name: claimName, namespace, body: { metadata: { annotations: { [ANNOTATION_SELECTED_NODE]: null, [ANNOTATION_SELECTED_NODE_BETA]: null } } } },
      mergePatch,
    );
    const now = new Date();
    const event: CoreV1Event = {
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
    await core.createNamespacedEvent({ namespace, body: event });
  }

  async function release(key: string, v: ProvisionedVolume): Promise<void> {
    try {
      await core.deletePersistentVolume({ name: v.pvName });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    if (v.reportAdjusted) await adjustReport(v.node, v.vg, v.bytes);
    ledger.delete(key);
    log(`${key}: released ${v.pvName} (${v.bytes} bytes on ${v.node}/${v.vg})`);
  }

  async function sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const known = ledger.get(key);
    let pvc: V1PersistentVolumeClaim;
    try {
      pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      if (known) await release(key, known); // reclaimPolicy Delete
      return;
    }
    const uid = pvc.metadata?.uid ?? '';
    if (known && known.claimUid !== uid) {
      await release(key, known); // the claim was deleted and re-created under the same name
      return enqueue(key);
    }
    if (pvc.metadata?.deletionTimestamp) return;
    if (pvc.spec?.volumeName && (!known || known.bound)) return;

    const scName = pvc.spec?.storageClassName;
    if (!scName) return;
    const sc = await storageClass(scName);
    if (!sc || sc.provisioner !== provisioner) return;

    let v = known;
    if (!v) {
      const annotations = pvc.metadata?.annotations ?? {};
      const node = annotations[ANNOTATION_SELECTED_NODE] ?? annotations[ANNOTATION_SELECTED_NODE_BETA];
      if (!node) return;
      const vg = sc.parameters?.[STORAGE_CLASS_VG_PARAMETER] ?? DEFAULT_VG_NAME;
      const request = pvc.spec?.resources?.requests?.storage ?? '0';
      const bytes = parseQuantityBytes(request);
      try {
        await checkRoom(node, vg, bytes);
      } catch (err) {
        if (err instanceof NoRoom) return recordFailure(pvc, node, scName, err);
        throw err;
      }
      v = { pvName: `pvc-${uid}`, namespace, claimName: name, claimUid: uid, node, vg, bytes, bound: false, reportAdjusted: false };
      ledger.set(key, v); // reserve before any await can let another claim see the same free bytes
    }
    await provisionAndBind(pvc, sc, v);
  }

  async function checkRoom(node: string, vg: string, bytes: number): Promise<void> {
    let n;
    try {
      n = await core.readNode({ name: node });
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
    const free = updateReports ? report.freeBytes : report.freeBytes - usedBytes(node, vg);
    if (bytes > free) throw new NoRoom(vg, bytes, Math.max(0, free));
  }

  async function provisionAndBind(pvc: V1PersistentVolumeClaim, sc: V1StorageClass, v: ProvisionedVolume): Promise<void> {
    const request = pvc.spec?.resources?.requests?.storage ?? String(v.bytes);
    const accessModes = pvc.spec?.accessModes ?? ['ReadWriteOnce'];
    const pv: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: v.pvName, annotations: { [ANN_PROVISIONED_BY]: provisioner } },
      spec: {
        capacity: { storage: request },
        accessModes,
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
    try {
      await core.createPersistentVolume({ body: pv });
    } catch (err) {
      if (!isStatus(err, 409)) {
        ledger.delete(`${v.namespace}/${v.claimName}`);
        throw err;
      }
    }
    if (updateReports && !v.reportAdjusted) {
      await adjustReport(v.node, v.vg, -v.bytes);
      v.reportAdjusted = true;
    }
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
    v.bound = true;
    log(`${v.namespace}/${v.claimName}: provisioned ${v.pvName} (${v.bytes} bytes) on ${v.node}/${v.vg}`);
  }

  // --- list + watch, restarted on every close; plus a periodic relist --------------------------
  const watch = new Watch(kubeConfig);
  let abortWatch: AbortController | undefined;
  const keyOf = (o: V1PersistentVolumeClaim | undefined) => `${o?.metadata?.namespace ?? ''}/${o?.metadata?.name ?? ''}`;

  async function relist(): Promise<string | undefined> {
    const list = await core.listPersistentVolumeClaimForAllNamespaces();
    const seen = new Set<string>();
    for (const pvc of list.items) {
      const key = keyOf(pvc);
      seen.add(key);
      const ann = pvc.metadata?.annotations ?? {};
      const wantsVolume = !pvc.spec?.volumeName && (ann[ANNOTATION_SELECTED_NODE] ?? ann[ANNOTATION_SELECTED_NODE_BETA]);
      const known = ledger.get(key);
      if (wantsVolume || (known && (!known.bound || known.claimUid !== pvc.metadata?.uid))) enqueue(key);
    }
    for (const key of ledger.keys()) if (!seen.has(key)) enqueue(key);
    return list.metadata?.resourceVersion;
  }

  const watchLoop = (async () => {
    while (!stopped) {
      try {
        const resourceVersion = await relist();
        await new Promise<void>((resolveClosed) => {
          watch
            .watch(
              '/api/v1/persistentvolumeclaims',
              { resourceVersion, allowWatchBookmarks: true },
              (phase: string, obj: V1PersistentVolumeClaim) => {
                if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') enqueue(keyOf(obj));
                else if (phase === 'ERROR') abortWatch?.abort(); // e.g. 410 Gone: relist
              },
              () => resolveClosed(),
            )
            .then(
              (ac) => {
                abortWatch = ac;
                if (stopped) ac.abort();
              },
              () => resolveClosed(),
            );
        });
      } catch (err) {
        log(`watch: ${(err as Error).message}`);
      }
      if (!stopped) await sleep(300);
    }
  })();

  const resyncTimer = setInterval(() => {
    relist().catch((err: Error) => log(`resync: ${err.message}`));
  }, resyncMs);
  resyncTimer.unref();

  return {
    provisioned: ledger,
    failures,
    usedBytes,
    idle: () => (inFlight || queue.size > 0 ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(resyncTimer);
      abortWatch?.abort();
      await workerDone;
      await Promise.race([watchLoop, sleep(2000)]);
    },
  };
}
