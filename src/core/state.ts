// The extender's in-memory truth about the cluster, kept up to date by the informers (or a
// snapshot file) and read by every verb. Aggregates are maintained incrementally so that filter
// and prioritize never walk all pods: per-node resource use, pod-group membership, and the
// volume ledger (what each VolumeGroup has committed).

import type { CoreConfig } from './config.js';
import { addResources } from './fit.js';
import { groupKeyOf, PodGroupIndex } from './dialects.js';
import { claimKey, type NodeModel, type PodGroupModel, type PodModel, type PvcModel, type PvModel, type Resources, type StorageClassModel } from './model.js';
import { VgSums, type VgUsage, type VolumeItem } from './vg-sums.js';

export { groupKeyOf } from './dialects.js';
export type { VgUsage } from './vg-sums.js';

interface Reservation extends VolumeItem {
  podUid: string;
  expiresAtMs: number;
}

export class ClusterState {
  readonly nodes = new Map<string, NodeModel>();
  readonly pods = new Map<string, PodModel>();
  readonly podUidByKey = new Map<string, string>();
  readonly pvcs = new Map<string, PvcModel>();
  readonly pvs = new Map<string, PvModel>();
  readonly storageClasses = new Map<string, StorageClassModel>();
  /** group key "ns/name" -> uids of its member pods. */
  readonly groups = new Map<string, Set<string>>();
  /** Pending gang members carrying our quorum gate, by group key (the planner releases them at quorum). */
  readonly quorumGated = new Map<string, Set<string>>();
  /** scheduler-plugins PodGroups, and the pods naming each (core/dialects.ts). */
  readonly podGroups = new PodGroupIndex();

  private readonly used = new Map<string, Resources>();
  private readonly pvItems = new Map<string, VolumeItem & { createdMs: number }>();
  private readonly pvsByNode = new Map<string, Set<string>>();
  private readonly pvSums = new VgSums();
  private readonly selectedItems = new Map<string, VolumeItem>();
  private readonly selectedSums = new VgSums();
  private readonly reservations = new Map<string, Reservation>();
  private readonly reservationsByNode = new Map<string, Set<string>>();
  /** Resources held for planned gang members that are not bound yet: pod uid -> node + requests. */
  private readonly held = new Map<string, { node: string; requests: Resources }>();
  private readonly heldByNode = new Map<string, Resources>();
  /**
   * Bumped whenever capacity may have grown (a bound pod left, a node changed, a hold or reservation
   * was dropped, a claim or volume went away). A search that failed at one value fails again until it
   * changes; binding pods and adding pending ones do not bump it, so a busy cluster keeps the cache.
   * A PodGroup's spec changing bumps it too: its gang's rules changed, so the answer may differ.
   */
  freedVersion = 0;

  constructor(readonly config: CoreConfig) {}

  // ---- nodes ----

  private sorted: NodeModel[] | null = null;

  setNode(node: NodeModel): void {
    this.nodes.set(node.name, node);
    this.sorted = null;
    this.freedVersion++;
  }

  deleteNode(name: string): void {
    this.nodes.delete(name);
    this.sorted = null;
    this.freedVersion++;
  }

