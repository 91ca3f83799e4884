// Seed 002, section 8.3 decided in snapshot mode: the real extender process, real HTTP on loopback.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { expandWorkload } from '../../src/extender/workloads.js';
import { startExtenderProcess, type ExtenderProcess } from '../support/extender-process.js';

const SNAPSHOT = 'test/fixtures/seed-8.3-snapshot.yaml';
const MANIFEST = 'examples/seed-8.3-local-test.yaml';
const run = promisify(execFile);

function seedPod(): Record<string, unknown> {
  const docs = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === 'Deployment');
  return expandWorkload(deployment)[0] as Record<string, unknown>;
}

describe('seed 8.3 in snapshot mode (npm start -- --snapshot)', () => {
  let ext: ExtenderProcess;
  let base = '';

  beforeAll(async () => {
    ext = await startExtenderProcess(['--snapshot', SNAPSHOT]);
    base = ext.base;
  });

  afterAll(async () => {
    await ext?.stop();
  });

  const call = async (verb: string, body: unknown) => {
    const res = await fetch(`${base}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() as any };
  };

  it('passes the node with room; without it, sends the node without the VG to unresolvable and fails the full node with both numbers', async () => {
    const r = await call('filter', { Pod: seedPod(), Nodes: null, NodeNames: ['edge-1', 'edge-2', 'edge-3'] });
    expect(r.status).toBe(200);
    // One node passes: kube-scheduler would never show the others' reasons, so none are sent.
    expect(r.json).toEqual({ Nodes: null, NodeNames: ['edge-1'], FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: '' });
    const rest = await call('filter', { Pod: seedPod(), Nodes: null, NodeNames: ['edge-2', 'edge-3'] });
    expect(rest.json).toEqual({
      Nodes: null,
      NodeNames: [],
      FailedNodes: { 'edge-3': 'local-lvm: volumegroup1: requested 50Mi, free 20Mi' },
      FailedAndUnresolvableNodes: { 'edge-2': 'local-lvm: VolumeGroup volumegroup1 not found on node (has data)' },
      Error: '',
    });
  });

  it('records a bind in memory so the next call sees it', async () => {
    const bind = await call('bind', { PodName: 'nobody', PodNamespace: 'default', PodUID: 'x', Node: 'edge-1' });
    expect(bind.json.Error).toMatch(/not known to the extender/);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('the what-if CLI prints the same verdicts for the seed Deployment', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/cmd/cli.ts', 'decide', '--snapshot', SNAPSHOT, '--manifest', MANIFEST]);
    expect(stdout).toMatch(/pod default\/local-test-0: bound to edge-1/);
    expect(stdout).toMatch(/unresolvable\s+edge-2\s+local-lvm: VolumeGroup volumegroup1 not found/);
    expect(stdout).toMatch(/failed\s+edge-3\s+local-lvm: volumegroup1: requested 50Mi, free 20Mi/);
    expect(stdout).toMatch(/scheduler\s+cloud-1\s+node selector alibabacloud.com\/is-edge-worker=true does not match/);
  });
});
