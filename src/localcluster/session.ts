// The session file of `npm run up` (up.ts) and what `npm run down` does with it. One session per user:
// ${XDG_CACHE_HOME:-~/.cache}/gang-lvm-scheduler/up/session.json (or $EDGE_GANG_UP_DIR), next to the
// kubeconfig the session writes. It records the `up` process, every child PID with its command line
// (a PID is only signalled while its command line is still the recorded one, so a reused PID is never
// hit), the loop devices with their backing files' directory and VG, and the temporary directories.
//
// `down` signals a live `up` to stop (it stops everything in order); if `up` is gone (SIGKILL, a crash),
// it kills the recorded processes, removes the VG, detaches the loop devices and removes the
// directories itself. `up` claims the file with an exclusive create, so two `up`s cannot both start.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isPidAlive, sleep } from './processes.js';

export interface SessionProcess {
  name: string;
  pid: number;
  /** /proc/PID/cmdline with NULs as spaces, when the session was written. */
  cmdline: string;
}

export interface Session {
  version: 1;
  /** 'starting' until the cluster is up, then 'ready'. */
  state: 'starting' | 'ready';
  /** The `up` process. */
  pid: number;
  cmdline: string;
  startedAt: string;
  kubeconfig?: string;
  apiUrl?: string;
  extenderUrl?: string;
  /** Child processes (etcd, kube-apiserver, kube-scheduler, the reaper, node-resource-manager). */
  processes: SessionProcess[];
  loopDevices: string[];
  /** The directory of the loop devices' backing files (a device is only detached while it is backed from there). */
  loopDir?: string;
  vgName?: string;
  /** Temporary directories to remove if `up` could not. */
  dirs: string[];
}

export interface SessionPaths {
  dir: string;
  file: string;
  kubeconfig: string;
}

export type Say = (line: string) => void;

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function sessionPaths(env: NodeJS.ProcessEnv = process.env): SessionPaths {
  const dir = env.EDGE_GANG_UP_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gang-lvm-scheduler', 'up');
  return { dir, file: join(dir, 'session.json'), kubeconfig: join(dir, 'kubeconfig') };
}

/** The command line of a live process, or undefined. */
export function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

/** True while `pid` runs the recorded command line (a reused PID is another process). */
export function isSameProcess(p: { pid: number; cmdline: string }): boolean {
  if (!isPidAlive(p.pid)) return false;
  const now = cmdlineOf(p.pid);
  return now === undefined || now === p.cmdline;
}

export function readSession(paths: SessionPaths): Session | 'none' | 'corrupt' {
  let text: string;
  try {
    text = readFileSync(paths.file, 'utf8');
  } catch {
    return 'none';
  }
  try {
    const s = JSON.parse(text) as Session;
    return typeof s.pid === 'number' && Array.isArray(s.processes) ? s : 'corrupt';
  } catch {
    return 'corrupt';
  }
}

