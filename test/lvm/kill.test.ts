// Acceptance 7 (issue 5) on real LVM: the offline CLI is SIGKILLed between pvcreate and vgcreate (held there by the
// NRM_TEST_PAUSE_AFTER_PVCREATE_MS hook); the next start adopts the orphan PV and converges, nothing lost.

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LAB_LVM_CONFIG, LoopLab, seedConfigMap } from '../../src/localcluster/loop-lab.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cmd', 'node-resource-manager.ts');
const lab = new LoopLab();
let devices: string[] = [];
let configFile = '';

beforeAll(async () => {
  await lab.start(async () => {
    devices = [lab.loop('k1'), lab.loop('k2'), lab.loop('k3')];
    configFile = join(lab.dir, 'topo.yaml');
    await writeFile(configFile, seedConfigMap(lab.vg('volumegroup1'), devices));
  });
});

beforeEach(() => {
  lab.assertReady();
});

afterAll(async () => {
  await lab.tearDown();
});

/** Runs the offline CLI (node --import tsx, so the killed process is the agent itself). */
function cli(env: Record<string, string>, onStderr?: (text: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--config-file', configFile, '--node-name', 'edge-1', '--node-labels', 'kubernetes.io/storagetype=lvm', '--once'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NRM_LVM_CONFIG: LAB_LVM_CONFIG, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      onStderr?.(stderr, () => child.kill('SIGKILL'));
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('real LVM: killed mid-reconcile', () => {
  it('SIGKILL between pvcreate and vgcreate leaves an orphan PV and no VG', async () => {
    const r = await cli({ NRM_TEST_PAUSE_AFTER_PVCREATE_MS: '60000' }, (text, kill) => {
      if (text.includes('nrm-test-hook: paused after pvcreate')) kill();
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stderr).toContain(`paused after pvcreate ${devices[0]}`);
    const state = await lab.state();
    expect(state.vgs.size).toBe(0);
    expect(state.pvs.get(devices[0] as string)).toBe('');
  });

  it('the next start converges: the orphan PV is adopted and every device ends in the VG', async () => {
    const r = await cli({});
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; refusedCount: number; commands: { argv: string[] }[]; capacity: { vgs: { name: string; pvs: { name: string }[] }[] } };
    expect(report.ok).toBe(true);
    expect(report.refusedCount).toBe(0);
    // No pvcreate again on the orphan: it is adopted as it is.
    expect(report.commands.map((c) => c.argv.join(' '))).toEqual([
      `pvcreate -- ${devices[1]}`, `pvcreate -- ${devices[2]}`,
      `vgcreate -- ${lab.vg('volumegroup1')} ${devices[0]}`, `vgextend -- ${lab.vg('volumegroup1')} ${devices[1]}`, `vgextend -- ${lab.vg('volumegroup1')} ${devices[2]}`,
    ]);
    expect(report.capacity.vgs[0]?.pvs.map((p) => p.name).sort()).toEqual([...devices].sort());
    const again = await cli({});
    expect((JSON.parse(again.stdout) as { commands: unknown[] }).commands).toEqual([]);
  });
});
