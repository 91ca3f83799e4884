// `--load <cores>`: busy-loop child processes that compete for the CPU during a run's measurement,
// the same on every side, and the bench's child bookkeeping that kills them (and the extender) on
// every way out: stop(), the process 'exit' event (normal end, process.exit after an error) and
// SIGINT/SIGTERM/SIGHUP (turned into process.exit so the 'exit' hooks run). A busy loop also
// exits by itself once its parent is gone (SIGKILL of the bench), checking process.ppid.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { log } from './cluster-util.js';

const liveChildren = new Set<ChildProcess>();
let hooksInstalled = false;

function killAll(): void {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Kill tracked children on 'exit', and exit (running every 'exit' hook, the control plane's too) on a signal. */
export function installChildHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping children and exiting`);
      killAll();
      process.exit(code);
    });
  }
}

/** Tracks a child so it is killed when this process exits; untracked when it exits. */
export function trackChild(child: ChildProcess): void {
  installChildHooks();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

// Checks its parent every 2^24 iterations (a few ms): orphaned (the bench was SIGKILLed), it exits.
const BUSY_LOOP = 'const p = process.ppid; let i = 0; for (;;) { if ((++i & 0xffffff) === 0 && process.ppid !== p) process.exit(0); }';

export interface CpuLoad {
  cores: number;
  pids: number[];
  /** CPU seconds the busy loops got so far (utime + stime from /proc). */
  cpuS(clkTck: number): number;
  /** Kills the loops (SIGKILL) and waits for their exit; idempotent. */
  stop(): Promise<void>;
}

function ticks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

export function startLoad(cores: number): CpuLoad {
  const children: ChildProcess[] = [];
  const exited: Promise<void>[] = [];
  const lastTicks = new Map<number, number>();
  for (let i = 0; i < cores; i++) {
    const child = spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: 'ignore' });
    trackChild(child);
    exited.push(new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    }));
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, 0); // nice 0 even when the bench itself runs niced
      } catch {
        // not permitted (an unprivileged user under a niced parent): keeps the parent's nice
      }
    }
    children.push(child);
  }
  const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  let stopping: Promise<void> | undefined;
  return {
    cores,
    pids,
    cpuS(clkTck) {
      let t = 0;
      for (const pid of pids) {
        const now = ticks(pid);
        if (now > 0) lastTicks.set(pid, now);
        t += lastTicks.get(pid) ?? 0;
      }
      return t / clkTck;
    },
    stop() {
      stopping ??= (async () => {
        for (const pid of pids) {
          const t = ticks(pid);
          if (t > 0) lastTicks.set(pid, t); // the last reading before they go
        }
        for (const c of children) {
          try {
            c.kill('SIGKILL');
          } catch {
            // gone
          }
        }
        await Promise.all(exited);
      })();
      return stopping;
    },
  };
}

export const loadAvg = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);
