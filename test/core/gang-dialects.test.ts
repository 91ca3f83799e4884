// One gang engine, two dialects (core/dialects.ts): the same scenarios run once with the seed's pod-group
// labels and once with scheduler-plugins' PodGroup (label scheduling.x-k8s.io/pod-group + a PodGroup
// object), through the whole extender (HTTP verbs, barrier, Events, /debug/gangs) and the status
// command. Each scenario writes a transcript of everything a user or the scheduler sees; the two
// transcripts must be identical, and each scenario also checks its own facts, so a defect shared by
// both dialects still fails.

import { describe, expect, it } from 'vitest';
import { makeNode, makePod, makePodGroup } from '../support/builders.js';
import { post, testExtender, type TestExtender } from '../support/extender.js';
import { gangsFromExtender, gangsFromPods, renderStatus } from '../../src/cli/status.js';
import { toPod } from '../../src/extender/convert.js';

type Obj = Record<string, any>;

interface Dialect {
  name: string;
  /** The job's objects: its pods, and whatever else the dialect needs (a PodGroup). */
  job(job: string, opts: { workers?: number; min?: number }): { pods: Obj[]; extra: Obj[] };
}

const member = (name: string) => (name.endsWith('-ps-0') ? makePod(name).cpu('1') : makePod(name).gpu(2));
const memberNames = (job: string, workers: number) => [`${job}-ps-0`, ...Array.from({ length: workers }, (_, i) => `${job}-worker-${i}`)];

const DIALECTS: Dialect[] = [
  {
    name: 'seed labels (pod-group.scheduling.sigs.k8s.io/name + min-available)',
    job: (job, { workers = 4, min = 5 }) => ({ pods: memberNames(job, workers).map((n) => member(n).group(job, min).build()), extra: [] }),
  },
  {
    name: 'scheduler-plugins PodGroup (scheduling.x-k8s.io/pod-group)',
    job: (job, { workers = 4, min = 5 }) => ({ pods: memberNames(job, workers).map((n) => member(n).podGroup(job).build()), extra: [makePodGroup(job, min)] }),
  },
];

const gpuNodes = (n: number) => Array.from({ length: n }, (_, i) => makeNode(`gpu-${i}`).gpus(2).build());
const names = (t: TestExtender) => [...t.state.nodes.keys()].sort();
const filter = (t: TestExtender, pod: Obj) => post(t, 'filter', { Pod: pod, Nodes: null, NodeNames: names(t) });
const bind = (t: TestExtender, pod: Obj, node: string) => post(t, 'bind', { PodName: pod.metadata.name, PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: node });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What kube-scheduler reads from a filter answer, with the reasons in node order. */
function filterLine(pod: Obj, r: { json: any }): string {
  const j = r.json;
  const reasons = (m: Record<string, string>) => Object.keys(m).sort().map((n) => `${n}: ${m[n]}`).join(' | ');
  return `filter ${pod.metadata.name}: passed [${j.NodeNames.join(',')}] failed {${reasons(j.FailedNodes)}} unresolvable {${reasons(j.FailedAndUnresolvableNodes)}}`;
}

/** Events, /debug/gangs and both forms of the status command, appended to the transcript. */
async function observe(t: TestExtender, lines: string[], objects: { pods: Obj[]; extra: Obj[] }): Promise<void> {
  for (const e of t.events.splice(0)) lines.push(`event ${e.kind} ${e.gang} on ${e.podUids.length}: ${e.reason}`);
  const debug = (await t.app.inject({ method: 'GET', url: '/debug/gangs' })).json();
  for (const g of debug.gangs) lines.push(`debug ${JSON.stringify(g)}`);
  const pods = objects.pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: t.state.podByKey(p.metadata.namespace, p.metadata.name)?.nodeName || undefined } }));
  lines.push(renderStatus({ gangSource: 'cluster', gangs: gangsFromPods(pods, [], undefined, objects.extra), nodes: null, errors: [] }, t.now.ms));
  lines.push(renderStatus({ gangSource: 'extender', gangs: gangsFromExtender(debug), nodes: null, errors: [] }, t.now.ms));
}

