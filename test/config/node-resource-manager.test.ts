import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVICE_REFUSAL_REASONS } from '../../src/wire/keys.js';
import { NRM_OPTIONS, loadNodeResourceManagerConfig, nrmUsage, parseLabelList } from '../../src/config/node-resource-manager.js';

function load(flags: Record<string, string | boolean>, env: Record<string, string> = {}) {
  return loadNodeResourceManagerConfig({ flags, env });
}

describe('loadNodeResourceManagerConfig', () => {
  it('fills every default and freezes the result', () => {
    const r = load({ 'node-name': 'edge-1' });
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect(r.config).toMatchObject({
      nodeName: 'edge-1', configFile: null, once: false, dryRun: false, configMapNamespace: 'kube-system', configMapName: 'node-resource-topo',
      stateDir: '/var/lib/node-resource-manager', resyncIntervalMs: 60_000, heartbeatIntervalMs: 120_000, commandPrefix: [], lvmConfig: '',
      metricsPort: 9464, logLevel: 'info', testPauseAfterPvcreateMs: 0, nodeLabels: null,
    });
    expect(Object.isFrozen(r.config)).toBe(true);
    expect(Object.isFrozen(r.config.commandPrefix)).toBe(true);
  });

  it('reads the environment, and flags win over it', () => {
    const r = load({ 'resync-interval-ms': '5000' }, { NODE_NAME: 'n-env', NRM_RESYNC_INTERVAL_MS: '7000', NRM_LVM_CONFIG: 'devices {obtain_device_list_from_udev=0}' });
    expect(r).toMatchObject({ kind: 'ok', config: { nodeName: 'n-env', resyncIntervalMs: 5000, lvmConfig: 'devices {obtain_device_list_from_udev=0}' } });
  });

  it('splits the command prefix into an argv', () => {
    const r = load({ 'node-name': 'n', 'command-prefix': 'nsenter --target 1 --mount --uts --ipc --net --pid --' });
    expect(r).toMatchObject({ kind: 'ok', config: { commandPrefix: ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--'] } });
  });

  it('takes offline mode: config file, labels, once', () => {
    const r = load({ 'node-name': 'n', 'config-file': '/tmp/t.yaml', 'node-labels': 'kubernetes.io/storagetype=lvm, zone=a,empty=', once: true });
    expect(r).toMatchObject({ kind: 'ok', config: { configFile: '/tmp/t.yaml', once: true, nodeLabels: { 'kubernetes.io/storagetype': 'lvm', zone: 'a', empty: '' } } });
  });

  it('gives offline mode empty labels when none are given', () => {
    expect(load({ 'node-name': 'n', 'config-file': '/tmp/t.yaml' })).toMatchObject({ kind: 'ok', config: { nodeLabels: {} } });
  });

  it('takes "none" as no state directory', () => {
    expect(load({ 'node-name': 'n', 'state-dir': 'none' })).toMatchObject({ kind: 'ok', config: { stateDir: null } });
  });

  it('lists every error at once', () => {
    const r = load({ 'resync-interval-ms': 'soon', 'log-level': 'loud', once: true, 'node-labels': 'novalue', 'state-dir': 'relative', 'command-prefix': "sh -c 'x'", 'metrics-port': '70000' });
    expect(r.kind).toBe('invalid');
    if (r.kind !== 'invalid') return;
    expect(r.errors.join('\n')).toMatch(/node name is required/);
    expect(r.errors.join('\n')).toMatch(/"soon" is not a non-negative integer/);
    expect(r.errors.join('\n')).toMatch(/log level "loud"/);
    expect(r.errors.join('\n')).toMatch(/--once needs --config-file/);
    expect(r.errors.join('\n')).toMatch(/not key=value/);
    expect(r.errors.join('\n')).toMatch(/must be an absolute path/);
    expect(r.errors.join('\n')).toMatch(/shell metacharacters/);
    expect(r.errors.join('\n')).toMatch(/out of range/);
    expect(r.errors.length).toBeGreaterThanOrEqual(8);
  });

  it('rejects labels in API mode, an invalid node name and a zero interval', () => {
    const r = load({ 'node-name': 'Bad_Name', 'node-labels': 'a=b', 'heartbeat-interval-ms': '0' });
    expect(r.kind === 'invalid' && r.errors).toEqual([
      'node name "Bad_Name" is not a valid Kubernetes node name',
      '--node-labels is for offline mode (--config-file); with the API server labels come from the Node object',
      'heartbeatIntervalMs must be positive',
    ]);
  });
});

describe('parseLabelList', () => {
  it('parses k=v lists and refuses a label given twice', () => {
    expect(parseLabelList('a=1,b=2')).toEqual({ kind: 'ok', labels: { a: '1', b: '2' } });
    expect(parseLabelList('')).toEqual({ kind: 'ok', labels: {} });
    expect(parseLabelList('a=1,a=2').kind).toBe('invalid');
  });
});

describe('schema', () => {
  it('documents every option and names each flag and variable once', () => {
    const flags = NRM_OPTIONS.map((o) => o.flag).filter((f) => f !== null);
    expect(new Set(flags).size).toBe(flags.length);
    const envs = NRM_OPTIONS.flatMap((o) => o.env);
    expect(new Set(envs).size).toBe(envs.length);
    for (const o of NRM_OPTIONS) expect(o.doc.length).toBeGreaterThan(10);
    expect(nrmUsage()).toContain('--config-file VALUE');
  });
});

describe('docs/node-resource-manager.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'node-resource-manager.md'), 'utf8');

  it('has a table row for every option with its flag, variables and default', () => {
    for (const o of NRM_OPTIONS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${o.flag === null ? '—' : `\`--${o.flag}\``} |`) && l.includes(`\`${o.env[0] ?? ''}\``));
      expect(row, o.key).toBeDefined();
      for (const e of o.env) expect(row).toContain(`\`${e}\``);
      if (o.default !== '') expect(row).toContain(`\`${o.default}\``);
    }
  });

  it('explains every refusal reason', () => {
    for (const r of DEVICE_REFUSAL_REASONS) expect(doc).toContain(`| \`${r}\` |`);
  });
});
