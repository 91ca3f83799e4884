import { describe, expect, it } from 'vitest';
import { LvmError } from '../../../../src/agent/adapters/lvm/errors.js';
import { LvmClient } from '../../../../src/agent/adapters/lvm/client.js';
import type { CommandResult, CommandRunner } from '../../../../src/agent/adapters/lvm/runner.js';
import { fixture } from './fixtures.js';

type Reply = Partial<Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr' | 'spawnError' | 'timedOut'>>;

/** A runner answering from a table keyed by argv[0] and the last argument. */
class ScriptedRunner implements CommandRunner {
  readonly calls: string[][] = [];
  constructor(private readonly reply: (argv: readonly string[]) => Reply) {}
  async run(argv: readonly string[]): Promise<CommandResult> {
    this.calls.push([...argv]);
    const r = this.reply(argv);
    return { argv, exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 1, timedOut: false, spawnError: null, ...r };
  }
}

const LSBLK_LOOP = fixture('lsblk-loop.json');

function deviceRunner(opts: { realpath?: Reply; lsblk?: Reply; blkid?: Reply }): ScriptedRunner {
  return new ScriptedRunner((argv) => {
    switch (argv[0]) {
      case 'realpath': return opts.realpath ?? { stdout: `${argv[argv.length - 1] ?? ''}\n` };
      case 'lsblk': return opts.lsblk ?? { stdout: LSBLK_LOOP };
      case 'blkid': return opts.blkid ?? { exitCode: 2 };
      default: return { exitCode: 99 };
    }
  });
}

describe('LvmClient.probe', () => {
  it('reports a blank block device when blkid finds nothing (exit 2)', async () => {
    const c = new LvmClient(deviceRunner({}), { lvmConfig: '' });
    expect(await c.probe('/dev/loop4')).toEqual({
      kind: 'block', canonicalPath: '/dev/loop4', deviceType: 'loop', sizeBytes: 67108864, signature: null, children: [], mountpoint: null,
    });
  });

  it('resolves symlinks and probes the canonical path', async () => {
    const r = deviceRunner({ realpath: { stdout: '/dev/loop4\n' } });
    const c = new LvmClient(r, { lvmConfig: '' });
    expect(await c.probe('/dev/disk/by-id/x')).toMatchObject({ kind: 'block', canonicalPath: '/dev/loop4' });
    expect(r.calls.map((a) => a[a.length - 1])).toEqual(['/dev/disk/by-id/x', '/dev/loop4', '/dev/loop4']);
  });

  it('reports a missing path when realpath says so', async () => {
    const c = new LvmClient(deviceRunner({ realpath: { exitCode: 1, stderr: 'realpath: /dev/sdz: No such file or directory\n' } }), { lvmConfig: '' });
    expect(await c.probe('/dev/sdz')).toEqual({ kind: 'missing', detail: '' });
  });

  it('reports a file that is not a block device when lsblk says so (exit 32)', async () => {
    const c = new LvmClient(deviceRunner({ lsblk: { exitCode: 32, stderr: 'lsblk: /tmp/x: not a block device\n' } }), { lvmConfig: '' });
    expect(await c.probe('/tmp/x')).toMatchObject({ kind: 'notBlock', canonicalPath: '/tmp/x' });
  });

  it('reads a signature (exit 0) and an ambivalent one (exit 8)', async () => {
    const c0 = new LvmClient(deviceRunner({ blkid: { stdout: fixture('blkid-ext4.txt') } }), { lvmConfig: '' });
    expect(await c0.probe('/dev/loop4')).toMatchObject({ signature: { type: 'ext4', usage: 'filesystem' } });
    const c8 = new LvmClient(deviceRunner({ blkid: { exitCode: 8 } }), { lvmConfig: '' });
    expect(await c8.probe('/dev/loop4')).toMatchObject({ signature: { ambivalent: true } });
  });

  it('reports a probe failure for any other blkid exit code', async () => {
    const c = new LvmClient(deviceRunner({ blkid: { exitCode: 4, stderr: 'usage' } }), { lvmConfig: '' });
    expect(await c.probe('/dev/loop4')).toMatchObject({ kind: 'failed' });
  });

  it('throws LvmError when a probe command cannot be started', async () => {
    const c = new LvmClient(deviceRunner({ realpath: { exitCode: null, spawnError: 'spawn realpath ENOENT' } }), { lvmConfig: '' });
    await expect(c.probe('/dev/loop4')).rejects.toBeInstanceOf(LvmError);
  });
});

