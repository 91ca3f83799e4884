// Running host commands: argv arrays only, never a shell; stdin closed (pvcreate prompts otherwise and, with stdin
// closed, answers "n": lvm-anchors 5.2); LC_ALL=C so messages can be matched; a time limit; an optional prefix such
// as `nsenter --target 1 --mount --uts --ipc --net --pid --` to run in the host's namespaces from a pod.

import { spawn } from 'node:child_process';

export interface CommandResult {
  /** argv as asked, without the prefix. */
  readonly argv: readonly string[];
  /** null when the process did not exit normally (spawn failure, signal, time limit). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  /** Set when the process could not be started (e.g. ENOENT). */
  readonly spawnError: string | null;
}

export interface CommandRunner {
  run(argv: readonly string[]): Promise<CommandResult>;
}

export interface ExecRunnerOptions {
  /** Prepended to every argv, e.g. ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--']. */
  readonly prefix: readonly string[];
  readonly timeoutMs: number;
  /** Output beyond this is dropped (a report of thousands of PVs is still far below the default). */
  readonly maxOutputBytes?: number;
  /** SIGTERM first; SIGKILL this long after, if the command still runs. */
  readonly killGraceMs?: number;
}

/** The child's whole environment: nothing inherited, so no locale or LVM_* variable changes behaviour. */
export const COMMAND_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
  LANG: 'C',
  // lvm-anchors 5.1: silences "File descriptor N leaked on ... invocation".
  LVM_SUPPRESS_FD_WARNINGS: '1',
});

export class ExecRunner implements CommandRunner {
  private readonly maxOutputBytes: number;
  private readonly killGraceMs: number;

  constructor(private readonly options: ExecRunnerOptions) {
    this.maxOutputBytes = options.maxOutputBytes ?? 16 * 1024 * 1024;
    this.killGraceMs = options.killGraceMs ?? 5_000;
  }

  run(argv: readonly string[]): Promise<CommandResult> {
    const full = [...this.options.prefix, ...argv];
    const [file, ...args] = full;
    const started = performance.now();
    return new Promise((resolve) => {
      if (file === undefined) {
        resolve({ argv, exitCode: null, signal: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, spawnError: 'empty command' });
        return;
      }
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let timedOut = false;
      let spawnError: string | null = null;
      let settled = false;
      const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...COMMAND_ENV }, shell: false });
      let kill: NodeJS.Timeout | undefined;
      const term = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        kill = setTimeout(() => child.kill('SIGKILL'), this.killGraceMs);
      }, this.options.timeoutMs);
      child.stdout.on('data', (b: Buffer) => {
        if (outBytes < this.maxOutputBytes) out.push(b);
        outBytes += b.length;
      });
      child.stderr.on('data', (b: Buffer) => {
        if (errBytes < this.maxOutputBytes) err.push(b);
        errBytes += b.length;
      });
      const finish = (exitCode: number | null, signal: string | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(term);
        if (kill !== undefined) clearTimeout(kill);
        resolve({
          argv,
          exitCode,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          durationMs: Math.round(performance.now() - started),
          timedOut,
          spawnError,
        });
      };
      child.on('error', (e) => {
        spawnError = e.message;
        finish(null, null);
      });
      child.on('close', (code, signal) => finish(timedOut ? null : code, signal));
    });
  }
}
