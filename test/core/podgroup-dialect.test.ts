// What only the scheduler-plugins dialect has (core/dialects.ts, core/gang/podgroup.ts): a pod naming two
// groups, a PodGroup that is not there (yet, or cannot be: no CRD), minResources refused before the
// search, scheduleTimeoutSeconds as the barrier timeout under the cap, a PodGroup change undoing a
// cached plan failure, and gangs whose members speak both dialects.

import { describe, expect, it } from 'vitest';
import { makeNode, makePod, makePodGroup } from '../support/builders.js';
import { post, testExtender, type TestExtender } from '../support/extender.js';
import { toNode, toPod, toPodGroup } from '../../src/extender/convert.js';
import { gangsFromPods } from '../../src/cli/status.js';

type Obj = Record<string, any>;

const gpuNodes = (n: number) => Array.from({ length: n }, (_, i) => makeNode(`gpu-${i}`).gpus(2).build());
const names = (t: TestExtender) => [...t.state.nodes.keys()].sort();
const filter = (t: TestExtender, pod: Obj) => post(t, 'filter', { Pod: pod, Nodes: null, NodeNames: names(t) });
const bind = (t: TestExtender, pod: Obj, node: string) => post(t, 'bind', { PodName: pod.metadata.name, PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: node });
const unresolvable = async (t: TestExtender, pod: Obj): Promise<string[]> => {
  const r = await filter(t, pod);
  expect(r.json.NodeNames).toEqual([]);
  return [...new Set(Object.values(r.json.FailedAndUnresolvableNodes as Record<string, string>))];
};
const toNodeModel = (o: Obj) => toNode(o)!;
const workers = (job: string, n: number, gpu = 2) => Array.from({ length: n }, (_, i) => makePod(`${job}-${i}`).gpu(gpu).podGroup(job).build());

describe('a pod naming two groups', () => {
  it('is refused, naming both groups and both labels', async () => {
    const pod = makePod('w-0').gpu(1).group('x', 1).podGroup('y').build();
    const t = testExtender([...gpuNodes(1), pod, makePodGroup('y', 1)]);
    expect(await unresolvable(t, pod)).toEqual([
      'gang default/x: pod w-0 names two pod groups, "x" (label pod-group.scheduling.sigs.k8s.io/name) and "y" (label scheduling.x-k8s.io/pod-group); a pod belongs to one gang',
    ]);
    expect(t.state.sizes().holds).toBe(0);
  });

  it('naming the same group through both dialects is one gang when the two agree', async () => {
    const pods = [0, 1].map((i) => makePod(`w-${i}`).gpu(1).group('g', 2).podGroup('g').build());
    const t = testExtender([...gpuNodes(1), ...pods, makePodGroup('g', 2)]);
    expect((await filter(t, pods[0]!)).json.NodeNames).toEqual(['gpu-0']);
  });
});

