import { describe, expect, it } from 'vitest';
import { NodeAgent, type AgentLog, type CachedState, type MetricsPort, type PublisherPort, type StateCachePort } from '../../src/agent/agent.js';
import type { NodeLabels } from '../../src/agent/desired.js';
import type { AgentEvent } from '../../src/agent/pass.js';
import { parseCapacityReport, type CapacityReport } from '../../src/wire/capacity.js';
import { FakeLvm } from './fake-lvm.js';
import { SEED_BARE, oneEntry } from './seed.js';

const SEED_LABELS = { 'kubernetes.io/storagetype': 'lvm' };

class FakeCache implements StateCachePort {
  saved: { configText: string | null; labels: NodeLabels | null };
  constructor(initial: CachedState = { configText: null, labels: null }) {
    this.saved = { ...initial };
  }
  async load(): Promise<CachedState> {
    return { ...this.saved };
  }
  async saveConfig(text: string): Promise<void> {
    this.saved.configText = text;
  }
  async saveLabels(labels: NodeLabels): Promise<void> {
    this.saved.labels = labels;
  }
}

/** An API server that can be switched off. */
class FakeApi implements PublisherPort {
  up = true;
  readonly reports: CapacityReport[] = [];
  readonly events: AgentEvent[] = [];
  async publishCapacity(report: CapacityReport): Promise<void> {
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
    this.reports.push(report);
  }
  async recordEvent(event: AgentEvent): Promise<void> {
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
    this.events.push(event);
  }
}

const silent: AgentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function setup(opts: { cache?: FakeCache; api?: FakeApi | null; lvm?: FakeLvm; heartbeatIntervalMs?: number } = {}) {
  const lvm = opts.lvm ?? new FakeLvm().addDevice('/dev/sdb1').addDevice('/dev/sdb2').addDevice('/dev/sdc');
  const cache = opts.cache ?? new FakeCache();
  const api = opts.api === undefined ? new FakeApi() : opts.api;
  const clock = { ms: Date.parse('2025-01-01T00:00:00Z') };
  const metricsSeen: string[] = [];
  const metrics: MetricsPort = {
    onPass: (_p, result) => metricsSeen.push(result),
    onApiReachable: (r) => metricsSeen.push(`api:${r}`),
    onConfigValid: (v) => metricsSeen.push(`config:${v}`),
  };
  const agent = new NodeAgent(
    { lvm, cache, publisher: api, metrics, log: silent, now: () => new Date(clock.ms) },
    { nodeName: 'edge-1', dryRun: false, heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 60_000, failureRetryMs: 600_000, maxQueuedEvents: 50 },
  );
  return { agent, lvm, cache, api, clock, metricsSeen };
}

