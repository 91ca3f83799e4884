import { describe, expect, it } from 'vitest';
import { checkDevicePath } from '../../src/agent/paths.js';

describe('checkDevicePath', () => {
  it.each([
    '/dev/sdb', '/dev/sdb1', '/dev/nvme0n1p2', '/dev/loop7', '/dev/mapper/mpatha',
    '/dev/disk/by-id/ata-Samsung_SSD_860_EVO_S3Z9NB0K123456', '/dev/disk/by-path/pci-0000:00:1f.2-ata-1',
    '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4', '/dev/disk/by-id/scsi-SATA_disk@1,2+x=y',
  ])('accepts %s', (path) => {
    expect(checkDevicePath(path)).toEqual({ kind: 'ok' });
  });

  it.each(['sdb', 'dev/sdb', './dev/sdb', '../dev/sdb', '', ' /dev/sdb', '~/disk'])('refuses the relative path %j as PathNotAbsolute', (path) => {
    expect(checkDevicePath(path)).toMatchObject({ kind: 'refused', reason: 'PathNotAbsolute' });
  });

  it.each([
    '/dev/../etc/passwd', '/dev/sdb/..', '/dev/./sdb', '/dev//sdb', '/dev/sdb/', '/',
    '/dev/sdb;reboot', '/dev/sdb && rm -rf /', '/dev/$(id)', '/dev/`id`', '/dev/sd?', '/dev/sd*', '/dev/sdb|x',
    '/dev/sdb>x', '/dev/sdb<x', '/dev/sd b', '/dev/sdb\n', '/dev/sdb\u0000', "/dev/'sdb'", '/dev/"sdb"', '/dev/sdb\\x20',
    '/dev/{a,b}', '/dev/[ab]', '/dev/sdb#', '/dev/sdb!', '/dev/ßdb', `/dev/${'a'.repeat(5000)}`,
  ])('refuses the unsafe path %j as PathUnsafe', (path) => {
    expect(checkDevicePath(path)).toMatchObject({ kind: 'refused', reason: 'PathUnsafe' });
  });
});
