import { describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../src/agent/reconcile.js';
import { vg } from './builders.js';
import { FakeLvm } from './fake-lvm.js';

describe('reconcileOnce', () => {
  it('creates the VG from blank devices, and a second run changes nothing', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb').addDevice('/dev/sdc');
    const first = await reconcileOnce(lvm, [vg('v', ['/dev/sdb', '/dev/sdc'])]);
    expect(first.executed.map((e) => `${e.argv.join(' ')}:${e.outcome.kind}`)).toEqual([
      'pvcreate -- /dev/sdb:ok', 'pvcreate -- /dev/sdc:ok', 'vgcreate -- v /dev/sdb:ok', 'vgextend -- v /dev/sdc:ok',
    ]);
    expect(lvm.vgMembers('v')).toEqual(['/dev/sdb', '/dev/sdc']);
    expect(first.lvm.vgs.map((x) => x.name)).toEqual(['v']);
    const before = lvm.mutations().length;
    const second = await reconcileOnce(lvm, [vg('v', ['/dev/sdb', '/dev/sdc'])]);
    expect(second.executed).toEqual([]);
    expect(lvm.mutations().length).toBe(before);
  });

  it('never probes or passes on an unsafe path', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb');
    const out = await reconcileOnce(lvm, [vg('v', ['sdb', '/dev/../dev/sdb', '/dev/sdb;reboot', '/dev/sdb'])]);
    const probed = lvm.commands.filter((c) => c[0] === 'probe').map((c) => c[1]);
    expect(new Set(probed)).toEqual(new Set(['/dev/sdb']));
    expect(lvm.mutations().every((c) => c[c.length - 1] === '/dev/sdb')).toBe(true);
    expect(out.refusals.map((r) => r.reason)).toEqual(['PathNotAbsolute', 'PathUnsafe', 'PathUnsafe']);
  });

  it('turns a failing command into a refusal of that device and still adds the others in the same call', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb').addDevice('/dev/sdc').addDevice('/dev/sdd');
    lvm.failWith = (argv) => (argv[0] === 'pvcreate' && argv[2] === '/dev/sdb' ? 'exit 5: device is busy' : null);
    const out = await reconcileOnce(lvm, [vg('v', ['/dev/sdb', '/dev/sdc', '/dev/sdd'])]);
    expect(lvm.vgMembers('v')).toEqual(['/dev/sdc', '/dev/sdd']);
    expect(out.refusals).toMatchObject([{ device: '/dev/sdb', reason: 'DeviceCommandFailed' }]);
    expect(out.failed.get('/dev/sdb')).toMatch(/pvcreate failed: exit 5/);
    expect(out.rounds).toBe(2);
    expect(out.executed.filter((e) => e.outcome.kind === 'skipped').length).toBeGreaterThan(0);
  });

  it('runs nothing that changes LVM in dry-run, and returns the plan', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb');
    const out = await reconcileOnce(lvm, [vg('v', ['/dev/sdb'])], { dryRun: true });
    expect(lvm.mutations()).toEqual([]);
    expect(out.plan.actions.map((a) => a.verb)).toEqual(['pvcreate', 'vgcreate']);
  });

  it('throws when LVM cannot be read (an internal error), before running anything', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb');
    lvm.broken = true;
    await expect(reconcileOnce(lvm, [vg('v', ['/dev/sdb'])])).rejects.toThrow(/cannot run/);
    expect(lvm.mutations()).toEqual([]);
  });
});
