// Real-LVM lab: sparse files on loop devices, a unique VG name prefix per run, and cleanup of only what the run
// created. Used by the real-LVM tests (test/lvm, test/e2e/nrm-live.test.ts) and by `npm run demo`. Needs root and
// lvm2, util-linux, e2fsprogs, fdisk; without them the tests FAIL (never skip) and say what is missing.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LvmClient } from '../agent/adapters/lvm/client.js';
import { RecordingRunner } from '../agent/adapters/lvm/recording-runner.js';
import { ExecRunner } from '../agent/adapters/lvm/runner.js';

const TOOLS: Record<string, string> = {
  pvcreate: 'lvm2', vgcreate: 'lvm2', vgextend: 'lvm2', vgremove: 'lvm2', pvs: 'lvm2', vgs: 'lvm2',
  losetup: 'mount (util-linux)', lsblk: 'util-linux', blkid: 'util-linux', realpath: 'coreutils',
  'mkfs.ext4': 'e2fsprogs', sfdisk: 'fdisk', truncate: 'coreutils', sha256sum: 'coreutils',
};

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Throws (so the test fails, not skips) unless this runs as root with every tool installed. */
export function requireRootAndTools(): void {
  const problems: string[] = [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    problems.push('the real-LVM tests must run as root (they create loop devices and LVM volume groups): run `npm run test:e2e` as root');
  }
  const missing = Object.keys(TOOLS).filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env: { PATH } }).status !== 0);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => TOOLS[t]))].join(' ');
    problems.push(`missing commands: ${missing.join(', ')}; install them with \`apt-get install -y lvm2 util-linux mount e2fsprogs fdisk coreutils\` (needed: ${pkgs})`);
  }
  if (problems.length > 0) throw new Error(`real-LVM tests cannot run:\n  - ${problems.join('\n  - ')}`);
}

/** The LVM `--config` override of the lab's LvmClient (NRM_LVM_CONFIG, as for the agent); empty by default. */
export const LAB_LVM_CONFIG = process.env.NRM_LVM_CONFIG ?? '';

/** Runs a command with a fixed PATH and the C locale; returns its stdout, throws on a non-zero exit. */
export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH, LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' } });
}

export class LoopLab {
  /** Unique per run: every VG the tests create starts with it, and cleanup removes only those. */
  readonly prefix = `nrmt${randomBytes(4).toString('hex')}`;
  dir = '';
  private readonly loops: string[] = [];
  private setupError: unknown = null;
  private canCleanUp = false;

  /**
   * For beforeAll: checks root and tools, makes the temporary directory, runs the file's own setup. An error is kept
   * and thrown by assertReady() in every test, so each test FAILS with it (a throwing beforeAll would only skip them).
   */
  async start(setup: () => Promise<void> | void = () => {}): Promise<void> {
    try {
      requireRootAndTools();
      this.canCleanUp = true;
      this.dir = await mkdtemp(join(tmpdir(), 'nrm-lvm-'));
      await setup();
    } catch (err) {
      this.setupError = err;
    }
  }

  /** For beforeEach: fails the test if start() failed. */
  assertReady(): void {
    if (this.setupError !== null) throw this.setupError;
  }

  vg(name: string): string {
    return `${this.prefix}_${name}`;
  }

  /** A sparse file of sizeMiB, prepared by `prepare(file)` (mkfs, sfdisk) before it is attached to a loop device. */
  loop(name: string, opts: { sizeMiB?: number; prepare?: (file: string) => void } = {}): string {
    const file = join(this.dir, `${name}.img`);
    sh('truncate', ['-s', `${opts.sizeMiB ?? 64}M`, file]);
    opts.prepare?.(file);
    const dev = sh('losetup', ['-f', '--show', file]).trim();
    this.loops.push(dev);
    return dev;
  }

  /** LVM state as `vgs`/`pvs` report it, for the test's own checks. */
  async state(): Promise<{ vgs: Map<string, { sizeBytes: number; freeBytes: number }>; pvs: Map<string, string> }> {
    const client = this.client().client;
    const vgs = new Map((await client.listVgs()).filter((v) => v.name.startsWith(this.prefix)).map((v) => [v.name, { sizeBytes: v.sizeBytes, freeBytes: v.freeBytes }]));
    const pvs = new Map((await client.listPvs()).filter((p) => this.loops.includes(p.canonicalName)).map((p) => [p.canonicalName, p.vgName]));
    return { vgs, pvs };
  }

  /** A real LvmClient whose commands are recorded. */
  client(): { client: LvmClient; recorder: RecordingRunner } {
    const recorder = new RecordingRunner(new ExecRunner({ prefix: [], timeoutMs: 60_000 }));
    return { client: new LvmClient(recorder, { lvmConfig: LAB_LVM_CONFIG }), recorder };
  }

  async tearDown(): Promise<void> {
    // Test cleanup only: remove the VGs this run created (by prefix), detach its loops, delete its files.
    if (!this.canCleanUp) return;
    const errors: string[] = [];
    try {
      const out = sh('vgs', ['--reportformat', 'json', '-o', 'vg_name']);
      const names = (JSON.parse(out) as { report: { vg: { vg_name: string }[] }[] }).report.flatMap((r) => r.vg.map((v) => v.vg_name));
      for (const name of names.filter((n) => n.startsWith(`${this.prefix}_`))) {
        try {
          sh('vgremove', ['-f', '--', name]);
        } catch (err) {
          errors.push(`vgremove ${name}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      errors.push(`vgs: ${(err as Error).message}`);
    }
    for (const dev of this.loops) {
      try {
        sh('losetup', ['-d', dev]);
      } catch (err) {
        errors.push(`losetup -d ${dev}: ${(err as Error).message}`);
      }
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`cleanup: ${errors.join('; ')}`);
  }
}

/** The seed's ConfigMap (seed 002, 8.3) with this run's VG name and devices. */
export function seedConfigMap(vgName: string, devices: string[], key = 'kubernetes.io/storagetype', operator = 'In', value = 'lvm'): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: node-resource-topo',
    '  namespace: kube-system',
    'data:',
    '  volumegroup: |-',
    '    volumegroup:',
    `    - name: ${vgName}`,
    `      key: ${key}`,
    `      operator: ${operator}`,
    `      value: ${value}`,
    '      topology:',
    '        type: device',
    '        devices:',
    ...devices.map((d) => `        - ${JSON.stringify(d)}`),
    '',
  ].join('\n');
}
