// podman for the container image test (test/e2e/image.test.ts): the image build script, containers run
// detached and removed even if the test process dies, and one-shot runs. Every call uses the repo's
// containers.conf (runc, ulimits this machine grants) unless CONTAINERS_CONF is set.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/image/build.sh');
const ENV = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(REPO_ROOT, 'scripts/image/containers.conf') };
const INSTALL = 'apt-get install -y podman runc mmdebstrap skopeo (as root; .ci/run installs them)';

/** Throws, naming what to install, unless podman, runc and skopeo are on PATH (mmdebstrap: build-base.sh says so if it needs it). */
export function requirePodman(): void {
  const missing = ['podman', 'runc', 'skopeo'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env: { PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin` } }).status !== 0);
  if (missing.length > 0) throw new Error(`the container image test needs ${missing.join(', ')}, not installed: ${INSTALL}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the container image test runs rootful podman (and builds the stand-in base with mmdebstrap --mode=root): run it as root');
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never throws for a non-zero exit; `code` says). */
export function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((res) => {
    execFile(cmd, args, { env: ENV, cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      res({ code, stdout, stderr: err !== null && typeof err.code !== 'number' ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

export const podman = (args: string[], timeoutMs?: number): Promise<Run> => run('podman', args, timeoutMs);

/** Like run, but a non-zero exit throws with the command's output. */
export async function must(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).slice(-4000)}`);
  return r.stdout;
}

/**
 * A container started with `podman run -d`: conmon, not this process, is its parent, so a watcher shell
 * (detached) removes it when this process exits, however it exits.
 */
export class Container {
  private constructor(readonly name: string) {}

  static async start(name: string, runArgs: string[]): Promise<Container> {
    await podman(['rm', '-f', '--ignore', name]);
    const watcher = spawn('/bin/sh', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; podman rm -f --ignore "$2" >/dev/null 2>&1', 'image-test-reaper', String(process.pid), name], {
      detached: true,
      stdio: 'ignore',
      env: ENV,
    });
    watcher.unref();
    await must('podman', ['run', '-d', '--name', name, ...runArgs]);
    return new Container(name);
  }

  async logs(): Promise<string> {
    const r = await podman(['logs', this.name]);
    return `${r.stdout}${r.stderr}`;
  }

  async running(): Promise<boolean> {
    const r = await podman(['inspect', '--format', '{{.State.Running}}', this.name]);
    return r.code === 0 && r.stdout.trim() === 'true';
  }

  /** `podman stop` (SIGTERM, then SIGKILL after graceSeconds): how long it took and the exit code. */
  async stop(graceSeconds: number): Promise<{ ms: number; exitCode: number }> {
    const t = Date.now();
    await must('podman', ['stop', '-t', String(graceSeconds), this.name], (graceSeconds + 30) * 1000);
    const ms = Date.now() - t;
    const exitCode = Number((await must('podman', ['inspect', '--format', '{{.State.ExitCode}}', this.name])).trim());
    return { ms, exitCode };
  }

  async remove(): Promise<void> {
    await podman(['rm', '-f', '--ignore', this.name]);
  }
}
