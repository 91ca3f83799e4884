// Proves the README's one-command demo: `npx tsx src/cmd/demo.ts` exits 0, tells both seed stories
// with their key lines, and leaves no etcd / kube-apiserver / kube-scheduler behind.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Processes whose command line mentions any of `needles` (other sessions may run control planes too). */
function processesMentioning(needles: string[]): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (needles.some((n) => cmd.includes(n))) out.push(`${entry}: ${cmd.slice(0, 200)}`);
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function runDemo(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const t = Date.now();
  return new Promise((res, rej) => {
    const child = spawn('npx', ['tsx', 'src/cmd/demo.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', rej);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, ms: Date.now() - t });
    });
  });
}

describe('npm run demo', () => {
  it('exits 0, tells both seed stories, and stops everything it started', async () => {
    // A cold control-plane build takes ~4-5 min; a warm run ~15-30 s.
    const r = await runDemo(540_000);
    console.info(`demo ran in ${(r.ms / 1000).toFixed(1)} s`);
    const context = `--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    expect(r.code, context).toBe(0);
    const lines = [
      'first build takes about 4-5 minutes',
      'Result: all 5 Pending, none bound',
      'GangUnschedulable (extender):   gang default/tf-smoke-gpu: needs 8 nvidia.com/gpu for 4 pods, 4 free',
      'FailedScheduling (scheduler):',
      'Adding gpu-2 and gpu-3',
      'Result: all 5 bound',
      'Result: local-test -> edge-0; lvm-pvc-test Bound',
      'local-test landed on edge-0',
      'DEMO OK',
    ];
    for (const l of lines) expect(r.stdout, context).toContain(l);
    expect(r.stdout, context).toMatch(/edge-1 +refused: VolumeGroup \S*volumegroup1 not found on node/);
    expect(r.stdout, context).toMatch(/edge-2 +refused: \S*volumegroup1: requested 50Mi, free 20Mi/);
    // As root with lvm2 the demo runs the real node agent on loop devices; otherwise it says the reports are simulated.
    const root = typeof process.getuid === 'function' && process.getuid() === 0 && spawnSync('sh', ['-c', 'command -v pvcreate']).status === 0;
    if (root) {
      expect(r.stdout, context).toContain('node-resource-manager ran pvcreate x3 and vgcreate');
      expect(r.stdout, context).toMatch(/edge-0 +\S+volumegroup1 +size 756Mi +free 756Mi +\(3 PVs\)/);
      // Its loop devices are detached again.
      expect(spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout).not.toMatch(/nrm-lvm-/);
    } else {
      expect(r.stdout, context).toContain('Capacity reports are SIMULATED');
    }
    // Each worker (2 GPUs) on its own 2-GPU node.
    const placed = /Result: all 5 bound[\s\S]*?\n\n/.exec(r.stdout)?.[0] ?? '';
    const workerNodes = [...placed.matchAll(/tf-smoke-gpu-worker-\d\s+Scheduled\s+(gpu-\d)/g)].map((m) => m[1]);
    expect(new Set(workerNodes).size, placed).toBe(4);
    // Nothing of the demo's control plane is left: no process mentions its directory or etcd, and the directory is gone.
    const m = /\(files in (\S+), etcd (\S+)\)/.exec(r.stdout);
    expect(m, context).not.toBeNull();
    const [, dir = '', etcdUrl = ''] = m ?? [];
    expect(processesMentioning([dir, etcdUrl])).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 600_000);
});
