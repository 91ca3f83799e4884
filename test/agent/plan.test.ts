import { describe, expect, it } from 'vitest';
import { commandFor, planReconcile } from '../../src/agent/plan.js';
import { EMPTY_LVM, ORPHAN_UUID, capturedLvm, probe, probes, vg } from './builders.js';

const argvs = (plan: ReturnType<typeof planReconcile>) => plan.actions.map((a) => commandFor(a).join(' '));

describe('planReconcile: creating and extending', () => {
  it('creates PVs on three blank devices, then the VG on the first and extends it with the others', () => {
    const plan = planReconcile([vg('volumegroup1', ['/dev/sdb1', '/dev/sdb2', '/dev/sdc'])], EMPTY_LVM,
      probes({ '/dev/sdb1': '/dev/sdb1', '/dev/sdb2': '/dev/sdb2', '/dev/sdc': '/dev/sdc' }));
    expect(argvs(plan)).toEqual([
      'pvcreate -- /dev/sdb1', 'pvcreate -- /dev/sdb2', 'pvcreate -- /dev/sdc',
      'vgcreate -- volumegroup1 /dev/sdb1', 'vgextend -- volumegroup1 /dev/sdb2', 'vgextend -- volumegroup1 /dev/sdc',
    ]);
    expect(plan.refusals).toEqual([]);
    expect(plan.vgs).toEqual([{ name: 'volumegroup1', exists: false, members: [], adds: ['/dev/sdb1', '/dev/sdb2', '/dev/sdc'], unlistedPvs: [] }]);
  });

  it('does nothing when every device is already a PV of the VG', () => {
    const plan = planReconcile([vg('volumegroup1', ['/dev/loop0', '/dev/loop1'])], capturedLvm(), probes({ '/dev/loop0': '/dev/loop0', '/dev/loop1': '/dev/loop1' }));
    expect(plan.actions).toEqual([]);
    expect(plan.refusals).toEqual([]);
    expect(plan.vgs[0]).toMatchObject({ exists: true, members: ['/dev/loop0', '/dev/loop1'], adds: [] });
  });

  it('extends an existing VG with a device added to its entry', () => {
    const plan = planReconcile([vg('volumegroup1', ['/dev/loop0', '/dev/loop1', '/dev/loop9'])], capturedLvm(),
      probes({ '/dev/loop0': '/dev/loop0', '/dev/loop1': '/dev/loop1', '/dev/loop9': '/dev/loop9' }));
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/loop9', 'vgextend -- volumegroup1 /dev/loop9']);
  });

  it('adopts an orphan PV (e.g. left by a kill between pvcreate and vgcreate) without pvcreate', () => {
    const plan = planReconcile([vg('newvg', ['/dev/loop3', '/dev/loop9'])], capturedLvm(),
      probes({ '/dev/loop3': probe.signature('/dev/loop3', { type: 'LVM2_member', usage: 'raid', uuid: ORPHAN_UUID }), '/dev/loop9': '/dev/loop9' }));
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/loop9', 'vgcreate -- newvg /dev/loop3', 'vgextend -- newvg /dev/loop9']);
  });

  it('recognises a member through a symlink (compares canonical paths) and passes the configured path', () => {
    const plan = planReconcile([vg('volumegroup1', ['/dev/disk/by-id/disk-a', '/dev/disk/by-id/disk-new'])], capturedLvm(),
      probes({ '/dev/disk/by-id/disk-a': '/dev/loop0', '/dev/disk/by-id/disk-new': '/dev/loop9' }));
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/disk/by-id/disk-new', 'vgextend -- volumegroup1 /dev/disk/by-id/disk-new']);
  });

  it('finds a PV by its UUID when LVM names it differently', () => {
    const lvm = capturedLvm();
    const plan = planReconcile([vg('newvg', ['/dev/mapper/x'])], lvm,
      probes({ '/dev/mapper/x': probe.signature('/dev/dm-7', { type: 'LVM2_member', uuid: ORPHAN_UUID }) }));
    expect(argvs(plan)).toEqual(['vgcreate -- newvg /dev/mapper/x']);
  });

  it('plans every desired VG in one pass', () => {
    const plan = planReconcile([vg('a', ['/dev/sdb']), vg('b', ['/dev/sdc'])], EMPTY_LVM, probes({ '/dev/sdb': '/dev/sdb', '/dev/sdc': '/dev/sdc' }));
    expect(plan.actions.map((a) => `${a.verb} ${a.vg}`)).toEqual(['pvcreate a', 'vgcreate a', 'pvcreate b', 'vgcreate b']);
  });

  it('leaves alone a VG no entry asks for (an entry removed from the ConfigMap)', () => {
    const plan = planReconcile([], capturedLvm(), probes({}));
    expect(plan).toEqual({ vgs: [], actions: [], refusals: [] });
  });

  it('reports PVs of the VG that the entry no longer lists, and removes nothing', () => {
    const plan = planReconcile([vg('volumegroup1', ['/dev/loop0'])], capturedLvm(), probes({ '/dev/loop0': '/dev/loop0' }));
    expect(plan.actions).toEqual([]);
    expect(plan.vgs[0]?.unlistedPvs).toEqual(['/dev/loop1']);
  });
});

