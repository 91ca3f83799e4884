// Proves `npm run up` / `npm run down` (issue 15): `npx tsx src/cmd/up.ts` cleans up a stale session,
// prints its "ready" line with a stable kubeconfig, keeps the cluster running, refuses a second `up`;
// the printed examples (examples/local-cluster-*.yaml) are bound through the printed kubeconfig; then
// `npx tsx src/cmd/down.ts` stops it: every recorded PID is gone, the API port is closed, the loop
// devices are detached (as root), and a second `down` says nothing is running.
// The session directory is a temporary one (EDGE_GANG_UP_DIR), so a developer's own `up` is not touched.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, KubeConfig, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { waitFor } from '../../src/localcluster/objects.js';
import { isPidAlive } from '../../src/localcluster/processes.js';
import type { Session } from '../../src/localcluster/session.js';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const UP_DIR = mkdtempSync(join(tmpdir(), 'edge-gang-up-test-'));
const env = { ...process.env, EDGE_GANG_UP_DIR: UP_DIR };
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0 && spawnSync('sh', ['-c', 'command -v pvcreate']).status === 0;

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function start(entry: string): Run {
  const child = spawn('npx', ['tsx', entry], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  const r: Run = { child, stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (r.stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (r.stderr += c));
  r.exited = new Promise((res) => child.once('exit', (code) => res(code)));
  return r;
}

async function runToEnd(entry: string, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = start(entry);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  const code = await r.exited;
  clearTimeout(timer);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

function exampleObjects(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(join(REPO_ROOT, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
}

let up: Run | undefined;

afterAll(async () => {
  // Whatever failed: stop the cluster and clean up the session directory.
  if (up && up.child.exitCode === null) {
    await runToEnd('src/cmd/down.ts');
    up.child.kill('SIGKILL');
  }
  rmSync(UP_DIR, { recursive: true, force: true });
}, 120_000);

describe('npm run up / npm run down', () => {
  it('runs the local cluster until down, binds the printed examples, refuses a second up, and leaves nothing behind', async () => {
    // A stale session (its up process is gone) is cleaned up with a message.
    const gone = spawnSync('true');
    mkdirSync(UP_DIR, { recursive: true });
    const stale: Session = { version: 1, state: 'ready', pid: gone.pid ?? 999_999, cmdline: 'gone', startedAt: new Date(0).toISOString(), processes: [], loopDevices: [], dirs: [] };
    writeFileSync(join(UP_DIR, 'session.json'), JSON.stringify(stale));

    const t0 = Date.now();
    up = start('src/cmd/up.ts');
    const run = up;
    const ctx = () => `--- up stdout ---\n${run.stdout}\n--- up stderr ---\n${run.stderr}`;
    const ready = await waitFor(() => {
      if (run.child.exitCode !== null) throw new Error(`up exited with ${run.child.exitCode}\n${ctx()}`);
      return /^ready: kubeconfig (\S+) \(API (\S+), up pid (\d+)\)$/m.exec(run.stdout);
    }, 540_000, 'the ready line of up', 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${ctx()}`);
    });
    console.info(`up was ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const [, kubeconfigPath = '', apiUrl = '', upPid = ''] = ready;
    expect(run.stdout, ctx()).toContain('Found a stale session');
    expect(kubeconfigPath).toBe(join(UP_DIR, 'kubeconfig'));
    expect(run.stdout).toContain(`export KUBECONFIG=${kubeconfigPath}`);
    for (const f of ['examples/local-cluster-gang.yaml', 'examples/local-cluster-lvm.yaml']) {
      expect(run.stdout).toContain(`kubectl apply -f ${f}`);
      expect(existsSync(join(REPO_ROOT, f))).toBe(true);
    }
    const session = JSON.parse(readFileSync(join(UP_DIR, 'session.json'), 'utf8')) as Session;
    expect(session.pid).toBe(Number(upPid));
    expect(session.processes.map((p) => p.name)).toEqual(expect.arrayContaining(['etcd', 'kube-apiserver', 'kube-scheduler']));
    if (isRoot) {
      expect(run.stdout, ctx()).toContain("published edge-0's report");
      expect(session.loopDevices).toHaveLength(3);
      expect(session.processes.map((p) => p.name)).toContain('node-resource-manager');
    } else {
      expect(run.stdout, ctx()).toContain('node-resource-manager not started');
    }

    // The printed kubeconfig reaches the cluster; the printed examples are bound there.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    for (const o of [...exampleObjects('examples/local-cluster-gang.yaml'), ...exampleObjects('examples/local-cluster-lvm.yaml')]) {
      if (o.kind === 'Pod') await core.createNamespacedPod({ namespace: 'default', body: o as V1Pod });
      else await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: o as V1PersistentVolumeClaim });
    }
    const pods = await waitFor(async () => {
      const list = (await core.listNamespacedPod({ namespace: 'default' })).items;
      return list.length === 6 && list.every((p) => p.spec?.nodeName) ? list : undefined;
    }, 90_000, 'the 5 gang pods and local-test bound');
    const node = (name: string) => pods.find((p) => p.metadata?.name === name)?.spec?.nodeName;
    expect(node('local-test')).toBe('edge-0');
    expect(new Set([0, 1, 2, 3].map((i) => node(`tf-smoke-gpu-worker-${i}`)))).toEqual(new Set(['gpu-0', 'gpu-1', 'gpu-2', 'gpu-3']));
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'lvm-pvc-test', namespace: 'default' });
    expect(pvc.status?.phase).toBe('Bound');

    // A second up is refused while this one runs, and says how to stop it.
    const second = await runToEnd('src/cmd/up.ts');
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${upPid}`);
    expect(second.stderr).toContain('npm run down');
    expect(run.child.exitCode).toBeNull();

    // down stops it.
    const down = await runToEnd('src/cmd/down.ts');
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.stdout).toContain(`sent SIGTERM to up (pid ${upPid})`);
    expect(down.stdout).toContain('Stopped:');
    expect(await run.exited, ctx()).toBe(0);
    expect(run.stdout).toContain('stopped: everything `npm run up` started has stopped.');
    for (const p of [Number(upPid), ...session.processes.map((x) => x.pid)]) expect(isPidAlive(p), `pid ${p}`).toBe(false);
    expect(await portOpen(Number(new URL(apiUrl).port))).toBe(false);
    expect(existsSync(kubeconfigPath)).toBe(false);
    expect(existsSync(join(UP_DIR, 'session.json'))).toBe(false);
    for (const d of session.dirs) expect(existsSync(d), d).toBe(false);
    if (isRoot) {
      const losetup = spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout;
      expect(losetup).not.toContain(session.loopDir ?? 'no-loop-dir');
      expect(existsSync(session.loopDir ?? '')).toBe(false);
    }

    // A second down: nothing is running.
    const again = await runToEnd('src/cmd/down.ts');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing is running');
  }, 900_000);
});
