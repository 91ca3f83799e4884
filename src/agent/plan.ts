// The reconcile planner: given the desired VGs, what LVM reports and what the device probes found, decide the
// LVM commands to run and the devices to refuse. Pure and total: it never throws for an ordinary outcome.
//
// Rules (issue 5; lvm-anchors 5.4 and 8.2):
//  - a device already a PV of this VG: nothing;
//  - a blank device: pvcreate, then vgcreate (the VG's first device) or vgextend (one command per device, so a
//    device that fails blocks only itself);
//  - an orphan PV (initialised, in no VG; e.g. left by a kill between pvcreate and vgcreate): adopted, no pvcreate;
//  - anything else (missing, not a block device, a signature, a partition table, mounted, held by dm/md, a PV of
//    another VG, an unsafe path, a device listed twice): refused with a reason, and the rest goes on;
//  - never removes or shrinks anything, never forces: the only verbs are pvcreate, vgcreate and vgextend, and the
//    only device arguments are paths exactly as configured.

import type { DeviceRefusalReason } from '../wire/keys.js';
import type { DesiredVg } from './desired.js';
import type { DeviceProbe, DeviceRefusal, ObservedLvm, ObservedPv } from './model.js';
import { checkDevicePath } from './paths.js';

export type LvmAction =
  | { readonly verb: 'pvcreate'; readonly vg: string; readonly device: string }
  | { readonly verb: 'vgcreate'; readonly vg: string; readonly device: string }
  | { readonly verb: 'vgextend'; readonly vg: string; readonly device: string };

export interface VgPlan {
  readonly name: string;
  /** The VG exists now. */
  readonly exists: boolean;
  /** Configured paths that are already PVs of this VG. */
  readonly members: readonly string[];
  /** Configured paths that this plan adds (blank devices and orphan PVs), in configured order. */
  readonly adds: readonly string[];
  /** PVs of this VG that the configuration does not list (warned about, never removed). */
  readonly unlistedPvs: readonly string[];
}

export interface ReconcilePlan {
  readonly vgs: readonly VgPlan[];
  readonly actions: readonly LvmAction[];
  readonly refusals: readonly DeviceRefusal[];
}

/** Verbs the agent may run that change LVM; everything else it runs only reads. */
export const MUTATING_VERBS = ['pvcreate', 'vgcreate', 'vgextend'] as const;

/** The argv of an action: verb, '--', then operands; no options, so no force flag can ever appear. */
export function commandFor(action: LvmAction): readonly string[] {
  switch (action.verb) {
    case 'pvcreate': return ['pvcreate', '--', action.device];
    case 'vgcreate': return ['vgcreate', '--', action.vg, action.device];
    case 'vgextend': return ['vgextend', '--', action.vg, action.device];
  }
}

/** Device types LVM must not be stacked on: an optical drive, or an LV (stacking a PV on an LV). */
const UNSUPPORTED_DEVICE_TYPES = new Set(['rom', 'lvm']);

type Classified =
  | { kind: 'member'; canonical: string }
  | { kind: 'blank'; canonical: string }
  | { kind: 'orphanPv'; canonical: string }
  | { kind: 'refused'; reason: DeviceRefusalReason; message: string; canonical: string | null };

function refuse(reason: DeviceRefusalReason, message: string, canonical: string | null = null): Classified {
  return { kind: 'refused', reason, message, canonical };
}

function findPv(lvm: ObservedLvm, canonical: string, uuid: string | null): ObservedPv | undefined {
  return lvm.pvs.find((pv) => pv.canonicalName === canonical || pv.name === canonical)
    ?? (uuid ? lvm.pvs.find((pv) => pv.uuid !== '' && pv.uuid === uuid) : undefined);
}

