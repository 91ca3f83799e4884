// The volume ledger's sums (bytes per node and VolumeGroup) and what ClusterState.vgUsage reports.

export interface VolumeItem {
  node: string;
  vg: string;
  bytes: number;
}

/** Sums per node and VG. */
export class VgSums {
  private readonly byNode = new Map<string, Map<string, number>>();
  add(item: VolumeItem, sign: 1 | -1): void {
    let m = this.byNode.get(item.node);
    if (!m) {
      m = new Map();
      this.byNode.set(item.node, m);
    }
    const next = (m.get(item.vg) ?? 0) + sign * item.bytes;
    if (next === 0) m.delete(item.vg);
    else m.set(item.vg, next);
    if (m.size === 0) this.byNode.delete(item.node);
  }
  get(node: string, vg: string): number {
    return this.byNode.get(node)?.get(vg) ?? 0;
  }
}

export interface VgUsage {
  /** Bytes of PVs on this VG (provisioned), from the PV informer. */
  provisionedBytes: number;
  /** PVs provisioned after the given time (not yet visible in a report taken then). */
  provisionedSinceBytes: number;
  /** Claims placed here by the scheduler (selected-node) but not provisioned yet. */
  selectedBytes: number;
  /** Reservations this extender made at filter and nothing has confirmed yet. */
  reservedBytes: number;
}
