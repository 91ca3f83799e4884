import { describe, expect, it } from 'vitest';
import { isValidLabelKey, isValidVgName, parseTopologyConfig } from '../../src/agent/topology.js';
import { ACK_FULL_CONFIGMAP, SEED_BARE, SEED_CONFIGMAP, oneEntry } from './seed.js';

const SEED_ENTRY = {
  index: 0, name: 'volumegroup1', key: 'kubernetes.io/storagetype', operator: 'In', value: 'lvm',
  devices: ['/dev/sdb1', '/dev/sdb2', '/dev/sdc'],
};

function ok(text: string) {
  const r = parseTopologyConfig(text);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r;
}

function errorsOf(text: string): readonly string[] {
  const r = parseTopologyConfig(text);
  if (r.kind !== 'invalid') throw new Error('expected invalid');
  return r.errors;
}

describe('parseTopologyConfig: accepted shapes', () => {
  it('reads the seed ConfigMap (seed 002, 8.3) exactly', () => {
    const r = ok(SEED_CONFIGMAP);
    expect(r.config.entries).toEqual([SEED_ENTRY]);
    expect(r.warnings).toEqual([]);
  });

  it('reads the bare `volumegroup:` YAML the same way', () => {
    expect(ok(SEED_BARE).config).toEqual(ok(SEED_CONFIGMAP).config);
  });

  it('reads the data map alone (`volumegroup: |-` holding the bare YAML)', () => {
    const text = `volumegroup: |-\n${SEED_BARE.split('\n').map((l) => `  ${l}`).join('\n')}`;
    expect(ok(text).config.entries).toEqual([SEED_ENTRY]);
  });

  it('reads the full ACK example: device entries kept, pmem and cloud-disk entries skipped with a warning, other data keys ignored', () => {
    const r = ok(ACK_FULL_CONFIGMAP);
    expect(r.config.entries.map((e) => e.name)).toEqual(['volumegroup1']);
    expect(r.config.skipped).toEqual([
      { index: 1, name: 'volumegroup2', type: 'alibabacloud-local-disk' },
      { index: 2, name: 'volumegroup1', type: 'pmem' },
    ]);
    expect(r.warnings.join('\n')).toMatch(/quotapath/);
    expect(r.warnings.join('\n')).toMatch(/pmem is not managed/);
  });

  it('returns a frozen configuration', () => {
    const { config } = ok(SEED_BARE);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.entries)).toBe(true);
    expect(Object.isFrozen(config.entries[0])).toBe(true);
    expect(Object.isFrozen(config.entries[0]?.devices)).toBe(true);
  });

  it('reads an empty text, an empty list and a ConfigMap without the key as "nothing to manage"', () => {
    expect(ok('').config.entries).toEqual([]);
    expect(ok('volumegroup: []\n').config.entries).toEqual([]);
    expect(ok('volumegroup:\n').config.entries).toEqual([]);
    expect(ok('kind: ConfigMap\ndata:\n  other: x\n').config.entries).toEqual([]);
  });

  it('reads a number or boolean label value as its string', () => {
    expect(ok(oneEntry({ value: '1' })).config.entries[0]?.value).toBe('1');
    expect(ok(oneEntry({ value: 'true' })).config.entries[0]?.value).toBe('true');
  });

  it('does not need a value for Exists and DoesNotExist', () => {
    expect(ok(oneEntry({ operator: 'Exists', value: null })).config.entries[0]?.operator).toBe('Exists');
    expect(ok(oneEntry({ operator: 'DoesNotExist', value: null })).config.entries[0]?.value).toBe('');
  });

  it('keeps bad device paths for the planner to refuse one by one', () => {
    const devices = ['dev/sdb', '/dev/../etc/passwd', '/dev/sdb;reboot', '/dev/sdc'];
    expect(ok(oneEntry({ devices })).config.entries[0]?.devices).toEqual(devices);
  });

  it('counts a device listed twice in one entry once, with a warning', () => {
    const r = ok(oneEntry({ devices: ['/dev/sdb', '/dev/sdc', '/dev/sdb'] }));
    expect(r.config.entries[0]?.devices).toEqual(['/dev/sdb', '/dev/sdc']);
    expect(r.warnings.join('\n')).toMatch(/listed twice/);
  });

  it('warns when two entries define the same VG (the later matching one wins)', () => {
    const text = `${oneEntry({ name: 'vg1', devices: ['/dev/sdb'] })}${oneEntry({ name: 'vg1', devices: ['/dev/sdc'] }).replace('volumegroup:\n', '')}`;
    const r = ok(text);
    expect(r.config.entries).toHaveLength(2);
    expect(r.warnings.join('\n')).toMatch(/vg1 is defined by entries 0, 1/);
  });
});

