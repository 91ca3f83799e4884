import { describe, expect, it } from 'vitest';
import { parseBlkidExport, parseLsblk, parsePvsReport, parseVgsReport } from '../../../../src/agent/adapters/lvm/parse.js';
import { fixture } from './fixtures.js';

describe('parsePvsReport', () => {
  it('reads every PV of the captured report, with byte counts as integers and "" for an orphan VG', () => {
    const r = parsePvsReport(fixture('pvs-two-vgs-and-orphan.json'));
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect(r.value).toHaveLength(4);
    expect(r.value[0]).toEqual({
      name: '/dev/loop0', canonicalName: '/dev/loop0', vgName: 'volumegroup1', uuid: '1Aep33-eRXg-Mh4C-42rN-xHXR-dr5O-u9osPX',
      sizeBytes: 62914560, freeBytes: 62914560,
    });
    expect(r.value[3]).toMatchObject({ name: '/dev/loop3', vgName: '', sizeBytes: 67108864 });
  });

  it('reads an empty report as no PVs', () => {
    expect(parsePvsReport(fixture('pvs-empty.json'))).toEqual({ kind: 'ok', value: [] });
  });

  it('rejects text that is not JSON', () => {
    expect(parsePvsReport('  WARNING: something\n').kind).toBe('invalid');
  });

  it('rejects a report without the report list', () => {
    expect(parsePvsReport('{"pv":[]}').kind).toBe('invalid');
  });

  it('rejects a row whose size is not a decimal integer', () => {
    expect(parsePvsReport('{"report":[{"pv":[{"pv_name":"/dev/a","vg_name":"","pv_size":"1.5g","pv_free":"0"}]}]}').kind).toBe('invalid');
  });

  it('reads an empty size string (not applicable) as 0', () => {
    const r = parsePvsReport('{"report":[{"pv":[{"pv_name":"[unknown]","vg_name":"vg","pv_size":"","pv_free":"","pv_uuid":"x"}]}]}');
    expect(r).toMatchObject({ kind: 'ok', value: [{ name: '[unknown]', sizeBytes: 0, freeBytes: 0 }] });
  });
});

describe('parseVgsReport', () => {
  it('reads the captured VGs', () => {
    const r = parseVgsReport(fixture('vgs-two-vgs.json'));
    expect(r).toEqual({
      kind: 'ok',
      value: [
        { name: 'othervg', uuid: 'DTL3Cx-fF78-Twg6-2S0I-aJmA-rBdi-QA0NyZ', sizeBytes: 62914560, freeBytes: 62914560, pvCount: 1 },
        { name: 'volumegroup1', uuid: 'wINbn6-u4c6-VXQR-Vw0y-c8DO-CoT8-IwvTp3', sizeBytes: 125829120, freeBytes: 125829120, pvCount: 2 },
      ],
    });
  });

  it('reads the still-valid empty report LVM prints for a missing VG', () => {
    expect(parseVgsReport(fixture('vgs-missing-vg.json'))).toEqual({ kind: 'ok', value: [] });
    expect(parseVgsReport(fixture('vgs-empty.json'))).toEqual({ kind: 'ok', value: [] });
  });

  it('rejects a row without a name', () => {
    expect(parseVgsReport('{"report":[{"vg":[{"vg_size":"1","vg_free":"1","pv_count":"1"}]}]}').kind).toBe('invalid');
  });
});

describe('parseLsblk', () => {
  it('reads a loop device with numeric SIZE and no children', () => {
    expect(parseLsblk(fixture('lsblk-loop.json'))).toEqual({
      kind: 'ok',
      value: { name: 'loop4', path: '/dev/loop4', type: 'loop', sizeBytes: 67108864, mountpoint: null, children: [] },
    });
  });

  it('reads a partitioned disk (SIZE as a string, older util-linux) and lists its partitions', () => {
    const r = parseLsblk(fixture('lsblk-disk-with-partitions.json'));
    expect(r).toMatchObject({ kind: 'ok', value: { type: 'disk', sizeBytes: 107374182400, children: [{ name: 'sdb1', type: 'part' }, { name: 'sdb2', type: 'part' }] } });
  });

  it('lists the LVs held by a PV as children', () => {
    expect(parseLsblk(fixture('lsblk-pv-with-lv.json'))).toMatchObject({ kind: 'ok', value: { children: [{ type: 'lvm' }] } });
  });

  it('rejects output listing no device', () => {
    expect(parseLsblk('{"blockdevices": []}').kind).toBe('invalid');
  });
});

describe('parseBlkidExport', () => {
  it('reads a filesystem signature', () => {
    expect(parseBlkidExport(fixture('blkid-ext4.txt'))).toEqual({ type: 'ext4', usage: 'filesystem', ptType: null, uuid: '2ba6dcee-6825-444b-9cef-13577e537a62', ambivalent: false });
  });

  it('reads dos and gpt partition tables', () => {
    expect(parseBlkidExport(fixture('blkid-dos.txt'))).toMatchObject({ type: null, ptType: 'dos' });
    expect(parseBlkidExport(fixture('blkid-gpt.txt'))).toMatchObject({ type: null, ptType: 'gpt' });
  });

  it('reads an LVM label with its PV UUID and unescapes values', () => {
    expect(parseBlkidExport(fixture('blkid-lvm2-member.txt'))).toEqual({ type: 'LVM2_member', usage: 'raid', ptType: null, uuid: 'YRY0rw-qo3N-RqsH-pxAs-jerK-hHap-9WtqaT', ambivalent: false });
  });

  it('marks an ambivalent result when told (exit 8)', () => {
    expect(parseBlkidExport('', true)).toEqual({ type: null, usage: null, ptType: null, uuid: null, ambivalent: true });
  });
});
