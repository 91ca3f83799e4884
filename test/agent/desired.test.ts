import { describe, expect, it } from 'vitest';
import { desiredVolumeGroups, entryMatches } from '../../src/agent/desired.js';
import type { LabelOperator, TopologyConfig } from '../../src/agent/topology.js';
import { parseTopologyConfig } from '../../src/agent/topology.js';
import { SEED_CONFIGMAP } from './seed.js';

const KEY = 'kubernetes.io/storagetype';

// ACK NodeFilter semantics (lvm-anchors 2.1). Value 'lvm' in the entry.
const TABLE: [LabelOperator, string, Record<string, string>, boolean][] = [
  ['In', 'label equal', { [KEY]: 'lvm' }, true],
  ['In', 'label different', { [KEY]: 'ssd' }, false],
  ['In', 'label absent', {}, false],
  ['In', 'label empty', { [KEY]: '' }, false],
  ['NotIn', 'label equal', { [KEY]: 'lvm' }, false],
  ['NotIn', 'label different', { [KEY]: 'ssd' }, true],
  ['NotIn', 'label absent', {}, true],
  ['Exists', 'label equal', { [KEY]: 'lvm' }, true],
  ['Exists', 'label different', { [KEY]: 'ssd' }, true],
  ['Exists', 'label empty', { [KEY]: '' }, true],
  ['Exists', 'label absent', {}, false],
  ['DoesNotExist', 'label equal', { [KEY]: 'lvm' }, false],
  ['DoesNotExist', 'label empty', { [KEY]: '' }, false],
  ['DoesNotExist', 'label absent', {}, true],
];

describe('entryMatches', () => {
  it.each(TABLE)('%s with %s: %s', (operator, _case, labels, expected) => {
    expect(entryMatches({ key: KEY, operator, value: 'lvm' }, labels)).toBe(expected);
  });

  it('compares values exactly (case-sensitive, no trimming)', () => {
    expect(entryMatches({ key: KEY, operator: 'In', value: 'lvm' }, { [KEY]: 'LVM' })).toBe(false);
    expect(entryMatches({ key: KEY, operator: 'In', value: 'lvm' }, { [KEY]: 'lvm ' })).toBe(false);
  });

  it('does not take inherited object properties for labels', () => {
    expect(entryMatches({ key: 'toString', operator: 'Exists', value: '' }, {})).toBe(false);
  });
});

function config(text: string): TopologyConfig {
  const r = parseTopologyConfig(text);
  if (r.kind !== 'ok') throw new Error(r.errors.join('; '));
  return r.config;
}

describe('desiredVolumeGroups', () => {
  it('selects the seed entry on a node labelled kubernetes.io/storagetype=lvm only', () => {
    const c = config(SEED_CONFIGMAP);
    expect(desiredVolumeGroups(c, { [KEY]: 'lvm' })).toEqual([{ name: 'volumegroup1', devices: ['/dev/sdb1', '/dev/sdb2', '/dev/sdc'], entryIndex: 0 }]);
    expect(desiredVolumeGroups(c, { [KEY]: 'other' })).toEqual([]);
    expect(desiredVolumeGroups(c, {})).toEqual([]);
  });

  const TWO = `volumegroup:
- {name: vg1, key: zone, operator: Exists, topology: {type: device, devices: [/dev/a]}}
- {name: vg2, key: ssd, operator: In, value: "true", topology: {type: device, devices: [/dev/b]}}
- {name: vg1, key: big, operator: DoesNotExist, topology: {type: device, devices: [/dev/c]}}
`;

  it('selects every matching entry, each VG once', () => {
    expect(desiredVolumeGroups(config(TWO), { zone: 'a', ssd: 'true', big: 'y' }).map((d) => [d.name, d.devices])).toEqual([
      ['vg1', ['/dev/a']],
      ['vg2', ['/dev/b']],
    ]);
  });

  it('lets the later matching entry of one VG win, keeping the VG in first place', () => {
    expect(desiredVolumeGroups(config(TWO), { zone: 'a', ssd: 'true' }).map((d) => [d.name, d.devices, d.entryIndex])).toEqual([
      ['vg1', ['/dev/c'], 2],
      ['vg2', ['/dev/b'], 1],
    ]);
  });

  it('follows a label change: the same configuration selects other VGs', () => {
    const c = config(TWO);
    expect(desiredVolumeGroups(c, { big: 'y' }).map((d) => d.name)).toEqual([]);
    expect(desiredVolumeGroups(c, { ssd: 'true', big: 'y' }).map((d) => d.name)).toEqual(['vg2']);
  });
});