const SCENARIOS: { name: string; run: (d: Dialect) => Promise<string[]> }[] = [
  {
    name: 'quorum gate: 3 of 5 members exist, every member refused as unresolvable',
    async run(d) {
      const all = d.job('tf', {});
      const job = { pods: all.pods.slice(0, 3), extra: all.extra };
      const t = testExtender([...gpuNodes(4), ...job.pods, ...job.extra]);
      const lines: string[] = [];
      for (const p of job.pods) {
        const r = await filter(t, p);
        expect(r.json.NodeNames).toEqual([]);
        expect(Object.values(r.json.FailedAndUnresolvableNodes)).toEqual(Array(4).fill('gang default/tf: 3 of 5 members exist'));
        lines.push(filterLine(p, r));
      }
      await observe(t, lines, job);
      return lines;
    },
  },
  {
    name: 'plan refused with the gap in numbers; nothing held',
    async run(d) {
      const job = d.job('tf', {});
      const t = testExtender([...gpuNodes(2), ...job.pods, ...job.extra]);
      const lines: string[] = [];
      for (const p of job.pods) {
        const r = await filter(t, p);
        expect(r.json.FailedAndUnresolvableNodes['gpu-0']).toBe('gang default/tf: needs 8 nvidia.com/gpu for 4 pods, 4 free');
        lines.push(filterLine(p, r));
      }
      expect(t.state.sizes().holds).toBe(0);
      await observe(t, lines, job);
      return lines;
    },
  },
  {
    name: 'plan, steer, and the barrier: nothing bound until the last member arrives, then all five',
    async run(d) {
      const job = d.job('tf', {});
      const t = testExtender([...gpuNodes(4), ...job.pods, ...job.extra]);
      const lines: string[] = [];
      const nodeOf = new Map<string, string>();
      for (const p of job.pods) {
        const r = await filter(t, p);
        expect(r.json.NodeNames).toHaveLength(1);
        nodeOf.set(p.metadata.name, r.json.NodeNames[0]);
        lines.push(filterLine(p, r));
      }
      await observe(t, lines, job);
      const held = job.pods.slice(0, 4).map((p) => bind(t, p, nodeOf.get(p.metadata.name)!));
      await sleep(20);
      expect(t.gang.heldCount()).toBe(4);
      expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(0);
      lines.push(`held ${t.gang.heldCount()}`);
      await observe(t, lines, job);
      const last = await bind(t, job.pods[4]!, nodeOf.get(job.pods[4]!.metadata.name)!);
      for (const r of [last, ...(await Promise.all(held))]) expect(r.json).toEqual({ Error: '' });
      expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(5);
      lines.push(`bound ${job.pods.map((p) => `${p.metadata.name}@${t.state.podByKey('default', p.metadata.name)?.nodeName}`).join(' ')}`);
      await observe(t, lines, job);
      return lines;
    },
  },
  {
    name: 'barrier refusal: a member kube-scheduler refuses fails the barrier at its timeout; a late bind is refused',
    async run(d) {
      const job = d.job('tf', {});
      const t = testExtender([...gpuNodes(4), ...job.pods, ...job.extra]);
      const lines: string[] = [];
      const nodeOf = new Map<string, string>();
      for (const p of job.pods) nodeOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
      const held = job.pods.slice(0, 3).map((p) => bind(t, p, nodeOf.get(p.metadata.name)!));
      await sleep(20);
      t.now.ms += 15_001;
      t.gang.tick();
      lines.push(`held after 15 s ${t.gang.heldCount()}, holds ${t.state.sizes().holds}`);
      const refused = job.pods[4]!;
      const message = "0/4 nodes are available: 4 node(s) didn't match pod affinity rules.";
      t.state.setPod(toPod({ ...refused, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] } })!);
      t.now.ms += 5_000;
      t.gang.tick();
      for (const r of await Promise.all(held)) {
        expect(r.json.Error).toMatch(/only 3 of 5 members reached bind, none more in 20s \(kube-scheduler refused member tf-worker-3/);
        lines.push(`bind answer: ${r.json.Error}`);
      }
      expect(t.state.sizes().holds).toBe(0);
      const late = await bind(t, refused, nodeOf.get(refused.metadata.name)!);
      expect(late.json.Error).toMatch(/no plan holds a place/);
      lines.push(`late bind: ${late.json.Error}`);
      await observe(t, lines, job);
      return lines;
    },
  },
];

describe('every gang dialect in one engine: the same scenario, the same transcript', () => {
  for (const s of SCENARIOS) {
    it(s.name, async () => {
      const [seed, sp] = [await s.run(DIALECTS[0]!), await s.run(DIALECTS[1]!)];
      expect(seed.length).toBeGreaterThan(3);
      expect(sp).toEqual(seed);
    });
  }

  it('the transcripts carry the gang facts (events, /debug/gangs, status), not just equal noise', async () => {
    const lines = await SCENARIOS[2]!.run(DIALECTS[1]!);
    const text = lines.join('\n');
    expect(text).toContain('event planned default/tf on 5: gang default/tf: planned 5 members on 4 nodes');
    expect(text).toContain('event bound default/tf on 5: gang default/tf: 5 of 5 members bound together');
    expect(text).toMatch(/debug \{"gang":"default\/tf","phase":"running","minAvailable":5,"members":5,"planned":5,"atBarrier":0,"bound":5/);
    expect(text).toMatch(/default\/tf +running +5 +5 +5/);
  });
});
