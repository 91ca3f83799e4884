// The part of the extender's configuration the core decides with. Validated and frozen by
// src/config/extender.ts; the defaults live there.

export type ScoringStrategy = 'binpack' | 'spread';

/**
 * How the extender answers filter for a pod with local-LVM volumes:
 *  - 'best-node': pass only the best-fitting node and reserve the pod's volumes on it at once, so
 *    pods filtered back to back never count the same free bytes twice (the scheduler picks the
 *    single node it is given, and the reservation is exact).
 *  - 'all-fitting': pass every node with room; scores steer. Two pods can then race for one VG and
 *    the provisioner's "no room" answer reschedules the loser.
 */
export type LvmSteering = 'best-node' | 'all-fitting';

export interface CoreConfig {
  /** StorageClass names that are local LVM (seed: csi-local-lvm). */
  localStorageClassNames: readonly string[];
  /** Provisioners whose StorageClasses are local LVM (seed: localplugin.csi.alibabacloud.com). */
  localProvisioners: readonly string[];
  /** VG used when a local StorageClass has no vgName parameter. */
  defaultVgName: string;
  /** Node label that marks local-storage nodes; null means every node may hold local volumes. */
  localStorageNodeLabel: { key: string; value: string } | null;
  scoring: ScoringStrategy;
  lvmSteering: LvmSteering;
  /** A capacity report older than this is treated as unknown. */
  capacityStaleAfterMs: number;
  /** How long a volume reservation made at filter lives if nothing confirms it. */
  reservationTtlMs: number;
  /** schedulerName values whose pods this extender decides and binds. */
  schedulerNames: readonly string[];
  gang: GangConfig;
}

export interface GangConfig {
  /** A barrier to which no new member has come for this long fails, and its plan is released. */
  barrierTimeoutMs: number;
  /**
   * The longest a barrier (or a plan with no member at bind yet) waits while every missing member
   * still exists, is pending, ungated and was not refused since the plan; past barrierTimeoutMs it
   * fails only if one of them is not coming.
   */
  barrierMaxWaitMs: number;
  /** A held bind request is answered after this long even while its barrier fills; below the scheduler's httpTimeout. */
  bindHoldLimitMs: number;
  /** Upper bound accepted for the per-gang barrier annotation. */
  maxBarrierTimeoutMs: number;
  /** min-available values above this are refused as absurd. */
  maxMinAvailable: number;
  /** How long a plan is held without progress before it is released. */
  planTtlMs: number;
  /** The webhook gates gang members at creation; the planner releases a gang's gates together at quorum. */
  quorumGate: boolean;
  /**
   * With the gate: a gang at quorum keeps its gates until a plan for the whole gang succeeds (made
   * then, held) and fewer than this many admitted gangs are still short of their barrier's release;
   * 0 = gates removed at quorum, whether the gang fits or not.
   */
  admissionWindow: number;
  /** A gang that has waited this long (quorum met, not placeable) blocks gangs ranked after it. */
  headAfterMs: number;
}
