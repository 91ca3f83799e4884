// Acceptance 4 and 5 (issue 5) on real LVM, driven through the running agent: label matching for all four
// operators including a label change while running, and a malformed configuration that runs no LVM command and
// leaves the previous one in force.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NodeAgent, type AgentLog } from '../../src/agent/agent.js';
import { runOffline } from '../../src/agent/offline.js';
import type { RecordingRunner } from '../../src/agent/adapters/lvm/recording-runner.js';
import { LoopLab, seedConfigMap } from '../../src/localcluster/loop-lab.js';

const lab = new LoopLab();
const dev: Record<string, string> = {};
const silent: AgentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
let agent: NodeAgent;
let recorder: RecordingRunner;

beforeAll(async () => {
  await lab.start(async () => {
    for (const k of ['in', 'notin', 'exists', 'dne', 'spare']) dev[k] = lab.loop(k);
    const c = lab.client();
    recorder = c.recorder;
    agent = new NodeAgent(
      { lvm: c.client, cache: null, publisher: null, metrics: null, log: silent, now: () => new Date() },
      { nodeName: 'edge-1', dryRun: false, heartbeatIntervalMs: 60_000, failureRetryMs: 600_000, maxQueuedEvents: 100 },
    );
  });
});

beforeEach(() => {
  lab.assertReady();
});

afterAll(async () => {
  await agent?.idle();
  await lab.tearDown();
});

function fourOperators(): string {
  const entry = (name: string, key: string, operator: string, value: string | null, device: string) => [
    `- name: ${lab.vg(name)}`, `  key: ${key}`, `  operator: ${operator}`, ...(value === null ? [] : [`  value: ${value}`]),
    '  topology:', '    type: device', '    devices:', `    - ${device}`,
  ].join('\n');
  return ['volumegroup:',
    entry('in', 'example.com/storage', 'In', 'lvm', dev.in as string),
    entry('notin', 'example.com/tier', 'NotIn', 'cold', dev.notin as string),
    entry('exists', 'example.com/zone', 'Exists', null, dev.exists as string),
    entry('dne', 'example.com/no-lvm', 'DoesNotExist', null, dev.dne as string),
    ''].join('\n');
}

async function vgNames(): Promise<string[]> {
  return [...(await lab.state()).vgs.keys()].sort();
}

describe('real LVM: label operators and configuration changes through the agent', () => {
  it('creates the VGs of the entries whose In / NotIn / Exists / DoesNotExist selector matches the labels', async () => {
    agent.offerLabels({ 'example.com/storage': 'lvm', 'example.com/tier': 'cold' }, 'api');
    expect(agent.offerConfig(fourOperators(), 'api').kind).toBe('applied');
    await agent.idle();
    // In matches (storage=lvm); NotIn does not (tier=cold); Exists does not (no zone); DoesNotExist matches.
    expect(await vgNames()).toEqual([lab.vg('dne'), lab.vg('in')]);
  });

  it('follows a label change while running: newly matching VGs are created, no longer matching ones stay', async () => {
    expect(agent.offerLabels({ 'example.com/storage': 'lvm', 'example.com/tier': 'hot', 'example.com/zone': 'a', 'example.com/no-lvm': '' }, 'api')).toBe(true);
    await agent.idle();
    expect(await vgNames()).toEqual([lab.vg('dne'), lab.vg('exists'), lab.vg('in'), lab.vg('notin')]);
    expect(agent.lastResult()?.report.vgs.map((v) => v.name).sort()).toEqual([lab.vg('exists'), lab.vg('in'), lab.vg('notin')]);
  });

  it('rejects a malformed configuration without running any LVM command, and keeps the previous one in force', async () => {
    const callsBefore = recorder.calls.length;
    const malformed = [
      'volumegroup:\n- name: x\n  key: [unclosed\n',
      fourOperators().replace('operator: In', 'operator: Near'),
      fourOperators().replace('type: device', 'type: nvme-namespace'),
    ];
    for (const text of malformed) expect(agent.offerConfig(text, 'api').kind).toBe('rejected');
    await agent.idle();
    expect(recorder.calls.length).toBe(callsBefore);

    // The previous configuration is still in force: adding a device to it takes effect at the next pass.
    expect(agent.currentConfig()?.config.entries.map((e) => e.name)).toEqual(['in', 'notin', 'exists', 'dne'].map((n) => lab.vg(n)));
    expect(agent.offerConfig(fourOperators().replace(`    - ${dev.in}`, `    - ${dev.in}\n    - ${dev.spare}`), 'api').kind).toBe('applied');
    await agent.idle();
    expect((await lab.state()).pvs.get(dev.spare as string)).toBe(lab.vg('in'));
  });

  it('in offline mode, a malformed file runs no LVM command at all', async () => {
    const c = lab.client();
    const out = await runOffline(c.client, {
      node: 'edge-1', configFile: 'test', configText: seedConfigMap(lab.vg('never'), [dev.spare as string]).replace('operator: In', 'operator: [x'),
      labels: {}, dryRun: false, now: () => new Date(),
    });
    expect(out.exitCode).toBe(2);
    expect(c.recorder.calls).toEqual([]);
  });
});