describe('planReconcile: refusals', () => {
  const cases: [string, string, Parameters<typeof probes>[0][string] | undefined, string][] = [
    ['a relative path', 'dev/sdb', undefined, 'PathNotAbsolute'],
    ['a path with ..', '/dev/../sdb', undefined, 'PathUnsafe'],
    ['a path with shell metacharacters', '/dev/sdb;reboot', undefined, 'PathUnsafe'],
    ['a missing device', '/dev/sdz', probe.missing(), 'DeviceNotFound'],
    ['a regular file', '/var/disk.img', probe.notBlock('/var/disk.img'), 'DeviceNotBlock'],
    ['a device whose probe failed', '/dev/sdq', probe.failed(), 'DeviceProbeFailed'],
    ['a device with an ext4 filesystem', '/dev/sdd', probe.signature('/dev/sdd', { type: 'ext4', usage: 'filesystem', uuid: 'u' }), 'DeviceHasSignature'],
    ['a device with swap', '/dev/sde', probe.signature('/dev/sde', { type: 'swap', usage: 'other' }), 'DeviceHasSignature'],
    ['a device with conflicting signatures', '/dev/sdf', probe.signature('/dev/sdf', { ambivalent: true }), 'DeviceHasSignature'],
    ['a device with an LVM label LVM does not list', '/dev/sdg', probe.signature('/dev/sdg', { type: 'LVM2_member', uuid: 'nope' }), 'DeviceHasSignature'],
    ['a disk with a dos partition table', '/dev/sdh', probe.signature('/dev/sdh', { ptType: 'dos' }), 'DeviceIsPartitioned'],
    ['a disk with a gpt partition table', '/dev/sdi', probe.signature('/dev/sdi', { ptType: 'gpt' }), 'DeviceIsPartitioned'],
    ['a disk with partitions', '/dev/sdj', probe.blank('/dev/sdj', { children: [{ name: 'sdj1', type: 'part' }] }), 'DeviceIsPartitioned'],
    ['a device held by device-mapper', '/dev/sdk', probe.blank('/dev/sdk', { children: [{ name: 'crypt0', type: 'crypt' }] }), 'DeviceInUse'],
    ['a mounted device', '/dev/sdl', probe.blank('/dev/sdl', { mountpoint: '/mnt' }), 'DeviceMounted'],
    ['an optical drive', '/dev/sr0', probe.blank('/dev/sr0', { deviceType: 'rom' }), 'DeviceUnsupportedType'],
    ['a logical volume', '/dev/dm-3', probe.blank('/dev/dm-3', { deviceType: 'lvm' }), 'DeviceUnsupportedType'],
    ['a PV of another VG', '/dev/loop2', '/dev/loop2', 'DeviceInOtherVG'],
    ['a device not probed at all', '/dev/sdm', undefined, 'DeviceProbeFailed'],
  ];

  it.each(cases)('refuses %s and goes on with the rest', (_name, path, p, reason) => {
    const plan = planReconcile([vg('volumegroup1', [path, '/dev/loop0', '/dev/loop9'])], capturedLvm(),
      probes({ ...(p === undefined ? {} : { [path]: p }), '/dev/loop0': '/dev/loop0', '/dev/loop9': '/dev/loop9' }));
    expect(plan.refusals).toHaveLength(1);
    expect(plan.refusals[0]).toMatchObject({ vg: 'volumegroup1', device: path, reason });
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/loop9', 'vgextend -- volumegroup1 /dev/loop9']);
  });

  it('refuses the second of two paths that resolve to the same blank device', () => {
    const plan = planReconcile([vg('v', ['/dev/sdb', '/dev/disk/by-id/b'])], EMPTY_LVM, probes({ '/dev/sdb': '/dev/sdb', '/dev/disk/by-id/b': '/dev/sdb' }));
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/sdb', 'vgcreate -- v /dev/sdb']);
    expect(plan.refusals).toMatchObject([{ device: '/dev/disk/by-id/b', reason: 'DeviceListedTwice' }]);
  });

  it('gives a blank device listed for two VGs to the first and refuses it for the second', () => {
    const plan = planReconcile([vg('a', ['/dev/sdb']), vg('b', ['/dev/sdb', '/dev/sdc'])], EMPTY_LVM, probes({ '/dev/sdb': '/dev/sdb', '/dev/sdc': '/dev/sdc' }));
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/sdb', 'vgcreate -- a /dev/sdb', 'pvcreate -- /dev/sdc', 'vgcreate -- b /dev/sdc']);
    expect(plan.refusals).toMatchObject([{ vg: 'b', device: '/dev/sdb', reason: 'DeviceListedTwice' }]);
  });

  it('refuses, for a while, a device a command failed on instead of retrying it in a loop', () => {
    const plan = planReconcile([vg('v', ['/dev/sdb', '/dev/sdc'])], EMPTY_LVM, probes({ '/dev/sdb': '/dev/sdb', '/dev/sdc': '/dev/sdc' }),
      new Map([['/dev/sdb', 'pvcreate failed: exit 5']]));
    expect(argvs(plan)).toEqual(['pvcreate -- /dev/sdc', 'vgcreate -- v /dev/sdc']);
    expect(plan.refusals).toMatchObject([{ device: '/dev/sdb', reason: 'DeviceCommandFailed' }]);
  });

  it('plans nothing for a VG whose devices are all refused', () => {
    const plan = planReconcile([vg('v', ['/dev/sdz', 'x'])], EMPTY_LVM, probes({ '/dev/sdz': probe.missing() }));
    expect(plan.actions).toEqual([]);
    expect(plan.refusals.map((r) => r.reason)).toEqual(['DeviceNotFound', 'PathNotAbsolute']);
    expect(plan.vgs[0]).toMatchObject({ exists: false, adds: [] });
  });
});

describe('commandFor', () => {
  it('puts -- before the operands so nothing can be read as an option', () => {
    expect(commandFor({ verb: 'pvcreate', vg: 'v', device: '/dev/sdb' })).toEqual(['pvcreate', '--', '/dev/sdb']);
    expect(commandFor({ verb: 'vgcreate', vg: 'v', device: '/dev/sdb' })).toEqual(['vgcreate', '--', 'v', '/dev/sdb']);
    expect(commandFor({ verb: 'vgextend', vg: 'v', device: '/dev/sdb' })).toEqual(['vgextend', '--', 'v', '/dev/sdb']);
  });
});