describe('LvmClient reports', () => {
  it('asks pvs for JSON in bytes and canonicalises PV names', async () => {
    const r = new ScriptedRunner((argv) => {
      if (argv[0] === 'pvs') return { stdout: fixture('pvs-two-vgs-and-orphan.json') };
      if (argv[0] === 'realpath') return { stdout: `${argv[argv.length - 1] ?? ''}\n` };
      return { exitCode: 99 };
    });
    const pvs = await new LvmClient(r, { lvmConfig: '' }).listPvs();
    expect(pvs).toHaveLength(4);
    expect(r.calls[0]).toEqual(['pvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'pv_name,vg_name,pv_size,pv_free,pv_uuid,dev_size']);
  });

  it('inserts --config after the LVM verb when an LVM config is set, and only for LVM commands', async () => {
    const r = new ScriptedRunner((argv) => (argv[0] === 'vgs' ? { stdout: fixture('vgs-empty.json') } : { stdout: '/dev/loop4\n' }));
    const c = new LvmClient(r, { lvmConfig: 'devices {obtain_device_list_from_udev=0}' });
    await c.listVgs();
    await c.apply(['vgextend', '--', 'vg1', '/dev/loop4']);
    expect(r.calls[0]?.slice(0, 3)).toEqual(['vgs', '--config', 'devices {obtain_device_list_from_udev=0}']);
    expect(r.calls[1]).toEqual(['vgextend', '--config', 'devices {obtain_device_list_from_udev=0}', '--', 'vg1', '/dev/loop4']);
  });

  it('throws LvmError carrying argv, exit code and stderr when a report fails', async () => {
    const r = new ScriptedRunner(() => ({ exitCode: 5, stderr: '  Volume group "x" not found\n' }));
    const err = await new LvmClient(r, { lvmConfig: '' }).listVgs().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LvmError);
    expect(err).toMatchObject({ code: 'CommandFailed', exitCode: 5, argv: expect.arrayContaining(['vgs']) });
    expect((err as LvmError).stderr).toContain('not found');
  });

  it('throws a ParseFailed LvmError when the report is not JSON', async () => {
    const r = new ScriptedRunner(() => ({ stdout: 'garbage' }));
    await expect(new LvmClient(r, { lvmConfig: '' }).listVgs()).rejects.toMatchObject({ code: 'ParseFailed' });
  });
});

describe('LvmClient.apply', () => {
  it('returns a failed outcome with LVM\'s message on a non-zero exit', async () => {
    const stderr = '  WARNING: ext4 signature detected on /dev/loop2 at offset 1080. Wipe it? [y/n]: [n]\n  Aborted wiping of ext4.\n';
    const c = new LvmClient(new ScriptedRunner(() => ({ exitCode: 5, stderr })), { lvmConfig: '' });
    const out = await c.apply(['pvcreate', '--', '/dev/loop2']);
    expect(out.kind).toBe('failed');
    expect(out.kind === 'failed' && out.message).toContain('exit 5');
  });

  it('refuses to run anything but pvcreate, vgcreate and vgextend', async () => {
    const r = new ScriptedRunner(() => ({}));
    const c = new LvmClient(r, { lvmConfig: '' });
    for (const argv of [['vgremove', 'vg'], ['pvremove', '/dev/x'], ['wipefs', '-a', '/dev/x'], []]) {
      expect((await c.apply(argv)).kind).toBe('failed');
    }
    expect(r.calls).toEqual([]);
  });
});