describe('parseTopologyConfig: rejected configurations', () => {
  it('rejects malformed YAML', () => {
    expect(errorsOf('volumegroup:\n- name: vg1\n  key: [unclosed\n')[0]).toMatch(/YAML/);
    expect(errorsOf('volumegroup:\n\t- name: vg1\n').length).toBeGreaterThan(0);
  });

  it('rejects malformed YAML inside the ConfigMap data value', () => {
    expect(errorsOf('kind: ConfigMap\ndata:\n  volumegroup: "volumegroup: [unclosed"\n')[0]).toMatch(/data\.volumegroup/);
  });

  it('rejects duplicate mapping keys', () => {
    expect(errorsOf('volumegroup:\n- name: a\n  name: b\n  key: k\n  operator: Exists\n  topology: {type: device, devices: []}\n').length).toBeGreaterThan(0);
  });

  it('rejects several YAML documents', () => {
    expect(errorsOf(`${SEED_BARE}---\n${SEED_BARE}`)[0]).toMatch(/2 YAML documents/);
  });

  it('rejects an unknown operator, naming it and the valid ones', () => {
    expect(errorsOf(oneEntry({ operator: 'in' }))[0]).toMatch(/unknown operator "in" \(expected one of In, NotIn, Exists, DoesNotExist\)/);
    expect(errorsOf(oneEntry({ operator: 'Gt' }))[0]).toMatch(/unknown operator "Gt"/);
  });

  it('rejects an unknown topology type', () => {
    expect(errorsOf(oneEntry({ type: 'disk' }))[0]).toMatch(/unknown topology type "disk"/);
  });

  it('rejects a VG name LVM would not accept or that could read as an option', () => {
    for (const name of ['-vg', '"."', '"a b"', 'vg/1', '"vg;rm"']) {
      expect(errorsOf(oneEntry({ name })).join('\n')).toMatch(/not a valid VolumeGroup name/);
    }
  });

  it('rejects an invalid label key', () => {
    expect(errorsOf(oneEntry({ key: '"bad key"' })).join('\n')).toMatch(/not a valid label key/);
  });

  it('rejects In and NotIn without a value', () => {
    expect(errorsOf(oneEntry({ operator: 'In', value: null }))[0]).toMatch(/value: required for operator In/);
  });

  it('rejects a device list that is not a list of strings', () => {
    expect(errorsOf('volumegroup:\n- name: vg1\n  key: k\n  operator: Exists\n  topology:\n    type: device\n    devices: /dev/sdb\n')[0]).toMatch(/not a list/);
    expect(errorsOf('volumegroup:\n- name: vg1\n  key: k\n  operator: Exists\n  topology:\n    type: device\n    devices: [{a: 1}]\n')[0]).toMatch(/devices\[0\]: not a string/);
  });

  it('rejects a wrong top-level shape', () => {
    expect(errorsOf('- a\n- b\n')[0]).toMatch(/not a mapping/);
    expect(errorsOf('volumegroups: []\n')[0]).toMatch(/no top-level key volumegroup/);
    expect(errorsOf('volumegroup: {name: vg1}\n')[0]).toMatch(/not a list/);
    expect(errorsOf('kind: Secret\ndata: {}\n')[0]).toMatch(/not ConfigMap/);
  });

  it('lists every error at once', () => {
    const text = `volumegroup:\n- name: -x\n  key: k\n  operator: Foo\n  topology: {type: bar}\n- 42\n`;
    expect(errorsOf(text)).toHaveLength(4);
  });
});

describe('name rules', () => {
  it.each([['volumegroup1', true], ['vg_1.a+b-c', true], ['-vg', false], ['.', false], ['..', false], ['', false], ['a'.repeat(128), false]])(
    'isValidVgName(%j) is %s', (name, expected) => {
      expect(isValidVgName(name)).toBe(expected);
    });

  it.each([['kubernetes.io/storagetype', true], ['storage', true], ['alibabacloud.com/edge-enable-localstorage', true], ['Bad_Prefix/x', false], ['a/', false], ['x y', false]])(
    'isValidLabelKey(%j) is %s', (key, expected) => {
      expect(isValidLabelKey(key)).toBe(expected);
    });
});