describe('a PodGroup that is not known', () => {
  it('refuses the members as unresolvable, saying the PodGroup is missing, and plans once it arrives', async () => {
    const pods = workers('tf', 2);
    const t = testExtender([...gpuNodes(2), ...pods]);
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/tf: waiting for PodGroup "tf" (label scheduling.x-k8s.io/pod-group on tf-0): it does not exist yet']);
    expect(t.gang.describe(t.now.ms)[0]).toMatchObject({ gang: 'default/tf', minAvailable: null, members: 2 });
    expect(t.state.setPodGroup(toPodGroup(makePodGroup('tf', 2))!)).toBe(true);
    expect((await filter(t, pods[0]!)).json.NodeNames).toHaveLength(1);
    expect((await filter(t, pods[1]!)).json.NodeNames).toHaveLength(1);
  });

  it('says the CRD is missing while the cluster does not serve PodGroups, and reads them once it does', async () => {
    const pods = workers('tf', 1);
    const t = testExtender([...gpuNodes(1), ...pods, makePodGroup('tf', 1)]);
    t.state.setPodGroupsServed(false);
    expect(await unresolvable(t, pods[0]!)).toEqual([
      'gang default/tf: PodGroup "tf" (label scheduling.x-k8s.io/pod-group on tf-0) cannot be read: the cluster does not serve scheduling.x-k8s.io/v1alpha1 podgroups (install the CRD podgroups.scheduling.x-k8s.io)',
    ]);
    expect(t.state.sizes().podgroups).toBe(0);
    t.state.setPodGroupsServed(true);
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/tf: waiting for PodGroup "tf" (label scheduling.x-k8s.io/pod-group on tf-0): it does not exist yet']);
    t.state.setPodGroup(toPodGroup(makePodGroup('tf', 1))!);
    expect((await filter(t, pods[0]!)).json.NodeNames).toEqual(['gpu-0']);
  });

  it('the status command shows the same reason from pods and PodGroups (none listed, or no CRD)', () => {
    const pods = workers('tf', 2);
    expect(gangsFromPods(pods, [], undefined, [])[0]).toMatchObject({ phase: 'invalid', lastReason: 'gang default/tf: waiting for PodGroup "tf" (label scheduling.x-k8s.io/pod-group on tf-0): it does not exist yet' });
    expect(gangsFromPods(pods, [], undefined, null)[0]!.lastReason).toMatch(/does not serve scheduling.x-k8s.io\/v1alpha1 podgroups/);
    expect(gangsFromPods(pods, [], undefined, [makePodGroup('tf', 3)])[0]).toMatchObject({ phase: 'waiting-for-members', minAvailable: 3, members: 2 });
  });
});

describe('minResources', () => {
  it('refuses the gang before any placement, naming the resource and the numbers; plans once the cluster has room', async () => {
    const pods = workers('tf', 2, 1);
    const t = testExtender([...gpuNodes(2), ...pods, makePodGroup('tf', 2, { minResources: { 'nvidia.com/gpu': '6', cpu: '500m' } })]);
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/tf: PodGroup minResources needs 6 nvidia.com/gpu, 4 free on the 2 schedulable nodes']);
    expect(t.state.sizes().holds).toBe(0);
    expect(t.events.map((e) => e.kind)).toEqual(['unschedulable']);
    t.state.setNode(toNodeModel(makeNode('gpu-9').gpus(2).build()));
    expect((await filter(t, pods[0]!)).json.NodeNames).toHaveLength(1);
  });

  it('counts only schedulable nodes, after what others use, and formats cpu in cores or millicores', async () => {
    const pods = workers('tf', 1, 1);
    const busy = makePod('busy').cpu('1500m').on('gpu-0').build();
    const t = testExtender([...gpuNodes(1), makeNode('cordoned').gpus(2).unschedulable().build(), busy, ...pods, makePodGroup('tf', 1, { minResources: { cpu: '7', memory: '1Gi' } })]);
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/tf: PodGroup minResources needs 7 cpu, 6500m free on the 1 schedulable nodes']);
  });

  it('gives the gang\'s own bound members back: a partly bound gang is not refused for what it already holds', async () => {
    const pods = workers('tf', 2);
    const placed = { ...pods[0]!, spec: { ...pods[0]!.spec, nodeName: 'gpu-0' } };
    const t = testExtender([...gpuNodes(2), placed, pods[1]!, makePodGroup('tf', 2, { minResources: { 'nvidia.com/gpu': '4' } })]);
    expect((await filter(t, pods[1]!)).json.NodeNames).toEqual(['gpu-1']);
  });
});

