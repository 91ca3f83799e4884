import { describe, expect, it } from 'vitest';
import { runOffline } from '../../src/agent/offline.js';
import { FakeLvm } from './fake-lvm.js';
import { SEED_CONFIGMAP } from './seed.js';

const input = (configText: string, dryRun = false) => ({
  node: 'edge-1', configFile: '/etc/topo.yaml', configText, labels: { 'kubernetes.io/storagetype': 'lvm' }, dryRun, now: () => new Date('2025-01-01T00:00:00Z'),
});

describe('runOffline', () => {
  it('reconciles the seed ConfigMap once and reports VGs and refused devices with exit code 0', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb1').addDevice('/dev/sdb2');
    const { exitCode, report } = await runOffline(lvm, input(SEED_CONFIGMAP));
    expect(exitCode).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.capacity?.vgs.map((v) => [v.name, v.pvs.length])).toEqual([['volumegroup1', 2]]);
    expect(report.refusedCount).toBe(1);
    expect(report.capacity?.refused[0]).toMatchObject({ device: '/dev/sdc', reason: 'DeviceNotFound' });
    expect(report.commands.map((c) => c.argv[0])).toEqual(['pvcreate', 'pvcreate', 'vgcreate', 'vgextend']);
  });

  it('plans without changing anything in dry-run', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb1');
    const { report } = await runOffline(lvm, input(SEED_CONFIGMAP, true));
    expect(lvm.mutations()).toEqual([]);
    expect(report.planned).toEqual([['pvcreate', '--', '/dev/sdb1'], ['vgcreate', '--', 'volumegroup1', '/dev/sdb1']]);
  });

  it('runs nothing and exits 2 for an unusable configuration', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb1');
    const { exitCode, report } = await runOffline(lvm, input('volumegroup: [oops'));
    expect(exitCode).toBe(2);
    expect(report.ok).toBe(false);
    expect(report.configErrors.length).toBeGreaterThan(0);
    expect(lvm.commands).toEqual([]);
  });

  it('exits 1 on an internal error (LVM unreadable)', async () => {
    const lvm = new FakeLvm();
    lvm.broken = true;
    const { exitCode, report } = await runOffline(lvm, input(SEED_CONFIGMAP));
    expect(exitCode).toBe(1);
    expect(report.error).toMatch(/cannot run/);
  });
});