describe('NodeAgent: configuration in force', () => {
  it('reconciles once it has a configuration and labels, and publishes the capacity report', async () => {
    const { agent, lvm, api } = setup();
    expect(await agent.requestReconcile('start')).toBeNull();
    agent.offerLabels(SEED_LABELS, 'api');
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    expect(lvm.vgMembers('volumegroup1')).toEqual(['/dev/sdb1', '/dev/sdb2', '/dev/sdc']);
    const last = api?.reports.at(-1);
    expect(last).toBeDefined();
    const parsed = parseCapacityReport(JSON.stringify(last));
    expect(parsed.kind).toBe('ok');
    expect(last).toMatchObject({ node: 'edge-1', vgs: [{ name: 'volumegroup1', pvs: [{}, {}, {}] }], refused: [] });
  });

  it('caches a live configuration and live labels on disk', async () => {
    const { agent, cache } = setup();
    agent.offerLabels(SEED_LABELS, 'api');
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    expect(cache.saved).toEqual({ configText: SEED_BARE, labels: SEED_LABELS });
  });

  it('keeps the last good configuration when a malformed one arrives, runs no LVM command for it, and warns once', async () => {
    const { agent, lvm, api, cache } = setup();
    agent.offerLabels(SEED_LABELS, 'api');
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    const mutations = lvm.mutations().length;
    const bad = 'volumegroup:\n- name: volumegroup1\n  operator: [unclosed\n';
    expect(agent.offerConfig(bad, 'api').kind).toBe('rejected');
    expect(agent.offerConfig(bad, 'api').kind).toBe('rejected');
    expect(agent.offerConfig(oneEntry({ operator: 'Near' }), 'api').kind).toBe('rejected');
    expect(agent.offerConfig(oneEntry({ type: 'nvme' }), 'api').kind).toBe('rejected');
    await agent.requestReconcile('periodic');
    expect(lvm.mutations().length).toBe(mutations);
    expect(agent.currentConfig()?.config.entries[0]?.devices).toEqual(['/dev/sdb1', '/dev/sdb2', '/dev/sdc']);
    expect(cache.saved.configText).toBe(SEED_BARE);
    expect(api?.events.filter((e) => e.reason === 'TopologyConfigInvalid')).toHaveLength(3);
  });

  it('extends the VG when a device is added to the entry, and leaves a VG whose entry was removed intact', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb').addDevice('/dev/sdc').addDevice('/dev/sdd');
    const { agent, api } = setup({ lvm });
    agent.offerLabels({ storage: 'lvm' }, 'api');
    agent.offerConfig(oneEntry({ name: 'vg1', devices: ['/dev/sdb'] }), 'api');
    await agent.idle();
    agent.offerConfig(oneEntry({ name: 'vg1', devices: ['/dev/sdb', '/dev/sdc'] }), 'api');
    await agent.idle();
    expect(lvm.vgMembers('vg1')).toEqual(['/dev/sdb', '/dev/sdc']);
    expect(api?.events.map((e) => e.reason)).toContain('VolumeGroupExtended');
    agent.offerConfig(oneEntry({ name: 'vg2', devices: ['/dev/sdd'] }), 'api');
    await agent.idle();
    expect(lvm.vgMembers('vg1')).toEqual(['/dev/sdb', '/dev/sdc']);
    expect(lvm.vgMembers('vg2')).toEqual(['/dev/sdd']);
    expect(api?.reports.at(-1)?.vgs.map((v) => v.name)).toEqual(['vg2']);
  });

  it('follows a label change: a VG whose entry starts matching is created', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb');
    const { agent } = setup({ lvm });
    agent.offerConfig(oneEntry({ name: 'vg1', operator: 'Exists', value: null, devices: ['/dev/sdb'] }), 'api');
    agent.offerLabels({}, 'api');
    await agent.idle();
    expect(lvm.vgNames()).toEqual([]);
    expect(agent.offerLabels({ storage: 'x' }, 'api')).toBe(true);
    await agent.idle();
    expect(lvm.vgNames()).toEqual(['vg1']);
    expect(agent.offerLabels({ storage: 'x' }, 'api')).toBe(false);
  });
});

describe('NodeAgent: edge autonomy', () => {
  it('reconciles from the cached configuration while the API server is unreachable, and publishes when it is back', async () => {
    const cache = new FakeCache({ configText: SEED_BARE, labels: SEED_LABELS });
    const api = new FakeApi();
    api.up = false;
    const { agent, lvm, metricsSeen } = setup({ cache, api });
    agent.applyCacheFallback(await agent.readCache());
    await agent.idle();
    expect(agent.currentConfig()?.source).toBe('cache');
    expect(lvm.vgMembers('volumegroup1')).toEqual(['/dev/sdb1', '/dev/sdb2', '/dev/sdc']);
    expect(agent.isApiReachable()).toBe(false);
    expect(agent.hasPending()).toBe(true);
    expect(api.reports).toEqual([]);
    expect(metricsSeen).toContain('api:false');

    // Still offline: periodic passes go on (and change nothing now).
    await agent.requestReconcile('periodic');
    expect(agent.queuedEvents().map((e) => e.reason)).toEqual(['PhysicalVolumeCreated', 'PhysicalVolumeCreated', 'PhysicalVolumeCreated', 'VolumeGroupCreated', 'VolumeGroupExtended', 'VolumeGroupExtended']);

    api.up = true;
    await agent.apiIsBack();
    expect(api.events.map((e) => e.reason)).toContain('VolumeGroupCreated');
    expect(api.reports).toHaveLength(1);
    expect(api.reports[0]?.vgs[0]).toMatchObject({ name: 'volumegroup1' });
    expect(agent.hasPending()).toBe(false);
    expect(agent.isApiReachable()).toBe(true);
  });

  it('does not let the cache replace a configuration that arrived live', async () => {
    const cache = new FakeCache({ configText: oneEntry({ name: 'old', devices: ['/dev/sdb1'] }), labels: { storage: 'lvm' } });
    const { agent } = setup({ cache });
    agent.offerConfig(SEED_BARE, 'api');
    agent.applyCacheFallback(await agent.readCache());
    expect(agent.currentConfig()?.config.entries[0]?.name).toBe('volumegroup1');
    expect(agent.currentLabels()).toEqual({ storage: 'lvm' });
  });

  it('falls back to the cache when the live configuration is invalid from the start', async () => {
    const cache = new FakeCache({ configText: SEED_BARE, labels: SEED_LABELS });
    const { agent, lvm } = setup({ cache });
    expect(agent.offerConfig('volumegroup: {', 'api').kind).toBe('rejected');
    agent.applyCacheFallback(await agent.readCache());
    await agent.idle();
    expect(agent.currentConfig()?.source).toBe('cache');
    expect(lvm.vgNames()).toEqual(['volumegroup1']);
  });

  it('keeps at most maxQueuedEvents while offline, dropping the oldest', async () => {
    const api = new FakeApi();
    api.up = false;
    const { agent } = setup({ api });
    for (let i = 0; i < 60; i += 1) agent.offerConfig(`volumegroup: [${i}`, 'api');
    expect(agent.queuedEvents()).toHaveLength(50);
  });

  it('works without an API server at all (file mode): reconciles, publishes nothing', async () => {
    const { agent, lvm } = setup({ api: null });
    agent.offerLabels(SEED_LABELS, 'file');
    agent.offerConfig(SEED_BARE, 'file');
    await agent.idle();
    expect(lvm.vgNames()).toEqual(['volumegroup1']);
    expect(agent.queuedEvents()).toEqual([]);
  });
});

