// The local cluster's child processes: one managed child (Component), the process-wide safety net
// that kills every child on 'exit', and the detached shell "reaper" that kills them and removes the
// temp dirs if this process dies without running its exit handlers (SIGKILL, vitest abort).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export const LOG_TAIL_LINES = 40;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The last `lines` lines of a log or of a command's output. */
export function tail(text: string, lines = LOG_TAIL_LINES): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Process-wide safety net: whatever happens to the test, children die with this process.

const livePids = new Set<number>();
/** Temp dirs of running control planes, removed on 'exit' (unless kept). */
const liveDirs = new Set<string>();
let exitHookInstalled = false;

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Removes `dirs` on this process's 'exit' unless removeDirs() ran first. */
export function removeDirsOnExit(dirs: readonly string[]): void {
  for (const d of dirs) liveDirs.add(d);
}

export function removeDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
    liveDirs.delete(d);
  }
}

/** True when a process with this PID exists (signal 0 probes without sending anything). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// One managed child process

export interface StopOptions {
  /** SIGTERM (default, graceful) or SIGKILL (a crash). */
  signal?: 'SIGTERM' | 'SIGKILL';
  /** SIGKILL after this long. Default 5000 ms. */
  graceMs?: number;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Component {
  child: ChildProcess | undefined;
  exited: Promise<ExitInfo> | undefined;
  exitInfo: ExitInfo | undefined;
  readonly everPids: number[] = [];

  constructor(
    readonly name: string,
    /** Mutable so kube-scheduler can be restarted from another binary (SchedulerOptions.binary). */
    public bin: string,
    readonly args: () => string[],
    readonly logPath: string,
    private readonly onPidsChanged: () => void,
  ) {}

  start(): void {
    const fd = openSync(this.logPath, 'a');
    writeFileSync(fd, `\n=== ${new Date().toISOString()} starting ${this.bin} ${this.args().join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(this.bin, this.args(), { stdio: ['ignore', fd, fd], detached: false });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitInfo = undefined;
    const pid = child.pid;
    if (pid !== undefined) {
      livePids.add(pid);
      this.everPids.push(pid);
    }
    this.exited = new Promise<ExitInfo>((res) => {
      const done = (info: ExitInfo) => {
        if (pid !== undefined) livePids.delete(pid);
        this.exitInfo = info;
        this.onPidsChanged();
        res(info);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (err) => {
        // spawn failure (ENOENT, EACCES): no 'exit' follows
        writeFileSync(this.logPath, `spawn error: ${err.message}\n`, { flag: 'a' });
        done({ code: -1, signal: null });
      });
    });
    this.onPidsChanged();
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  logTail(): string {
    try {
      return tail(readFileSync(this.logPath, 'utf8'));
    } catch {
      return '(no log)';
    }
  }

  failure(what: string): Error {
    const exit = this.exitInfo ? ` (exited with ${this.exitInfo.signal ?? `code ${this.exitInfo.code}`})` : '';
    return new Error(
      `${this.name} ${what}${exit}. Log ${this.logPath} (removed on stop unless KEEP_CONTROLPLANE=1), last ${LOG_TAIL_LINES} lines:\n${this.logTail()}`,
    );
  }

  /** Polls `probe` until true; fails fast when the process exits. */
  async waitReady(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw this.failure('exited during start-up');
      if (await probe()) return;
      await sleep(100);
    }
    throw this.failure(`was not ready after ${timeoutMs} ms`);
  }

  async stop({ signal = 'SIGTERM', graceMs = 5000 }: StopOptions = {}): Promise<void> {
    const child = this.child;
    if (!child || !this.running || !this.exited) return;
    // A frozen (SIGSTOP) child ignores SIGTERM until it is continued.
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    child.kill(signal);
    const timer = setTimeout(() => {
      if (this.running) child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The reaper

export interface Reaper {
  readonly pid: number | undefined;
  /** SIGKILLs the reaper (this process is alive, so it has nothing to do) and waits until it is reaped. */
  stop(): Promise<void>;
}

/**
 * A detached shell that waits for this process to go, then SIGKILLs the PIDs listed in `pidFile` and
 * (unless `keep`) removes `dirs`. It outlives a SIGKILL of this process, which no exit hook does.
 */
export function startReaper(pidFile: string, keep: boolean, dirs: readonly [string, string]): Reaper {
  const reaper = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; [ -s "$2" ] && kill -9 $(cat "$2") 2>/dev/null; [ "$3" = keep ] || rm -rf "$4" "$5"; exit 0',
      'gang-cp-reaper',
      String(process.pid),
      pidFile,
      keep ? 'keep' : 'remove',
      ...dirs,
    ],
    { detached: true, stdio: 'ignore' },
  );
  reaper.unref();
  const pid = reaper.pid;
  const exited = new Promise<void>((r) => {
    reaper.once('exit', () => r());
    reaper.once('error', () => r());
  });
  return {
    pid,
    async stop() {
      if (pid === undefined || !isPidAlive(pid)) return;
      reaper.ref(); // keep the event loop alive until its exit is reaped
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
      await exited; // reaped, so the PID is really gone (no zombie)
    },
  };
}
