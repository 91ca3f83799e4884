import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentLog } from '../../src/agent/agent.js';
import { createNodeAgentDaemon } from '../../src/agent/assemble.js';
import { loadNodeResourceManagerConfig, type NodeResourceManagerConfig } from '../../src/config/node-resource-manager.js';
import { FakeLvm } from './fake-lvm.js';
import { oneEntry } from './seed.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fileModeConfig(file: string): NodeResourceManagerConfig {
  const loaded = loadNodeResourceManagerConfig({
    flags: { 'node-name': 'edge-1', 'config-file': file, 'node-labels': 'storage=lvm', 'metrics-port': '0' },
    env: {},
  });
  if (loaded.kind !== 'ok') throw new Error(loaded.errors.join('; '));
  return loaded.config;
}

function recordingLog(): AgentLog & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug: () => {}, info: () => {}, warn: () => {}, error: (_obj, msg) => errors.push(msg ?? '') };
}

function topologyFile(text: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'nrm-assemble-'));
  dirs.push(dir);
  const file = join(dir, 'topo.yaml');
  if (text !== null) writeFileSync(file, text);
  return file;
}

describe('createNodeAgentDaemon in file mode', () => {
  it('reconciles the file at start with the labels from --node-labels', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb');
    const daemon = createNodeAgentDaemon(fileModeConfig(topologyFile(oneEntry({}))), recordingLog(), { testHookLine: () => {}, lvm });
    await daemon.listen();
    await daemon.start();
    expect(lvm.vgNames()).toEqual(['vg1']);
    expect(daemon.agent.currentConfig()?.source).toBe('file');
    expect(daemon.agent.currentLabels()).toEqual({ storage: 'lvm' });
    expect(await daemon.metrics.registry.metrics()).toMatch(/^nrm_reconcile_total\{node="edge-1",result="converged"\} [1-9]/m);
    await daemon.stop();
  });

  it('logs a file it cannot read and runs no command without a configuration', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb');
    const log = recordingLog();
    const daemon = createNodeAgentDaemon(fileModeConfig(topologyFile(null)), log, { testHookLine: () => {}, lvm });
    await daemon.start();
    expect(log.errors).toContain('cannot read the topology file; the last good configuration stays in force');
    expect(daemon.agent.currentConfig()).toBeNull();
    expect(lvm.vgNames()).toEqual([]);
    await daemon.stop();
  });
});