/** Writes the session atomically (temp file + rename). */
export function writeSession(paths: SessionPaths, s: Session): void {
  const tmp = `${paths.file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, paths.file);
}

/** Removes the session file if it is this process's. */
export function removeOwnSession(paths: SessionPaths): void {
  const s = readSession(paths);
  if (typeof s === 'object' && s.pid !== process.pid) return;
  rmSync(paths.file, { force: true });
}

export function newSession(): Session {
  return { version: 1, state: 'starting', pid: process.pid, cmdline: cmdlineOf(process.pid) ?? '', startedAt: new Date().toISOString(), processes: [], loopDevices: [], dirs: [] };
}

/**
 * Claims the session file for this process (exclusive create). A live session is returned (the caller
 * refuses to start); a stale one (its `up` is gone) is cleaned up, with messages, and the claim retried.
 */
export async function claimSession(paths: SessionPaths, say: Say): Promise<{ kind: 'claimed'; session: Session } | { kind: 'running'; session: Session }> {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    const session = newSession();
    try {
      writeFileSync(paths.file, `${JSON.stringify(session, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
      return { kind: 'claimed', session };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const old = readSession(paths);
    if (typeof old === 'object' && isSameProcess(old)) return { kind: 'running', session: old };
    if (typeof old === 'object') {
      say(`Found a stale session (${paths.file}): its up process (pid ${old.pid}) is gone. Cleaning up what it left:`);
      await cleanUpLeftovers(old, paths, say);
    } else {
      say(`Removing an unreadable session file ${paths.file}.`);
    }
    rmSync(paths.file, { force: true });
  }
}

/** Loop devices (of `devices`) attached with a backing file under `dir`, per `losetup`. */
export function attachedLoops(devices: readonly string[], dir: string | undefined): string[] {
  if (devices.length === 0 || dir === undefined) return [];
  const r = spawnSync('losetup', ['--list', '--noheadings', '--raw', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8', env: { PATH } });
  if (r.status !== 0) return [];
  const attached = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const [name, ...file] = line.trim().split(' ');
    if (name && file.join(' ').startsWith(`${dir}/`)) attached.add(name);
  }
  return devices.filter((d) => attached.has(d));
}

/** Recorded processes still running their recorded command line. */
export function liveProcesses(s: Session): SessionProcess[] {
  return s.processes.filter(isSameProcess);
}

async function killProcesses(procs: SessionProcess[], say: Say): Promise<void> {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGTERM');
      say(`  sent SIGTERM to ${p.name} (pid ${p.pid})`);
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && procs.some(isSameProcess)) await sleep(100);
  for (const p of procs.filter(isSameProcess)) {
    try {
      process.kill(p.pid, 'SIGKILL');
      say(`  ${p.name} (pid ${p.pid}) did not stop in 5 s: sent SIGKILL`);
    } catch {
      // gone meanwhile
    }
  }
}

function run(cmd: string, args: string[]): { ok: boolean; text: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH, LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' } });
  return { ok: r.status === 0, text: `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

/** What a gone `up` left: its processes, its VG and loop devices, its directories and kubeconfig. */
export async function cleanUpLeftovers(s: Session, paths: SessionPaths, say: Say): Promise<void> {
  const procs = liveProcesses(s);
  if (procs.length > 0) await killProcesses(procs, say);
  else say('  no recorded process is running');
  const loops = attachedLoops(s.loopDevices, s.loopDir);
  if (loops.length > 0 && s.vgName) {
    const r = run('vgremove', ['-f', '--', s.vgName]);
    say(r.ok ? `  removed VolumeGroup ${s.vgName}` : `  vgremove ${s.vgName}: ${r.text || 'failed'}`);
  }
  for (const dev of loops) {
    const r = run('losetup', ['-d', dev]);
    say(r.ok ? `  detached loop device ${dev}` : `  losetup -d ${dev}: ${r.text || 'failed'}`);
  }
  if (s.loopDevices.length > 0 && loops.length === 0) say(`  loop devices ${s.loopDevices.join(', ')} already detached`);
  for (const d of [...s.dirs, ...(s.loopDir ? [s.loopDir] : [])]) {
    if (!existsSync(d)) continue;
    rmSync(d, { recursive: true, force: true });
    say(`  removed ${d}`);
  }
  if (existsSync(paths.kubeconfig)) {
    rmSync(paths.kubeconfig, { force: true });
    say(`  removed ${paths.kubeconfig}`);
  }
}

/** `npm run down`: stops the session's `up` (or cleans up after it). Returns the exit code. */
export async function runDown(paths: SessionPaths, say: Say, waitMs = 60_000): Promise<number> {
  const s = readSession(paths);
  if (s === 'none') {
    say(`Nothing is running: no session file at ${paths.file}.`);
    return 0;
  }
  if (s === 'corrupt') {
    rmSync(paths.file, { force: true });
    say(`Nothing is running: removed the unreadable session file ${paths.file}.`);
    return 0;
  }
  if (!isSameProcess(s)) {
    say(`The up process (pid ${s.pid}) is gone; cleaning up what it left:`);
    await cleanUpLeftovers(s, paths, say);
    rmSync(paths.file, { force: true });
    say('Done: nothing of the session is running.');
    return 0;
  }
  say(`Stopping the local cluster: sent SIGTERM to up (pid ${s.pid}) ...`);
  process.kill(s.pid, 'SIGTERM');
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && isSameProcess(s)) await sleep(200);
  if (isSameProcess(s)) {
    say(`  up (pid ${s.pid}) did not stop within ${waitMs / 1000} s: sent SIGKILL`);
    process.kill(s.pid, 'SIGKILL');
    await sleep(500);
  }
  const procs = liveProcesses(s);
  const loops = attachedLoops(s.loopDevices, s.loopDir);
  if (procs.length > 0 || loops.length > 0 || existsSync(paths.file)) {
    say('  up left something behind; cleaning up:');
    await cleanUpLeftovers(s, paths, say);
    rmSync(paths.file, { force: true });
  }
  const stopped = [`up (pid ${s.pid})`, ...s.processes.map((p) => `${p.name} (pid ${p.pid})`)].join(', ');
  say(`Stopped: ${stopped}.`);
  if (s.loopDevices.length > 0) say(`Loop devices ${s.loopDevices.join(', ')} detached${s.vgName ? `, VolumeGroup ${s.vgName} removed` : ''}.`);
  say(`Removed ${paths.kubeconfig} and the session file.`);
  return 0;
}
