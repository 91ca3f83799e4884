// The agent's LvmPort on real LVM: pvs/vgs JSON reports, device probes (realpath, lsblk, blkid -p), and the
// planned pvcreate/vgcreate/vgextend. Every command goes through a CommandRunner (argv only, no shell).

import type { DeviceProbe, ObservedPv, ObservedVg } from '../../model.js';
import type { ActionOutcome, LvmPort } from '../../reconcile.js';
import { MUTATING_VERBS } from '../../plan.js';
import { LvmError, firstLines } from './errors.js';
import { LSBLK_COLUMNS, PVS_FIELDS, VGS_FIELDS, parseBlkidExport, parseLsblk, parsePvsReport, parseVgsReport } from './parse.js';
import type { CommandResult, CommandRunner } from './runner.js';

export interface LvmClientOptions {
  /**
   * Passed to every LVM command as `--config <text>`, e.g. for a host or container without udev:
   * `activation {udev_sync=0 udev_rules=0} devices {obtain_device_list_from_udev=0}`. Empty: none.
   */
  readonly lvmConfig: string;
}

/** The LVM report options: JSON, integer bytes, no unit suffix (lvm-anchors 5.1). */
export const REPORT_ARGS = ['--reportformat', 'json', '--units', 'b', '--nosuffix'] as const;

const LVM_VERBS = new Set<string>(['pvs', 'vgs', ...MUTATING_VERBS]);

export class LvmClient implements LvmPort {
  constructor(private readonly runner: CommandRunner, private readonly options: LvmClientOptions) {}

  /** argv with `--config` inserted after an LVM verb when configured. */
  private withConfig(argv: readonly string[]): string[] {
    const [verb, ...rest] = argv;
    if (verb === undefined) return [];
    if (!LVM_VERBS.has(verb) || this.options.lvmConfig === '') return [verb, ...rest];
    return [verb, '--config', this.options.lvmConfig, ...rest];
  }

  private async run(argv: readonly string[]): Promise<CommandResult> {
    const result = await this.runner.run(this.withConfig(argv));
    if (result.spawnError !== null) {
      throw new LvmError('SpawnFailed', `cannot run ${argv[0] ?? ''} (${result.spawnError}); is lvm2/util-linux installed, and the command prefix right?`, result.argv, null, result.stderr);
    }
    if (result.timedOut) throw new LvmError('Timeout', `timed out after ${result.durationMs} ms`, result.argv, null, result.stderr);
    return result;
  }

  private async report(argv: readonly string[]): Promise<string> {
    const result = await this.run(argv);
    if (result.exitCode !== 0) throw new LvmError('CommandFailed', 'LVM report failed', result.argv, result.exitCode, result.stderr);
    return result.stdout;
  }

  async listPvs(): Promise<ObservedPv[]> {
    const argv = ['pvs', ...REPORT_ARGS, '-o', PVS_FIELDS.join(',')];
    const parsed = parsePvsReport(await this.report(argv));
    if (parsed.kind === 'invalid') throw new LvmError('ParseFailed', parsed.reason, argv, 0, '');
    const out: ObservedPv[] = [];
    for (const pv of parsed.value) {
      // pvs prints kernel names (or lvm.conf preferred_names); compare devices by their realpath.
      let canonicalName = pv.name;
      if (pv.name.startsWith('/')) {
        const r = await this.run(['realpath', '-e', '--', pv.name]);
        if (r.exitCode === 0 && r.stdout.trim() !== '') canonicalName = r.stdout.trim();
      }
      out.push({ ...pv, canonicalName });
    }
    return out;
  }

  async listVgs(): Promise<ObservedVg[]> {
    const argv = ['vgs', ...REPORT_ARGS, '-o', VGS_FIELDS.join(',')];
    const parsed = parseVgsReport(await this.report(argv));
    if (parsed.kind === 'invalid') throw new LvmError('ParseFailed', parsed.reason, argv, 0, '');
    return parsed.value;
  }

  async probe(path: string): Promise<DeviceProbe> {
    const real = await this.run(['realpath', '-e', '--', path]);
    if (real.exitCode !== 0) {
      if (/No such file or directory/i.test(real.stderr)) return { kind: 'missing', detail: '' };
      return { kind: 'failed', detail: `realpath exit ${String(real.exitCode)}: ${firstLines(real.stderr)}` };
    }
    const canonicalPath = real.stdout.trim();
    if (!canonicalPath.startsWith('/')) return { kind: 'failed', detail: `realpath printed ${JSON.stringify(canonicalPath)}` };

    const ls = await this.run(['lsblk', '-J', '-b', '-o', LSBLK_COLUMNS.join(','), '--', canonicalPath]);
    if (ls.exitCode !== 0) {
      if (/not a block device/i.test(ls.stderr)) return { kind: 'notBlock', canonicalPath, detail: firstLines(ls.stderr) };
      return { kind: 'failed', detail: `lsblk exit ${String(ls.exitCode)}: ${firstLines(ls.stderr)}` };
    }
    const dev = parseLsblk(ls.stdout);
    if (dev.kind === 'invalid') return { kind: 'failed', detail: dev.reason };

    // blkid -p reads the device itself (lsblk's FSTYPE/PTTYPE come from udev and are empty without it:
    // lvm-anchors 5.3). Exit 2: nothing found; 8: ambivalent (several conflicting signatures).
    const blk = await this.run(['blkid', '-p', '-o', 'export', '--', canonicalPath]);
    let signature = null;
    if (blk.exitCode === 0) signature = parseBlkidExport(blk.stdout);
    else if (blk.exitCode === 8) signature = parseBlkidExport(blk.stdout, true);
    else if (blk.exitCode !== 2) return { kind: 'failed', detail: `blkid exit ${String(blk.exitCode)}: ${firstLines(blk.stderr)}` };

    return {
      kind: 'block',
      canonicalPath,
      deviceType: dev.value.type,
      sizeBytes: dev.value.sizeBytes,
      signature,
      children: dev.value.children,
      mountpoint: dev.value.mountpoint,
    };
  }

  async apply(argv: readonly string[]): Promise<ActionOutcome> {
    const verb = argv[0];
    if (verb === undefined || !(MUTATING_VERBS as readonly string[]).includes(verb)) {
      // The planner never produces anything else; refuse rather than trust it.
      return { kind: 'failed', message: `refusing to run ${JSON.stringify(argv)}: not a planned LVM command` };
    }
    let result: CommandResult;
    try {
      result = await this.run(argv);
    } catch (err) {
      return { kind: 'failed', message: (err as Error).message };
    }
    if (result.exitCode === 0) return { kind: 'ok' };
    return { kind: 'failed', message: `exit ${String(result.exitCode)}: ${firstLines(result.stderr)}` };
  }
}
