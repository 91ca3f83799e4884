// The capacity report the agent publishes (wire/capacity.ts), built from what LVM reports. Pure; time is a
// parameter.

import { CAPACITY_REPORT_VERSION, type CapacityReport, type VolumeGroupReport } from '../wire/capacity.js';
import type { DesiredVg } from './desired.js';
import type { DeviceRefusal, ObservedLvm } from './model.js';

/** One entry per desired VG that exists, in desired order; VGs the configuration does not name are not offered. */
export function buildCapacityReport(node: string, now: Date, desired: readonly DesiredVg[], lvm: ObservedLvm, refusals: readonly DeviceRefusal[]): CapacityReport {
  const vgs: VolumeGroupReport[] = [];
  for (const d of desired) {
    const vg = lvm.vgs.find((v) => v.name === d.name);
    if (vg === undefined) continue;
    vgs.push({
      name: vg.name,
      sizeBytes: vg.sizeBytes,
      freeBytes: vg.freeBytes,
      pvs: lvm.pvs
        .filter((pv) => pv.vgName === vg.name)
        .map((pv) => ({ name: pv.name, sizeBytes: pv.sizeBytes, freeBytes: pv.freeBytes }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    });
  }
  return {
    version: CAPACITY_REPORT_VERSION,
    node,
    updatedAt: now.toISOString(),
    vgs,
    refused: refusals.map((r) => ({ vg: r.vg, device: r.device, reason: r.reason, message: r.message })),
  };
}

/** A key equal for two reports that differ only in their time stamp: publish on change of this key. */
export function reportContentKey(report: CapacityReport): string {
  return JSON.stringify({ ...report, updatedAt: '' });
}
