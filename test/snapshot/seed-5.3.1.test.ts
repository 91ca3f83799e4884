// Seed 002, section 5.3.1 in snapshot mode: the TFJob's pods built from its templates, on the
// seed's 4-GPU cluster and on one with 4 GPUs more; the what-if CLI and the HTTP verbs of the real
// extender process (`npm start -- --snapshot`) behave as live: quorum gate, plan, bind barrier.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { expandWorkload } from '../../src/extender/workloads.js';
import { startExtenderProcess, type ExtenderProcess } from '../support/extender-process.js';

const run = promisify(execFile);
const TFJOB = 'examples/seed-5.3.1-tfjob.yaml';

function tfPods(): Record<string, any>[] {
  const job = parseAllDocuments(readFileSync(TFJOB, 'utf8'))[0]!.toJS();
  return expandWorkload(job, '2026-11-21T00:00:00Z');
}

describe('seed 5.3.1 TFJob in snapshot mode', () => {
  const running: ExtenderProcess[] = [];
  afterAll(async () => {
    for (const e of running) await e.stop();
  });

  it('the CLI binds none of the 5 pods on 4 GPUs, each with the GPU gap as its reason', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/cmd/cli.ts', 'decide', '--snapshot', 'test/fixtures/gpu-cluster-4.yaml', '--manifest', TFJOB, '--json']);
    const out = JSON.parse(stdout);
    expect(out.pods).toHaveLength(5);
    for (const p of out.pods) {
      expect(p.boundTo).toBe('');
      for (const n of p.nodes) expect(n.reason).toBe('gang default/tf-smoke-gpu: needs 8 nvidia.com/gpu for 4 pods, 4 free');
    }
    expect(out.gangs[0]).toMatchObject({ gang: 'default/tf-smoke-gpu', phase: 'unschedulable', members: 5, bound: 0 });
  });

  it('the CLI plans and binds all 5 on 8 GPUs, holding each bind until the last member arrives', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/cmd/cli.ts', 'decide', '--snapshot', 'test/fixtures/gpu-cluster-8.yaml', '--manifest', TFJOB, '--json']);
    const out = JSON.parse(stdout);
    expect(out.pods.map((p: any) => p.boundTo !== '')).toEqual([true, true, true, true, true]);
    expect(out.pods.slice(0, 4).map((p: any) => p.releasedBy)).toEqual(Array(4).fill('default/tf-smoke-gpu-worker-3'));
    const gpusOn = new Map<string, number>();
    for (const p of out.pods.slice(1)) gpusOn.set(p.boundTo, (gpusOn.get(p.boundTo) ?? 0) + 2);
    for (const v of gpusOn.values()) expect(v).toBeLessThanOrEqual(2);
    expect(out.gangs[0]).toMatchObject({ phase: 'running', bound: 5 });
  });

  it('the extender process holds binds over HTTP until the fifth member arrives, then answers all', async () => {
    const ext = await startExtenderProcess(['--snapshot', 'test/fixtures/gpu-cluster-8.yaml']);
    running.push(ext);
    const base = ext.base;
    const pods = tfPods();
    const call = async (verb: string, body: unknown) => (await fetch(`${base}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<any>;
    const nodes = ['gpu-0', 'gpu-1', 'gpu-2', 'gpu-3'];
    // Members are not in the snapshot: the quorum gate counts them as the scheduler sends them.
    const first = await call('filter', { Pod: pods[0], Nodes: null, NodeNames: nodes });
    expect(Object.values(first.FailedAndUnresolvableNodes)[0]).toBe('gang default/tf-smoke-gpu: 1 of 5 members exist');
    const planned: string[] = [];
    for (const p of pods.slice(1)) await call('filter', { Pod: p, Nodes: null, NodeNames: nodes });
    for (const p of pods) {
      const r = await call('filter', { Pod: p, Nodes: null, NodeNames: nodes });
      expect(r.NodeNames).toHaveLength(1);
      planned.push(r.NodeNames[0]);
    }
    const answered: string[] = [];
    const held = pods.slice(0, 4).map((p, i) => call('bind', { PodName: p.metadata.name, PodNamespace: 'default', PodUID: p.metadata.uid, Node: planned[i] }).then((r) => {
      answered.push(p.metadata.name);
      return r;
    }));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toEqual([]);
    const gangs = await (await fetch(`${base}/debug/gangs`)).json() as any;
    expect(gangs.gangs[0]).toMatchObject({ gang: 'default/tf-smoke-gpu', atBarrier: 4, bound: 0 });
    const last = await call('bind', { PodName: pods[4]!.metadata.name, PodNamespace: 'default', PodUID: pods[4]!.metadata.uid, Node: planned[4] });
    expect(last).toEqual({ Error: '' });
    for (const r of await Promise.all(held)) expect(r).toEqual({ Error: '' });
  });
});
