// Pure parsers of the output of pvs, vgs (`--reportformat json --units b --nosuffix`), lsblk -J -b and
// blkid -p -o export. Tested on captured output (test/agent/adapters/lvm/fixtures). They never throw.
//
// LVM's JSON report: {"report":[{"pv":[{...}]}]}, every value a string, numbers included (lvm-anchors 5.1).

import type { BlockChild, BlockSignature, ObservedPv, ObservedVg } from '../../model.js';

export type Parsed<T> = { kind: 'ok'; value: T } | { kind: 'invalid'; reason: string };

/** The fields asked of pvs, in this order. */
export const PVS_FIELDS = ['pv_name', 'vg_name', 'pv_size', 'pv_free', 'pv_uuid', 'dev_size'] as const;
/** The fields asked of vgs, in this order. */
export const VGS_FIELDS = ['vg_name', 'vg_uuid', 'vg_size', 'vg_free', 'pv_count', 'vg_extent_size'] as const;
/** The columns asked of lsblk. */
export const LSBLK_COLUMNS = ['NAME', 'PATH', 'TYPE', 'SIZE', 'FSTYPE', 'PTTYPE', 'MOUNTPOINT'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rows(text: string, section: 'pv' | 'vg'): Parsed<Record<string, unknown>[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `${section}s report is not JSON: ${(err as Error).message}` };
  }
  if (!isRecord(raw) || !Array.isArray(raw.report)) return { kind: 'invalid', reason: `${section}s report has no "report" list` };
  const out: Record<string, unknown>[] = [];
  for (const part of raw.report as unknown[]) {
    if (!isRecord(part)) return { kind: 'invalid', reason: `${section}s report has a malformed part` };
    const list = part[section];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return { kind: 'invalid', reason: `${section}s report: "${section}" is not a list` };
    for (const row of list as unknown[]) {
      if (!isRecord(row)) return { kind: 'invalid', reason: `${section}s report has a malformed row` };
      out.push(row);
    }
  }
  return { kind: 'ok', value: out };
}

function str(row: Record<string, unknown>, key: string): string | null {
  const v = row[key];
  return typeof v === 'string' ? v : null;
}

/** LVM prints byte counts as decimal strings; "" (not applicable) reads as 0. */
function bytes(row: Record<string, unknown>, key: string): number | null {
  const v = row[key];
  if (v === '') return 0;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

/** Parses `pvs --reportformat json --units b --nosuffix -o <PVS_FIELDS>`; canonicalName is set to name. */
export function parsePvsReport(text: string): Parsed<ObservedPv[]> {
  const r = rows(text, 'pv');
  if (r.kind === 'invalid') return r;
  const pvs: ObservedPv[] = [];
  for (const row of r.value) {
    const name = str(row, 'pv_name');
    const vgName = str(row, 'vg_name');
    const sizeBytes = bytes(row, 'pv_size');
    const freeBytes = bytes(row, 'pv_free');
    if (name === null || vgName === null || sizeBytes === null || freeBytes === null) {
      return { kind: 'invalid', reason: `pvs report has a malformed row: ${JSON.stringify(row).slice(0, 200)}` };
    }
    pvs.push({ name, canonicalName: name, vgName, uuid: str(row, 'pv_uuid') ?? '', sizeBytes, freeBytes });
  }
  return { kind: 'ok', value: pvs };
}

/** Parses `vgs --reportformat json --units b --nosuffix -o <VGS_FIELDS>`. */
export function parseVgsReport(text: string): Parsed<ObservedVg[]> {
  const r = rows(text, 'vg');
  if (r.kind === 'invalid') return r;
  const vgs: ObservedVg[] = [];
  for (const row of r.value) {
    const name = str(row, 'vg_name');
    const sizeBytes = bytes(row, 'vg_size');
    const freeBytes = bytes(row, 'vg_free');
    const pvCount = bytes(row, 'pv_count');
    if (name === null || sizeBytes === null || freeBytes === null || pvCount === null) {
      return { kind: 'invalid', reason: `vgs report has a malformed row: ${JSON.stringify(row).slice(0, 200)}` };
    }
    vgs.push({ name, uuid: str(row, 'vg_uuid') ?? '', sizeBytes, freeBytes, pvCount });
  }
  return { kind: 'ok', value: vgs };
}

export interface LsblkDevice {
  readonly name: string;
  readonly path: string | null;
  readonly type: string;
  readonly sizeBytes: number;
  readonly mountpoint: string | null;
  readonly children: readonly BlockChild[];
}

/** Parses `lsblk -J -b -o <LSBLK_COLUMNS> DEVICE`: the first top-level device and its direct children. */
export function parseLsblk(text: string): Parsed<LsblkDevice> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `lsblk output is not JSON: ${(err as Error).message}` };
  }
  if (!isRecord(raw) || !Array.isArray(raw.blockdevices)) return { kind: 'invalid', reason: 'lsblk output has no "blockdevices" list' };
  const dev = (raw.blockdevices as unknown[])[0];
  if (!isRecord(dev)) return { kind: 'invalid', reason: 'lsblk listed no device' };
  const name = str(dev, 'name');
  const type = str(dev, 'type');
  // util-linux >= 2.33 prints SIZE as a number with -b; older versions print a string.
  const sizeBytes = bytes(dev, 'size');
  if (name === null || type === null || sizeBytes === null) return { kind: 'invalid', reason: `lsblk device is malformed: ${JSON.stringify(dev).slice(0, 200)}` };
  const children: BlockChild[] = [];
  if (Array.isArray(dev.children)) {
    for (const c of dev.children as unknown[]) {
      if (isRecord(c) && typeof c.name === 'string') children.push({ name: c.name, type: typeof c.type === 'string' ? c.type : 'unknown' });
    }
  }
  return { kind: 'ok', value: { name, path: str(dev, 'path'), type, sizeBytes, mountpoint: str(dev, 'mountpoint'), children } };
}

/** blkid -o export escapes special characters with a backslash (`VERSION=LVM2\ 001`). */
function unescapeBlkid(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** Parses `blkid -p -o export DEVICE` (exit 0). `ambivalent` is for exit 8, decided by the caller. */
export function parseBlkidExport(text: string, ambivalent = false): BlockSignature {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    fields.set(line.slice(0, eq).trim(), unescapeBlkid(line.slice(eq + 1).trim()));
  }
  return {
    type: fields.get('TYPE') ?? null,
    usage: fields.get('USAGE') ?? null,
    ptType: fields.get('PTTYPE') ?? null,
    uuid: fields.get('UUID') ?? null,
    ambivalent,
  };
}
