// The capacity report: what node-resource-manager publishes about a node's VolumeGroups and what
// the extender reads. Defined once, here. It travels as JSON in the node annotation
// ANNOTATION_VG_CAPACITY (keys.ts), written with a merge patch by the agent.
//
// Byte values are integers (LVM reports with `--units b --nosuffix`). `updatedAt` is RFC 3339, so a
// stale report shows; the extender treats a report older than its `capacityStaleAfterMs` as unknown.

export const CAPACITY_REPORT_VERSION = 1;

export interface PhysicalVolumeReport {
  /** Device path as LVM names it (e.g. /dev/loop3). */
  name: string;
  sizeBytes: number;
  freeBytes: number;
}

export interface VolumeGroupReport {
  name: string;
  sizeBytes: number;
  freeBytes: number;
  pvs: PhysicalVolumeReport[];
}

export interface RefusedDeviceReport {
  vg: string;
  device: string;
  /** A short machine-readable code: DeviceNotFound, DeviceHasSignature, DeviceIsPartitioned, DeviceInOtherVG, ... */
  reason: string;
  message: string;
}

export interface CapacityReport {
  version: typeof CAPACITY_REPORT_VERSION;
  node: string;
  /** RFC 3339 time the agent read LVM. */
  updatedAt: string;
  vgs: VolumeGroupReport[];
  refused: RefusedDeviceReport[];
}

export type ParsedCapacity =
  | { kind: 'ok'; report: CapacityReport }
  | { kind: 'invalid'; reason: string };

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates a report from its annotation text; never throws. */
export function parseCapacityReport(text: string): ParsedCapacity {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `capacity report is not JSON: ${(err as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null) return { kind: 'invalid', reason: 'capacity report is not an object' };
  const r = raw as Record<string, unknown>;
  if (r.version !== CAPACITY_REPORT_VERSION) return { kind: 'invalid', reason: `capacity report version ${String(r.version)} is not ${CAPACITY_REPORT_VERSION}` };
  if (typeof r.node !== 'string') return { kind: 'invalid', reason: 'capacity report has no node' };
  if (typeof r.updatedAt !== 'string' || Number.isNaN(Date.parse(r.updatedAt))) return { kind: 'invalid', reason: 'capacity report has no valid updatedAt' };
  if (!Array.isArray(r.vgs)) return { kind: 'invalid', reason: 'capacity report has no vgs list' };
  const vgs: VolumeGroupReport[] = [];
  const seen = new Set<string>();
  for (const v of r.vgs as unknown[]) {
    const vg = v as Record<string, unknown>;
    if (typeof vg?.name !== 'string' || !isNonNegInt(vg.sizeBytes) || !isNonNegInt(vg.freeBytes) || vg.freeBytes > vg.sizeBytes) {
      return { kind: 'invalid', reason: `capacity report has a malformed VG entry: ${JSON.stringify(v).slice(0, 200)}` };
    }
    if (seen.has(vg.name)) return { kind: 'invalid', reason: `capacity report lists VG ${vg.name} twice` };
    seen.add(vg.name);
    const pvs: PhysicalVolumeReport[] = [];
    if (Array.isArray(vg.pvs)) {
      for (const p of vg.pvs as unknown[]) {
        const pv = p as Record<string, unknown>;
        if (typeof pv?.name === 'string' && isNonNegInt(pv.sizeBytes) && isNonNegInt(pv.freeBytes)) {
          pvs.push({ name: pv.name, sizeBytes: pv.sizeBytes, freeBytes: pv.freeBytes });
        }
      }
    }
    vgs.push({ name: vg.name, sizeBytes: vg.sizeBytes, freeBytes: vg.freeBytes, pvs });
  }
  const refused: RefusedDeviceReport[] = Array.isArray(r.refused)
    ? (r.refused as RefusedDeviceReport[]).filter((x) => x && typeof x.device === 'string')
    : [];
  return { kind: 'ok', report: { version: CAPACITY_REPORT_VERSION, node: r.node, updatedAt: r.updatedAt, vgs, refused } };
}

/** Alibaba csi-local-plugin's node annotation: [{"type":"lvm","name":"volumegroup1","capacity":<bytes>}]. */
export interface AlibabaTopologyEntry {
  type: string;
  name: string;
  capacity: number;
}

export function parseAlibabaTopology(text: string): { kind: 'ok'; vgs: { name: string; sizeBytes: number }[] } | { kind: 'invalid'; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `storage-topology annotation is not JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(raw)) return { kind: 'invalid', reason: 'storage-topology annotation is not a list' };
  const vgs: { name: string; sizeBytes: number }[] = [];
  for (const e of raw as Partial<AlibabaTopologyEntry>[]) {
    if (e && e.type === 'lvm' && typeof e.name === 'string' && isNonNegInt(e.capacity)) vgs.push({ name: e.name, sizeBytes: e.capacity });
  }
  return { kind: 'ok', vgs };
}