describe('NodeAgent: publishing', () => {
  it('publishes the report only when it changed or the heartbeat is due', async () => {
    const { agent, api, clock } = setup({ heartbeatIntervalMs: 60_000 });
    agent.offerLabels(SEED_LABELS, 'api');
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    expect(api?.reports).toHaveLength(1);
    clock.ms += 10_000;
    await agent.requestReconcile('periodic');
    expect(api?.reports).toHaveLength(1);
    clock.ms += 60_000;
    await agent.requestReconcile('periodic');
    expect(api?.reports).toHaveLength(2);
    expect(api?.reports[1]?.updatedAt).toBe(new Date(clock.ms).toISOString());
  });

  it('records one Warning event per refusal, not one per pass', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb1', 'ext4').addDevice('/dev/sdb2', 'dos').addDevice('/dev/sdc');
    const { agent, api } = setup({ lvm });
    agent.offerLabels(SEED_LABELS, 'api');
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    await agent.requestReconcile('periodic');
    await agent.requestReconcile('periodic');
    const warnings = api?.events.filter((e) => e.type === 'Warning').map((e) => e.reason);
    expect(warnings).toEqual(['DeviceHasSignature', 'DeviceIsPartitioned']);
    expect(api?.reports.at(-1)?.refused.map((r) => r.reason)).toEqual(['DeviceHasSignature', 'DeviceIsPartitioned']);
  });

  it('counts a pass in which LVM cannot be read as an error and keeps running', async () => {
    const { agent, lvm, metricsSeen } = setup();
    agent.offerLabels(SEED_LABELS, 'api');
    lvm.broken = true;
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    expect(metricsSeen).toContain('error');
    lvm.broken = false;
    await agent.requestReconcile('periodic');
    expect(lvm.vgNames()).toEqual(['volumegroup1']);
  });

  it('coalesces triggers that arrive during a pass into one more pass', async () => {
    const { agent, lvm } = setup();
    agent.offerLabels(SEED_LABELS, 'api');
    agent.offerConfig(SEED_BARE, 'api');
    await agent.idle();
    const before = lvm.commands.filter((cmd) => cmd[0] === 'pvs').length;
    const a = agent.requestReconcile('x');
    const b = agent.requestReconcile('y');
    const c = agent.requestReconcile('z');
    await Promise.all([a, b, c]);
    // 'x' runs at once (one observation: nothing to do); 'y' and 'z' coalesce into one more pass.
    expect(lvm.commands.filter((cmd) => cmd[0] === 'pvs').length - before).toBe(2);
  });
});