  /** All nodes by name; cached until a node changes. */
  sortedNodes(): readonly NodeModel[] {
    this.sorted ??= [...this.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.sorted;
  }

  /** Free amount of one resource on a node after used and held (leaving out `exceptUid`'s hold). */
  freeOf(node: NodeModel, resource: string, exceptUid = ''): number {
    const cap = resource === 'pods' ? node.allocatable.pods ?? 110 : node.allocatable[resource] ?? 0;
    let free = cap - (this.usedOn(node.name)[resource] ?? 0);
    const held = this.heldByNode.get(node.name);
    if (held) {
      free -= held[resource] ?? 0;
      const own = exceptUid ? this.held.get(exceptUid) : undefined;
      if (own && own.node === node.name) free += own.requests[resource] ?? 0;
    }
    return free;
  }

  /** Resources requested by non-terminal pods assigned to the node, with `pods` as a count. */
  usedOn(nodeName: string): Resources {
    return this.used.get(nodeName) ?? EMPTY;
  }

  // ---- pods ----

  setPod(given: PodModel): void {
    const pod = this.podGroups.resolve(given);
    const prev = this.pods.get(pod.uid);
    if (prev) this.unaccountPod(prev);
    const staleUid = this.podUidByKey.get(`${pod.namespace}/${pod.name}`);
    if (staleUid && staleUid !== pod.uid) this.deletePod(staleUid);
    this.pods.set(pod.uid, pod);
    this.podUidByKey.set(`${pod.namespace}/${pod.name}`, pod.uid);
    this.accountPod(pod);
    if (prev && holdsNode(prev) && (!holdsNode(pod) || pod.nodeName !== prev.nodeName)) this.freedVersion++;
  }

  deletePod(uid: string): void {
    const prev = this.pods.get(uid);
    if (!prev) return;
    this.unaccountPod(prev);
    this.pods.delete(uid);
    if (this.podUidByKey.get(`${prev.namespace}/${prev.name}`) === uid) this.podUidByKey.delete(`${prev.namespace}/${prev.name}`);
    this.releaseReservationsOf(uid);
    this.releaseHold(uid);
    if (holdsNode(prev)) this.freedVersion++;
  }

  podByKey(namespace: string, name: string): PodModel | undefined {
    const uid = this.podUidByKey.get(`${namespace}/${name}`);
    return uid ? this.pods.get(uid) : undefined;
  }

  private accountPod(pod: PodModel): void {
    if (pod.nodeName && !pod.terminal) {
      let u = this.used.get(pod.nodeName);
      if (!u) {
        u = {};
        this.used.set(pod.nodeName, u);
      }
      addResources(u, pod.requests, 1);
      u.pods = (u.pods ?? 0) + 1;
      // A bound pod's volumes and resources are no longer reservations: the pod and its claims carry
      // the truth now (capacity moves from the hold to the pod: nothing is freed).
      this.releaseReservationsOf(pod.uid, false);
      this.releaseHold(pod.uid, false);
    }
    this.podGroups.index(pod, 1);
    const g = groupKeyOf(pod);
    if (g) {
      let s = this.groups.get(g);
      if (!s) {
        s = new Set();
        this.groups.set(g, s);
      }
      s.add(pod.uid);
      if (pod.quorumGated && !pod.nodeName) this.quorumGated.set(g, (this.quorumGated.get(g) ?? new Set()).add(pod.uid));
    }
  }

  private unaccountPod(pod: PodModel): void {
    if (pod.nodeName && !pod.terminal) {
      const u = this.used.get(pod.nodeName);
      if (u) {
        addResources(u, pod.requests, -1);
        u.pods = (u.pods ?? 0) - 1;
        if (u.pods === 0) delete u.pods;
        if (Object.keys(u).length === 0) this.used.delete(pod.nodeName);
      }
    }
    this.podGroups.index(pod, -1);
    const g = groupKeyOf(pod);
    if (g) {
      const s = this.groups.get(g);
      s?.delete(pod.uid);
      if (s && s.size === 0) this.groups.delete(g);
      const q = this.quorumGated.get(g);
      if (q?.delete(pod.uid) && q.size === 0) this.quorumGated.delete(g);
    }
  }

  /** Records a binding at once so the next filter sees it (the informer confirms it later). */
  assumeBound(uid: string, nodeName: string): void {
    const pod = this.pods.get(uid);
    if (!pod || pod.nodeName === nodeName) return;
    this.setPod({ ...pod, nodeName });
  }

  // ---- scheduler-plugins PodGroups: their members see a change at once ----

  /** Stores the PodGroup; true when its spec is new or changed (not for a status-only update). */
  setPodGroup(pg: PodGroupModel): boolean {
    return this.refreshPodGroups(this.podGroups.set(pg));
  }

  deletePodGroup(namespace: string, name: string): void {
    this.refreshPodGroups(this.podGroups.delete(namespace, name));
  }

  /** Whether the cluster serves PodGroups (their CRD exists); false forgets every PodGroup. */
  setPodGroupsServed(served: boolean): void {
    this.refreshPodGroups(this.podGroups.setServed(served));
  }

  private refreshPodGroups(keys: readonly string[]): boolean {
    if (keys.length === 0) return false;
    this.freedVersion++;
    for (const key of keys) {
      for (const uid of this.podGroups.membersOf(key)) {
        const p = this.pods.get(uid);
        if (p) this.pods.set(uid, this.podGroups.resolve(p));
      }
    }
    return true;
  }

  // ---- resources held for gang plans ----

  /** Holds `requests` on `node` for an unbound pod until it binds, is deleted, or the hold is released. */
  hold(uid: string, node: string, requests: Resources): void {
    this.releaseHold(uid);
    const r = { ...requests, pods: 1 };
    this.held.set(uid, { node, requests: r });
    let sum = this.heldByNode.get(node);
    if (!sum) {
      sum = {};
      this.heldByNode.set(node, sum);
    }
    addResources(sum, r, 1);
  }

  releaseHold(uid: string, freed = true): void {
    const h = this.held.get(uid);
    if (!h) return;
    this.held.delete(uid);
    const sum = this.heldByNode.get(h.node);
    if (sum) {
      addResources(sum, h.requests, -1);
      if (Object.keys(sum).length === 0) this.heldByNode.delete(h.node);
    }
    if (freed) this.freedVersion++;
  }


  /** Nodes with held resources (few: only nodes of live gang plans). */
  nodesWithHolds(): ReadonlyMap<string, Resources> {
    return this.heldByNode;
  }

  /** Used plus held on a node, leaving out the hold of `exceptUid`. */
  committedOn(node: string, exceptUid = ''): Resources {
    const used = this.usedOn(node);
    const held = this.heldByNode.get(node);
    if (!held) return used;
    const out: Resources = { ...used };
    addResources(out, held, 1);
    const own = exceptUid ? this.held.get(exceptUid) : undefined;
    if (own && own.node === node) addResources(out, own.requests, -1);
    return out;
  }

  // ---- storage ----

  /** The VG a claim of this StorageClass is carved from, or null when the class is not local LVM. */
  localVgOf(storageClassName: string): string | null {
    const sc = this.storageClasses.get(storageClassName);
    const c = this.config;
    if (sc) {
      if (c.localProvisioners.includes(sc.provisioner) || c.localStorageClassNames.includes(sc.name)) return sc.vgName || c.defaultVgName;
      return null;
    }
    return c.localStorageClassNames.includes(storageClassName) ? c.defaultVgName : null;
  }

  setStorageClass(sc: StorageClassModel): void {
    this.storageClasses.set(sc.name, sc);
    this.reindexVolumes();
  }

  deleteStorageClass(name: string): void {
    this.storageClasses.delete(name);
    this.reindexVolumes();
  }

  private reindexVolumes(): void {
    for (const pv of [...this.pvs.values()]) this.setPv(pv);
    for (const pvc of [...this.pvcs.values()]) this.setPvc(pvc);
  }

  setPvc(pvc: PvcModel): void {
    const key = claimKey(pvc.namespace, pvc.name);
    this.pvcs.set(key, pvc);
    // A selected node taken away (provisioning failed) frees what it held.
    if (this.dropSelected(key) && !pvc.selectedNode && !pvc.volumeName) this.freedVersion++;
    const vg = this.localVgOf(pvc.storageClassName);
    if (vg === null) return;
    if (pvc.volumeName) {
      // Bound: the PV is the record (the bytes move from the reservation to it).
      this.releaseReservation(key, false);
      return;
    }
    if (pvc.selectedNode) {
      const item = { node: pvc.selectedNode, vg, bytes: pvc.requestBytes };
      this.selectedItems.set(key, item);
      this.selectedSums.add(item, 1);
      this.releaseReservation(key, false);
    }
  }

  deletePvc(namespace: string, name: string): void {
    const key = claimKey(namespace, name);
    this.freedVersion++;
    this.pvcs.delete(key);
    this.dropSelected(key);
    this.releaseReservation(key);
  }

  private dropSelected(key: string): boolean {
    const prev = this.selectedItems.get(key);
    if (!prev) return false;
    this.selectedSums.add(prev, -1);
    this.selectedItems.delete(key);
    return true;
  }

  setPv(pv: PvModel): void {
    this.deletePv(pv.name);
    this.pvs.set(pv.name, pv);
    const vg = pv.vgName || this.localVgOf(pv.storageClassName);
    if (vg === null || !pv.nodeName) return;
    const item = { node: pv.nodeName, vg, bytes: pv.capacityBytes, createdMs: pv.creationMs };
    this.pvItems.set(pv.name, item);
    this.pvSums.add(item, 1);
    let s = this.pvsByNode.get(pv.nodeName);
    if (!s) {
      s = new Set();
      this.pvsByNode.set(pv.nodeName, s);
    }
    s.add(pv.name);
  }

  deletePv(name: string): void {
    if (this.pvs.has(name)) this.freedVersion++;
    this.pvs.delete(name);
    const prev = this.pvItems.get(name);
    if (!prev) return;
    this.pvSums.add(prev, -1);
    this.pvItems.delete(name);
    const s = this.pvsByNode.get(prev.node);
    s?.delete(name);
    if (s && s.size === 0) this.pvsByNode.delete(prev.node);
  }

  // ---- reservations made at filter ----

  /** Reserves a claim's bytes on a node until the claim is placed, the pod binds or goes away, or it expires. */
  reserve(claim: string, podUid: string, node: string, vg: string, bytes: number, expiresAtMs: number): void {
    this.releaseReservation(claim);
    this.reservations.set(claim, { node, vg, bytes, podUid, expiresAtMs });
    let s = this.reservationsByNode.get(node);
    if (!s) {
      s = new Set();
      this.reservationsByNode.set(node, s);
    }
    s.add(claim);
  }

  releaseReservation(claim: string, freed = true): void {
    const r = this.reservations.get(claim);
    if (!r) return;
    if (freed) this.freedVersion++;
    this.reservations.delete(claim);
    const s = this.reservationsByNode.get(r.node);
    s?.delete(claim);
    if (s && s.size === 0) this.reservationsByNode.delete(r.node);
  }

  releaseReservationsOf(podUid: string, freed = true): void {
    for (const [claim, r] of this.reservations) if (r.podUid === podUid) this.releaseReservation(claim, freed);
  }

  /** Drops expired reservations; returns how many. */
  expireReservations(nowMs: number): number {
    let n = 0;
    for (const [claim, r] of this.reservations) {
      if (r.expiresAtMs <= nowMs) {
        this.releaseReservation(claim);
        n++;
      }
    }
    return n;
  }

  reservationCount(): number {
    return this.reservations.size;
  }

  /** What a VG on a node has committed, leaving out the given claims (the pod's own). */
  vgUsage(node: string, vg: string, sinceMs: number | null, nowMs: number, excludeClaims: ReadonlySet<string>): VgUsage {
    let selectedBytes = this.selectedSums.get(node, vg);
    for (const c of excludeClaims) {
      const it = this.selectedItems.get(c);
      if (it && it.node === node && it.vg === vg) selectedBytes -= it.bytes;
    }
    let reservedBytes = 0;
    const rs = this.reservationsByNode.get(node);
    if (rs) {
      for (const c of rs) {
        if (excludeClaims.has(c)) continue;
        const r = this.reservations.get(c);
        if (r && r.vg === vg && r.expiresAtMs > nowMs) reservedBytes += r.bytes;
      }
    }
    let provisionedSinceBytes = 0;
    if (sinceMs !== null) {
      const names = this.pvsByNode.get(node);
      if (names) {
        for (const n of names) {
          const it = this.pvItems.get(n);
          if (it && it.vg === vg && it.createdMs > sinceMs) provisionedSinceBytes += it.bytes;
        }
      }
    }
    return { provisionedBytes: this.pvSums.get(node, vg), provisionedSinceBytes, selectedBytes, reservedBytes };
  }

  /** Sizes for /metrics and /debug. */
  sizes(): Record<string, number> {
    return {
      nodes: this.nodes.size,
      pods: this.pods.size,
      pvcs: this.pvcs.size,
      pvs: this.pvs.size,
      storageclasses: this.storageClasses.size,
      groups: this.groups.size,
      podgroups: this.podGroups.size,
      reservations: this.reservations.size,
      holds: this.held.size,
    };
  }
}

const EMPTY: Resources = Object.freeze({}) as Resources;

/** A pod that counts against its node's resources. */
function holdsNode(p: PodModel): boolean {
  return p.nodeName !== '' && !p.terminal;
}