function classify(vg: string, path: string, probe: DeviceProbe | undefined, lvm: ObservedLvm, failed: ReadonlyMap<string, string>): Classified {
  const pathCheck = checkDevicePath(path);
  if (pathCheck.kind === 'refused') return refuse(pathCheck.reason, pathCheck.message);
  if (probe === undefined) return refuse('DeviceProbeFailed', `${path} was not probed`);
  switch (probe.kind) {
    case 'missing': return refuse('DeviceNotFound', `${path} does not exist on this node${probe.detail ? ` (${probe.detail})` : ''}`);
    case 'notBlock': return refuse('DeviceNotBlock', `${path} is not a block device${probe.detail ? ` (${probe.detail})` : ''}`, probe.canonicalPath);
    case 'failed': return refuse('DeviceProbeFailed', `probing ${path} failed: ${probe.detail}`);
    case 'block': break;
  }
  const canonical = probe.canonicalPath;
  const shown = canonical === path ? path : `${path} (${canonical})`;
  const sig = probe.signature;
  const pv = findPv(lvm, canonical, sig?.type === 'LVM2_member' ? sig.uuid : null);
  if (pv !== undefined) {
    if (pv.vgName === vg) return { kind: 'member', canonical };
    if (pv.vgName !== '') return refuse('DeviceInOtherVG', `${shown} is a physical volume of volume group ${pv.vgName}`, canonical);
  }
  const lastFailure = failed.get(canonical);
  if (lastFailure !== undefined) return refuse('DeviceCommandFailed', `${shown}: ${lastFailure}`, canonical);
  if (pv !== undefined) return { kind: 'orphanPv', canonical };
  if (UNSUPPORTED_DEVICE_TYPES.has(probe.deviceType)) {
    return refuse('DeviceUnsupportedType', `${shown} is of type ${probe.deviceType}; LVM is not put on it`, canonical);
  }
  if (sig !== null) {
    if (sig.ambivalent) return refuse('DeviceHasSignature', `${shown} carries several conflicting signatures (blkid: ambivalent result)`, canonical);
    if (sig.ptType !== null) return refuse('DeviceIsPartitioned', `${shown} has a ${sig.ptType} partition table`, canonical);
    if (sig.type === 'LVM2_member') {
      return refuse('DeviceHasSignature', `${shown} has an LVM2 label that LVM does not list (filtered by lvm.conf, or a duplicate PV)`, canonical);
    }
    if (sig.type !== null || sig.usage !== null) {
      return refuse('DeviceHasSignature', `${shown} holds ${sig.type ?? 'a'} ${sig.usage ?? 'signature'}${sig.uuid ? ` (UUID ${sig.uuid})` : ''}`, canonical);
    }
  }
  const partitions = probe.children.filter((c) => c.type === 'part');
  if (partitions.length > 0) {
    return refuse('DeviceIsPartitioned', `${shown} has partitions: ${partitions.map((c) => c.name).join(', ')}`, canonical);
  }
  if (probe.children.length > 0) {
    return refuse('DeviceInUse', `${shown} is held by ${probe.children.map((c) => `${c.name} (${c.type})`).join(', ')}`, canonical);
  }
  if (probe.mountpoint !== null && probe.mountpoint !== '') {
    return refuse('DeviceMounted', `${shown} is mounted on ${probe.mountpoint}`, canonical);
  }
  return { kind: 'blank', canonical };
}

/**
 * Plans one pass. Invariant: every action's verb is in MUTATING_VERBS and its device is one of the desired VG's
 * configured paths that passed checkDevicePath; a device is added to at most one VG.
 * `failed` maps canonical device paths to the message of a command that failed on them recently: such devices
 * are refused (DeviceCommandFailed) rather than retried in a loop.
 */
export function planReconcile(
  desired: readonly DesiredVg[],
  lvm: ObservedLvm,
  probes: ReadonlyMap<string, DeviceProbe>,
  failed: ReadonlyMap<string, string> = new Map(),
): ReconcilePlan {
  const actions: LvmAction[] = [];
  const refusals: DeviceRefusal[] = [];
  const vgPlans: VgPlan[] = [];
  /** canonical path -> "VG/configured path" that took it in this pass. */
  const claimed = new Map<string, string>();
  const existing = new Set(lvm.vgs.map((v) => v.name));

  for (const vg of desired) {
    const members: string[] = [];
    const adds: { path: string; blank: boolean }[] = [];
    const listedCanonical = new Set<string>();
    for (const path of vg.devices) {
      const c = classify(vg.name, path, probes.get(path), lvm, failed);
      if (c.canonical !== null) listedCanonical.add(c.canonical);
      if (c.kind === 'refused') {
        refusals.push({ vg: vg.name, device: path, reason: c.reason, message: c.message });
        continue;
      }
      const owner = claimed.get(c.canonical);
      if (owner !== undefined) {
        // A second path to a PV already in this VG is harmless (a member can be claimed only by its own VG).
        if (c.kind === 'member') members.push(path);
        else refusals.push({ vg: vg.name, device: path, reason: 'DeviceListedTwice', message: `${path} resolves to ${c.canonical}, already listed as ${owner}` });
        continue;
      }
      claimed.set(c.canonical, `${path} of volume group ${vg.name}`);
      if (c.kind === 'member') members.push(path);
      else adds.push({ path, blank: c.kind === 'blank' });
    }

    const exists = existing.has(vg.name);
    for (const a of adds) if (a.blank) actions.push({ verb: 'pvcreate', vg: vg.name, device: a.path });
    adds.forEach((a, i) => {
      actions.push({ verb: !exists && i === 0 ? 'vgcreate' : 'vgextend', vg: vg.name, device: a.path });
    });
    const unlistedPvs = lvm.pvs
      .filter((pv) => pv.vgName === vg.name && !listedCanonical.has(pv.canonicalName) && !listedCanonical.has(pv.name))
      .map((pv) => pv.name);
    vgPlans.push({ name: vg.name, exists, members, adds: adds.map((a) => a.path), unlistedPvs });
  }
  return { vgs: vgPlans, actions, refusals };
}
