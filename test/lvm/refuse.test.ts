// Acceptance 2 (issue 5) on real LVM: an ext4 device, a partitioned disk, a PV of another VG and a missing path
// are each refused with their own reason, their bytes are unchanged, and the rest goes on. Unsafe paths never
// reach a command.

import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runOffline, type OfflineReport } from '../../src/agent/offline.js';
import type { RecordingRunner } from '../../src/agent/adapters/lvm/recording-runner.js';
import { LoopLab, seedConfigMap, sh } from '../../src/localcluster/loop-lab.js';
import { sha256 } from './lab.js';

const LABELS = { 'kubernetes.io/storagetype': 'lvm' };
const lab = new LoopLab();
const dev: Record<string, string> = {};
const before: Record<string, string> = {};
let report: OfflineReport;
let recorder: RecordingRunner;
let link = '';
let plainFile = '';

beforeAll(async () => {
  await lab.start(async () => {
    dev.ext4 = lab.loop('ext4', { prepare: (f) => sh('mkfs.ext4', ['-q', '-F', f]) });
    dev.dos = lab.loop('dos', { prepare: (f) => sh('sh', ['-c', `printf 'label: dos\\n,10M,L\\n' | sfdisk -q ${f}`]) });
    dev.gpt = lab.loop('gpt', { prepare: (f) => sh('sh', ['-c', `printf 'label: gpt\\n,10M,L\\n' | sfdisk -q ${f}`]) });
    dev.other = lab.loop('other');
    dev.blank = lab.loop('blank');
    // Test setup: a VG that is not the configured one (removed in afterAll with the run's other VGs).
    sh('vgcreate', ['--', lab.vg('othervg'), dev.other]);
    link = join(lab.dir, 'by-id-blank');
    await symlink(dev.blank, link);
    plainFile = join(lab.dir, 'plain-file');
    await writeFile(plainFile, 'not a block device');
    for (const k of ['ext4', 'dos', 'gpt', 'other']) before[k] = await sha256(dev[k] as string);

    const client = lab.client();
    recorder = client.recorder;
    const devices = [dev.ext4, dev.dos, dev.gpt, dev.other, '/dev/nrm-test-does-not-exist', plainFile, 'relative/disk', `${lab.dir}/../etc`, `${dev.blank};reboot`, dev.blank, link] as string[];
    ({ report } = await runOffline(client.client, {
      node: 'edge-1', configFile: 'test', configText: seedConfigMap(lab.vg('volumegroup1'), devices), labels: LABELS, dryRun: false, now: () => new Date(),
    }));
  });
});

beforeEach(() => {
  lab.assertReady();
});

afterAll(async () => {
  await lab.tearDown();
});

function reasonOf(device: string): string | undefined {
  return report.capacity?.refused.find((r) => r.device === device)?.reason;
}

describe('real LVM: refused devices', () => {
  it('refuses a device holding an ext4 filesystem (DeviceHasSignature)', () => {
    expect(reasonOf(dev.ext4 as string)).toBe('DeviceHasSignature');
  });

  it('refuses a disk with a dos or gpt partition table (DeviceIsPartitioned)', () => {
    expect(reasonOf(dev.dos as string)).toBe('DeviceIsPartitioned');
    expect(reasonOf(dev.gpt as string)).toBe('DeviceIsPartitioned');
  });

  it('refuses a PV of another VG (DeviceInOtherVG)', () => {
    expect(reasonOf(dev.other as string)).toBe('DeviceInOtherVG');
    expect(report.capacity?.refused.find((r) => r.device === dev.other)?.message).toContain(lab.vg('othervg'));
  });

  it('refuses a missing path (DeviceNotFound) and a regular file (DeviceNotBlock)', () => {
    expect(reasonOf('/dev/nrm-test-does-not-exist')).toBe('DeviceNotFound');
    expect(reasonOf(plainFile)).toBe('DeviceNotBlock');
  });

  it('refuses relative, non-normal and metacharacter paths without running any command on them', () => {
    expect(reasonOf('relative/disk')).toBe('PathNotAbsolute');
    expect(reasonOf(`${lab.dir}/../etc`)).toBe('PathUnsafe');
    expect(reasonOf(`${dev.blank};reboot`)).toBe('PathUnsafe');
    const args = recorder.calls.flatMap((c) => c.argv);
    expect(args).not.toContain('relative/disk');
    expect(args.some((a) => a.includes(';') || a.includes('..'))).toBe(false);
  });

  it('leaves every refused device byte-for-byte unchanged', async () => {
    for (const k of ['ext4', 'dos', 'gpt', 'other']) expect(await sha256(dev[k] as string), k).toBe(before[k]);
  });

  it('goes on with the rest: the blank device joins the VG, and a symlink to it counts as the same device', () => {
    expect(report.ok).toBe(true);
    expect(report.capacity?.vgs.map((v) => [v.name, v.pvs.map((p) => p.name)])).toEqual([[lab.vg('volumegroup1'), [dev.blank]]]);
    // The symlink resolves to the blank device: it was added once (one pvcreate), and is now simply a member.
    expect(report.commands.map((c) => c.argv.join(' '))).toEqual([`pvcreate -- ${dev.blank}`, `vgcreate -- ${lab.vg('volumegroup1')} ${dev.blank}`]);
    expect(reasonOf(link)).toBeUndefined();
    expect(report.refusedCount).toBe(9);
  });

  it('never ran a forbidden verb or flag', () => {
    for (const c of recorder.calls) {
      expect(['pvs', 'vgs', 'realpath', 'lsblk', 'blkid', 'pvcreate', 'vgcreate', 'vgextend']).toContain(c.argv[0]);
      for (const a of c.argv) expect(['-f', '-ff', '-y', '--yes', '--force']).not.toContain(a);
    }
  });
});
