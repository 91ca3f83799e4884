// What the agent observes of LVM and of block devices, as plain data. Produced by agent/adapters/lvm, read by the
// planner. Byte values are integers (`--units b --nosuffix`).

import type { DeviceRefusalReason } from '../wire/keys.js';

export interface ObservedPv {
  /** Name as `pvs` prints it (a kernel name such as /dev/sdb, or "[unknown]" for a missing PV). */
  readonly name: string;
  /** realpath of `name`; equal to `name` when it cannot be resolved. */
  readonly canonicalName: string;
  /** "" for an orphan PV (initialised, in no VG). */
  readonly vgName: string;
  readonly uuid: string;
  readonly sizeBytes: number;
  readonly freeBytes: number;
}

export interface ObservedVg {
  readonly name: string;
  readonly uuid: string;
  readonly sizeBytes: number;
  readonly freeBytes: number;
  readonly pvCount: number;
}

export interface ObservedLvm {
  readonly pvs: readonly ObservedPv[];
  readonly vgs: readonly ObservedVg[];
}

/** `blkid -p -o export` result; null fields were absent. */
export interface BlockSignature {
  /** TYPE: filesystem or other content type (ext4, LVM2_member, swap, ...). */
  readonly type: string | null;
  /** USAGE: filesystem, raid, crypto, other. */
  readonly usage: string | null;
  /** PTTYPE: partition table type (dos, gpt). */
  readonly ptType: string | null;
  /** UUID (for LVM2_member it is the PV UUID). */
  readonly uuid: string | null;
  /** blkid exit 8: several signatures that contradict each other. */
  readonly ambivalent: boolean;
}

export interface BlockChild {
  readonly name: string;
  readonly type: string;
}

export type DeviceProbe =
  | { readonly kind: 'missing'; readonly detail: string }
  | { readonly kind: 'notBlock'; readonly canonicalPath: string; readonly detail: string }
  | { readonly kind: 'failed'; readonly detail: string }
  | {
      readonly kind: 'block';
      /** realpath of the configured path (a kernel name such as /dev/sdb). */
      readonly canonicalPath: string;
      /** lsblk TYPE: disk, part, loop, lvm, rom, crypt, mpath, raid1, ... */
      readonly deviceType: string;
      readonly sizeBytes: number;
      /** null when blkid found nothing (exit 2). */
      readonly signature: BlockSignature | null;
      /** Devices stacked on this one as lsblk shows them (partitions, dm/md holders). */
      readonly children: readonly BlockChild[];
      readonly mountpoint: string | null;
    };

export interface DeviceRefusal {
  readonly vg: string;
  /** The path as configured. */
  readonly device: string;
  readonly reason: DeviceRefusalReason;
  readonly message: string;
}