describe('scheduleTimeoutSeconds', () => {
  it('is the barrier timeout, capped at --max-barrier-timeout-ms (300 s)', async () => {
    const t = testExtender([...gpuNodes(2), ...workers('long', 2), makePodGroup('long', 2, { scheduleTimeoutSeconds: 3600 }), ...workers('short', 2), makePodGroup('short', 2, { scheduleTimeoutSeconds: 5 })]);
    const spec = (key: string) => t.gang.planner.spec(key);
    expect(spec('default/long')).toMatchObject({ kind: 'ok', spec: { barrierTimeoutMs: 300_000 } });
    expect(spec('default/short')).toMatchObject({ kind: 'ok', spec: { barrierTimeoutMs: 5_000 } });
  });

  it('fails a barrier whose missing member is not coming after the PodGroup\'s seconds', async () => {
    const pods = workers('a', 2, 1);
    const t = testExtender([...gpuNodes(2), ...pods, makePodGroup('a', 2, { scheduleTimeoutSeconds: 5 })]);
    const n0 = (await filter(t, pods[0]!)).json.NodeNames[0];
    const held = bind(t, pods[0]!, n0);
    await new Promise((r) => setTimeout(r, 10));
    t.state.setPod(toPod({ ...pods[1]!, spec: { ...pods[1]!.spec, schedulingGates: [{ name: 'example.com/hold' }] } })!);
    t.now.ms += 4_000;
    t.gang.tick();
    expect(t.gang.heldCount()).toBe(1);
    t.now.ms += 1_001;
    t.gang.tick();
    expect((await held).json.Error).toMatch(/none more in 5s \(member a-1 has scheduling gates\)/);
  });
});

describe('a PodGroup changes', () => {
  it('a new minMember undoes the cached plan failure at once; a status-only update does not', async () => {
    const pods = workers('tf', 3);
    const t = testExtender([...gpuNodes(2), ...pods, makePodGroup('tf', 3)]);
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/tf: needs 6 nvidia.com/gpu for 3 pods, 4 free']);
    const v = t.state.freedVersion;
    expect(t.state.setPodGroup(toPodGroup(makePodGroup('tf', 3, { status: { phase: 'Pending' } }))!)).toBe(false);
    expect(t.state.freedVersion).toBe(v);
    expect(t.state.setPodGroup(toPodGroup(makePodGroup('tf', 2))!)).toBe(true);
    expect(t.state.freedVersion).toBe(v + 1);
    expect((await filter(t, pods[0]!)).json.NodeNames).toHaveLength(1);
    expect(t.gang.describe(t.now.ms)[0]).toMatchObject({ phase: 'planned', minAvailable: 2, planned: 2 });
  });

  it('a PodGroup deleted leaves its members waiting for it again', async () => {
    const pods = workers('tf', 1);
    const t = testExtender([...gpuNodes(1), ...pods, makePodGroup('tf', 1)]);
    t.state.deletePodGroup('default', 'tf');
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/tf: waiting for PodGroup "tf" (label scheduling.x-k8s.io/pod-group on tf-0): it does not exist yet']);
  });
});

describe('members of both dialects under one name', () => {
  it('must agree on min-available: a label "2" and a PodGroup minMember 3 are refused, naming both', async () => {
    const a = makePod('a').gpu(1).group('g', 2).build();
    const b = makePod('b').gpu(1).podGroup('g').build();
    const t = testExtender([...gpuNodes(2), a, b, makePodGroup('g', 3)]);
    expect(await unresolvable(t, a)).toEqual(['gang default/g: members disagree on min-available (label pod-group.scheduling.sigs.k8s.io/min-available, PodGroup spec.minMember): "2" on a; "3" on b']);
    const t2 = testExtender([...gpuNodes(2), a, b, makePodGroup('g', 2)]);
    expect((await filter(t2, a)).json.NodeNames).toHaveLength(1);
    expect(t2.gang.describe(t2.now.ms)[0]).toMatchObject({ gang: 'default/g', members: 2, minAvailable: 2, planned: 2 });
  });

  it('refuses a PodGroup minMember below 1 or above --max-min-available', async () => {
    const pods = workers('z', 1);
    const t = testExtender([...gpuNodes(1), ...pods, makePodGroup('z', 0)]);
    expect(await unresolvable(t, pods[0]!)).toEqual(['gang default/z: PodGroup spec.minMember must be at least 1, got 0']);
    const t2 = testExtender([...gpuNodes(1), ...pods, makePodGroup('z', 20_000)]);
    expect(await unresolvable(t2, pods[0]!)).toEqual(['gang default/z: PodGroup spec.minMember 20000 is above the limit of 10000']);
  });
});
