// Builders for planner inputs: observed LVM from captured fixtures, and device probes.

import type { DesiredVg } from '../../src/agent/desired.js';
import type { BlockSignature, DeviceProbe, ObservedLvm } from '../../src/agent/model.js';
import { parsePvsReport, parseVgsReport } from '../../src/agent/adapters/lvm/parse.js';
import { fixture } from './adapters/lvm/fixtures.js';

/** volumegroup1 on /dev/loop0 + /dev/loop1, othervg on /dev/loop2, orphan PV /dev/loop3 (captured). */
export function capturedLvm(): ObservedLvm {
  const pvs = parsePvsReport(fixture('pvs-two-vgs-and-orphan.json'));
  const vgs = parseVgsReport(fixture('vgs-two-vgs.json'));
  if (pvs.kind !== 'ok' || vgs.kind !== 'ok') throw new Error('fixture');
  return { pvs: pvs.value, vgs: vgs.value };
}

export const EMPTY_LVM: ObservedLvm = { pvs: [], vgs: [] };

export const ORPHAN_UUID = 'YRY0rw-qo3N-RqsH-pxAs-jerK-hHap-9WtqaT';

const NO_SIG: BlockSignature = { type: null, usage: null, ptType: null, uuid: null, ambivalent: false };

export const probe = {
  blank(canonicalPath: string, more: Partial<Extract<DeviceProbe, { kind: 'block' }>> = {}): DeviceProbe {
    return { kind: 'block', canonicalPath, deviceType: 'disk', sizeBytes: 64 << 20, signature: null, children: [], mountpoint: null, ...more };
  },
  signature(canonicalPath: string, sig: Partial<BlockSignature>): DeviceProbe {
    return probe.blank(canonicalPath, { signature: { ...NO_SIG, ...sig } });
  },
  missing(): DeviceProbe {
    return { kind: 'missing', detail: '' };
  },
  notBlock(canonicalPath: string): DeviceProbe {
    return { kind: 'notBlock', canonicalPath, detail: 'not a block device' };
  },
  failed(detail = 'lsblk exit 1'): DeviceProbe {
    return { kind: 'failed', detail };
  },
};

export function vg(name: string, devices: string[], entryIndex = 0): DesiredVg {
  return { name, devices, entryIndex };
}

/** Probes keyed by path; a path mapped to a string is a blank disk with that canonical path. */
export function probes(entries: Record<string, DeviceProbe | string>): Map<string, DeviceProbe> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, typeof v === 'string' ? probe.blank(v) : v]));
}
