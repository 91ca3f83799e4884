import { describe, expect, it } from 'vitest';
import { GiB, makeLocalStorageClass, makeNode, makePod, makePv, makePvc } from '../support/builders.js';
import { post, testExtender, type TestExtender } from '../support/extender.js';
import { parseMinAvailable } from '../../src/core/gang/spec.js';
import { toNode, toPod } from '../../src/extender/convert.js';

const toNodeModel = (obj: Record<string, unknown>) => toNode(obj)!;

const gpuNodes = (n: number, gpus = 2, prefix = 'gpu') => Array.from({ length: n }, (_, i) => makeNode(`${prefix}-${i}`).gpus(gpus).build());

function tfjob(job = 'tf-smoke-gpu', opts: { workers?: number; min?: number | string; ns?: string; gpu?: number } = {}) {
  const min = opts.min ?? 5;
  const pods = [makePod(`${job}-ps-0`).cpu('1').group(job, min)];
  for (let i = 0; i < (opts.workers ?? 4); i++) pods.push(makePod(`${job}-worker-${i}`).gpu(opts.gpu ?? 2).group(job, min));
  return pods.map((p) => (opts.ns ? p.ns(opts.ns).uid(`${opts.ns}-${p.obj.metadata.name}`) : p).build());
}

/** The pod as kube-scheduler leaves it after a failed attempt: PodScheduled=False with its message. */
function refusedByScheduler(pod: any, message: string) {
  return { ...pod, status: { ...pod.status, conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] } };
}

/** The pod as the webhook creates it with the gang gate on. */
const gated = (p: any) => ({ ...p, spec: { ...p.spec, schedulingGates: [{ name: 'edge-gang.io/gang-quorum' }] } });
const names = (t: TestExtender) => [...t.state.nodes.keys()].sort();
const filter = (t: TestExtender, pod: object, nodeNames = names(t)) => post(t, 'filter', { Pod: pod, Nodes: null, NodeNames: nodeNames });
const bind = (t: TestExtender, pod: any, node: string) => post(t, 'bind', { PodName: pod.metadata.name, PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: node });

describe('quorum gate', () => {
  it('rejects every member as unresolvable while the group is below min-available', async () => {
    const pods = tfjob().slice(0, 3);
    const t = testExtender([...gpuNodes(4), ...pods]);
    const r = await filter(t, pods[0]!);
    expect(r.json.NodeNames).toEqual([]);
    expect(Object.values(r.json.FailedAndUnresolvableNodes)).toEqual(Array(4).fill('gang default/tf-smoke-gpu: 3 of 5 members exist'));
  });
});

describe('whole-gang plan', () => {
  it('refuses every member with the gap in numbers on the seed\'s 4-GPU cluster, and holds nothing', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(2), ...pods]);
    for (const p of pods) {
      const r = await filter(t, p);
      expect(r.json.NodeNames).toEqual([]);
      expect(r.json.FailedAndUnresolvableNodes['gpu-0']).toBe('gang default/tf-smoke-gpu: needs 8 nvidia.com/gpu for 4 pods, 4 free');
    }
    expect(t.state.sizes().holds).toBe(0);
    const d = await t.app.inject({ method: 'GET', url: '/debug/gangs' });
    expect(d.json().gangs[0]).toMatchObject({ gang: 'default/tf-smoke-gpu', phase: 'unschedulable', members: 5, minAvailable: 5, bound: 0 });
  });

  it('plans all members at the first filter and steers each to its planned node', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    const chosen: string[] = [];
    for (const p of pods) {
      const r = await filter(t, p);
      expect(r.json.NodeNames).toHaveLength(1);
      chosen.push(r.json.NodeNames[0]);
    }
    // Four workers of 2 GPUs on four 2-GPU nodes: one per node.
    expect(new Set(chosen.slice(1)).size).toBe(4);
    expect(t.state.sizes().holds).toBe(5);
  });

  it('makes other pods respect a held plan', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    await filter(t, pods[1]!);
    const other = makePod('intruder').gpu(1).build();
    const r = await filter(t, other);
    expect(r.json.NodeNames).toEqual([]);
    expect(r.json.FailedNodes['gpu-0']).toBe('held for a gang plan: insufficient nvidia.com/gpu: requested 1, free 0 of 2');
  });

  it('re-plans a member whose planned node the scheduler did not offer', async () => {
    const pods = tfjob('j', { workers: 1, min: 2 });
    const t = testExtender([...gpuNodes(3), ...pods]);
    const first = await filter(t, pods[1]!);
    const planned = first.json.NodeNames[0];
    const offered = names(t).filter((n) => n !== planned);
    const again = await filter(t, pods[1]!, offered);
    expect(again.json.NodeNames).toHaveLength(1);
    expect(again.json.NodeNames[0]).not.toBe(planned);
    // The pod passes one node, so the scheduler never shows the others' reasons: none are sent.
    expect(again.json.FailedNodes).toEqual({});
    expect(again.json.FailedAndUnresolvableNodes).toEqual({});
  });

  it('plans within one node pool and says so when no single pool fits', async () => {
    const pool = (name: string, n: string) => makeNode(n).gpus(2).label('apps.openyurt.io/nodepool', name).build();
    const members = [0, 1, 2].map((i) => makePod(`w-${i}`).gpu(2).group('edge', 3).annotate('edge-gang.io/same-node-label', 'apps.openyurt.io/nodepool').build());
    const t = testExtender([pool('hangzhou', 'hz-0'), pool('hangzhou', 'hz-1'), pool('beijing', 'bj-0'), pool('beijing', 'bj-1'), ...members]);
    const r = await filter(t, members[0]!);
    expect(Object.values(r.json.FailedAndUnresolvableNodes)[0]).toMatch(/no single apps.openyurt.io\/nodepool has room for the gang \(beijing: .*; hangzhou: .*\)/);
    t.state.setNode(toNodeModel(pool('hangzhou', 'hz-2')));
    const r2 = await filter(t, members[0]!, [...names(t)]);
    expect(r2.json.NodeNames[0]).toMatch(/^hz-/);
    for (const m of members.slice(1)) expect((await filter(t, m, names(t))).json.NodeNames[0]).toMatch(/^hz-/);
  });

  it('includes each member\'s local-LVM volumes in the plan', async () => {
    const members = [0, 1, 2].map((i) => makePod(`db-${i}`).cpu('1').pvc(`data-${i}`).group('db', 3).build());
    const claims = [0, 1, 2].map((i) => makePvc(`data-${i}`, '4Gi'));
    const t = testExtender([
      makeLocalStorageClass(), ...claims, ...members,
      makeNode('s-0').localStorage().vg('volumegroup1', 7 * GiB, 7 * GiB, '2026-11-21T00:00:30Z').build(),
      makeNode('s-1').localStorage().vg('volumegroup1', 5 * GiB, 5 * GiB, '2026-11-21T00:00:30Z').build(),
    ]);
    const r = await filter(t, members[0]!);
    expect(Object.values(r.json.FailedAndUnresolvableNodes)[0]).toMatch(/no placement for 3 members: 2 placed; db-\d fits no node \(volumegroup1: requested 4Gi, free \dGi\)/);
    expect(t.state.reservationCount()).toBe(0);
    t.state.setNode(toNodeModel(makeNode('s-2').localStorage().vg('volumegroup1', 5 * GiB, 5 * GiB, '2026-11-21T00:00:30Z').build()));
    const placed = new Map<string, number>();
    for (const m of members) {
      const x = await filter(t, m, names(t));
      expect(x.json.NodeNames).toHaveLength(1);
      placed.set(x.json.NodeNames[0], (placed.get(x.json.NodeNames[0]) ?? 0) + 4);
    }
    expect(placed.get('s-1') ?? 0).toBeLessThanOrEqual(4);
    expect(placed.get('s-2') ?? 0).toBeLessThanOrEqual(4);
    expect(placed.get('s-0') ?? 0).toBeLessThanOrEqual(4);
  });
});

describe('bind barrier', () => {
  it('holds binds until min-available members arrive, then binds all together', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    const nodesOf = new Map<string, string>();
    for (const p of pods) nodesOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    const pending = pods.slice(0, 4).map((p) => bind(t, p, nodesOf.get(p.metadata.name)!));
    await new Promise((r) => setTimeout(r, 20));
    expect(t.gang!.heldCount()).toBe(4);
    expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(0);
    const last = await bind(t, pods[4]!, nodesOf.get(pods[4]!.metadata.name)!);
    expect(last.json).toEqual({ Error: '' });
    for (const r of await Promise.all(pending)) expect(r.json).toEqual({ Error: '' });
    expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(5);
  });

  it('waits past the barrier timeout while the missing members are pending, and fails once kube-scheduler refuses one', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    const nodesOf = new Map<string, string>();
    for (const p of pods) nodesOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    let settled = 0;
    const pending = pods.slice(0, 3).map((p) => bind(t, p, nodesOf.get(p.metadata.name)!).finally(() => settled++));
    await new Promise((r) => setTimeout(r, 20));
    // 15 s without a new member: worker-2 and worker-3 exist, are pending and nobody refused them, so they are only behind in the queue.
    t.now.ms += 15_001;
    t.gang!.tick();
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(0);
    expect(t.state.sizes().holds).toBe(5);
    // kube-scheduler refuses worker-3 (a filter our model does not have): the barrier stops waiting at its timeout.
    t.state.setPod(toPod(refusedByScheduler(pods[4]!, '0/4 nodes are available: 4 node(s) didn\'t match pod affinity rules.'))!);
    t.now.ms += 5_000;
    t.gang!.tick();
    for (const r of await Promise.all(pending)) {
      expect(r.json.Error).toBe("gang default/tf-smoke-gpu: only 3 of 5 members reached bind, none more in 20s (kube-scheduler refused member tf-smoke-gpu-worker-3: 0/4 nodes are available: 4 node(s) didn't match pod affinity rules.); releasing the plan");
    }
    expect(t.state.sizes().holds).toBe(0);
    expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(0);
    // A late member's bind after the release is refused too: no member binds without a plan.
    const late = await bind(t, pods[4]!, nodesOf.get(pods[4]!.metadata.name)!);
    expect(late.json.Error).toMatch(/no plan holds a place/);
  });

  it('answers a long-held bind before the scheduler\'s httpTimeout, keeps its place, and binds it with the rest', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    const nodesOf = new Map<string, string>();
    for (const p of pods) nodesOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    const first = bind(t, pods[0]!, nodesOf.get(pods[0]!.metadata.name)!);
    // Members trickle in, each within the barrier timeout of the last, for longer than the hold limit.
    const rest: Promise<{ json: any }>[] = [];
    for (const p of pods.slice(1, 4)) {
      await new Promise((r) => setTimeout(r, 5));
      t.now.ms += 97_000;
      t.gang!.tick();
      rest.push(bind(t, p, nodesOf.get(p.metadata.name)!));
    }
    // 291 s after it arrived (hold limit 290 s by default), the first request was answered so the scheduler does not time out ...
    expect((await first).json.Error).toMatch(/3 of 5 members at the bind barrier after 290s; this member keeps its place/);
    expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(0);
    // ... and when the last member arrives, all five are bound, the answered one included.
    const last = await bind(t, pods[4]!, nodesOf.get(pods[4]!.metadata.name)!);
    expect(last.json).toEqual({ Error: '' });
    for (const r of await Promise.all(rest)) expect(r.json).toEqual({ Error: '' });
    expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(5);
  });

  it('honours a per-gang barrier timeout annotation and refuses one above the cap', async () => {
    const ok = [0, 1].map((i) => makePod(`a-${i}`).gpu(1).group('a', 2).annotate('edge-gang.io/barrier-timeout-seconds', '5').build());
    const t = testExtender([...gpuNodes(2), ...ok]);
    const n0 = (await filter(t, ok[0]!)).json.NodeNames[0];
    const held = bind(t, ok[0]!, n0);
    await new Promise((r) => setTimeout(r, 10));
    // a-1 gets a scheduling gate (an operator holds it back): it is not coming, so the 5 s apply.
    t.state.setPod(toPod({ ...ok[1]!, spec: { ...ok[1]!.spec, schedulingGates: [{ name: 'example.com/hold' }] } })!);
    t.now.ms += 5_001;
    t.gang!.tick();
    expect((await held).json.Error).toMatch(/none more in 5s \(member a-1 has scheduling gates\)/);
    const bad = [0, 1].map((i) => makePod(`b-${i}`).gpu(1).group('b', 2).annotate('edge-gang.io/barrier-timeout-seconds', '601').build());
    const t2 = testExtender([...gpuNodes(2), ...bad]);
    expect(Object.values((await filter(t2, bad[0]!)).json.FailedAndUnresolvableNodes)[0]).toMatch(/must be a number of seconds above 0 and at most 300/);
  });
});

describe('a patient barrier', () => {
  it('still gives up after --barrier-max-wait-ms (300 s) on members that never come', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    const nodesOf = new Map<string, string>();
    for (const p of pods) nodesOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    const pending = pods.slice(0, 4).map((p) => bind(t, p, nodesOf.get(p.metadata.name)!));
    await new Promise((r) => setTimeout(r, 20));
    for (let s = 0; s < 29; s++) {
      t.now.ms += 10_000;
      t.gang!.tick();
    }
    expect(t.state.sizes().holds).toBe(5);
    t.now.ms += 11_000;
    t.gang!.tick();
    // The held requests were answered at the hold limit (290 s), the members kept their places; now the plan goes.
    for (const r of await Promise.all(pending)) expect(r.json.Error).toMatch(/after 290s; this member keeps its place/);
    expect(t.state.sizes().holds).toBe(0);
    expect(t.gang!.describe(t.now.ms).find((g) => g.gang === 'default/tf-smoke-gpu')!.lastReason).toMatch(/waited 301s, the longest a barrier waits for members still pending/);
  });

  it('fails at the barrier timeout when a planned member was deleted', async () => {
    const pods = tfjob();
    const t = testExtender([...gpuNodes(4), ...pods]);
    const nodesOf = new Map<string, string>();
    for (const p of pods) nodesOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    const pending = pods.slice(0, 4).map((p) => bind(t, p, nodesOf.get(p.metadata.name)!));
    await new Promise((r) => setTimeout(r, 20));
    t.state.setPod(toPod({ ...pods[4]!, metadata: { ...pods[4]!.metadata, deletionTimestamp: '2026-11-21T00:01:00Z' } })!);
    t.now.ms += 20_001;
    t.gang!.tick();
    for (const r of await Promise.all(pending)) expect(r.json.Error).toMatch(/none more in 20s \(a planned member no longer exists\)/);
  });

  it('calls back a member it refused when a plan made later includes it (the stale-view race)', async () => {
    // 2 of 4 GPUs free as our watch sees it; kube-scheduler already saw the deletion that frees the other two.
    const pods = [0, 1, 2, 3].map((i) => makePod(`job-worker-${i}`).gpu(1).group('job', 4).build());
    const blocker = makePod('old').gpu(2).on('gpu-0').build();
    const t = testExtender([...gpuNodes(2), blocker, ...pods]);
    for (const p of pods.slice(0, 2)) expect((await filter(t, p)).json.NodeNames).toEqual([]);
    expect(t.requeued).toEqual([]);
    // Our watch catches up: the pod is gone. The next member's filter plans the gang; the two refused members are called back.
    t.state.deletePod(blocker.metadata.uid);
    expect((await filter(t, pods[2]!)).json.NodeNames).toHaveLength(1);
    expect(t.requeued.map((r) => r.name)).toEqual(['job-worker-0', 'job-worker-1']);
    // Steered from then on, nobody is called back twice.
    expect((await filter(t, pods[0]!)).json.NodeNames).toHaveLength(1);
    expect((await filter(t, pods[3]!)).json.NodeNames).toHaveLength(1);
    expect(t.requeued).toHaveLength(2);
    const tl = t.gang!.planner.timelines().find((x) => x.gang === 'default/job')!;
    expect(tl.requeued).toBe(2);
    expect(tl.plans).toBe(1);
  });
});

describe('members whose claims are already provisioned (VolumeBinding PreBind ran before a barrier failed)', () => {
  it('plans them on their claims\' nodes first, and re-plans a steered member only onto its claim\'s node', async () => {
    // m1 and m2 reached an earlier barrier: their claims were provisioned on s-1 (2 CPUs left for 3 needed there).
    const m = [
      makePod('m1').cpu('1').pvc('d1').group('db', 3).build(),
      makePod('m2').cpu('2').pvc('d2').group('db', 3).build(),
      makePod('m3').cpu('1').pvc('d3').group('db', 3).build(),
    ];
    const t = testExtender([
      makeLocalStorageClass(),
      makePvc('d1', '1Gi', { volumeName: 'pv-1' }), makePv('pv-1', '1Gi', 's-1', { claim: 'default/d1' }),
      makePvc('d2', '2Gi', { selectedNode: 's-1' }),
      makePvc('d3', '1Gi'),
      makeNode('s-0').cpu('2').localStorage().vg('volumegroup1', GiB, GiB, '2026-11-21T00:00:30Z').build(),
      makeNode('s-1').cpu('3').localStorage().vg('volumegroup1', 4 * GiB, 3 * GiB, '2026-11-21T00:00:30Z').build(),
      ...m,
    ]);
    const at = new Map<string, string>();
    for (const p of m) at.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    // The largest member first would put m2 on s-0's 2 CPUs; its claim is on s-1, so it goes there, and m3 to s-0.
    expect(Object.fromEntries(at)).toEqual({ m1: 's-1', m2: 's-1', m3: 's-0' });
    // Offered only s-0, m2 is not moved off its claim's node (kube-scheduler's VolumeBinding offers only s-1; a cache difference could do this).
    const moved = await filter(t, m[1]!, ['s-0']);
    expect(moved.json.NodeNames).toEqual([]);
    expect(Object.values(moved.json.FailedNodes)[0]).toMatch(/its volumes are provisioned on s-1, which is not eligible/);
  });

  it('stops waiting for a member kube-scheduler refused before the plan and that never passed our filter since', async () => {
    const pods = tfjob();
    const late = refusedByScheduler(pods[4]!, "0/4 nodes are available: 4 node(s) didn't match pod affinity rules.");
    const t = testExtender([...gpuNodes(4), ...pods.slice(0, 4), late]);
    const nodesOf = new Map<string, string>();
    for (const p of pods.slice(0, 4)) nodesOf.set(p.metadata.name, (await filter(t, p)).json.NodeNames[0]);
    const pending = pods.slice(0, 4).map((p) => bind(t, p, nodesOf.get(p.metadata.name)!));
    await new Promise((r) => setTimeout(r, 20));
    t.now.ms += 20_001;
    t.gang!.tick();
    for (const r of await Promise.all(pending)) expect(r.json.Error).toMatch(/none more in 20s \(kube-scheduler refused member tf-smoke-gpu-worker-3: 0\/4 nodes are available/);
  });
});

describe('refusals our lagging watch caused', () => {
  it('re-plans in the sweep once our view frees room, and calls back every refused member without waiting for a filter', async () => {
    const pods = [0, 1, 2, 3].map((i) => makePod(`job-worker-${i}`).gpu(1).group('job', 4).build());
    const blocker = makePod('old').gpu(2).on('gpu-0').build();
    const t = testExtender([...gpuNodes(2), blocker, ...pods]);
    for (const p of pods) expect((await filter(t, p)).json.NodeNames).toEqual([]);
    t.gang!.tick();
    expect(t.requeued).toEqual([]);
    t.state.deletePod(blocker.metadata.uid);
    t.gang!.tick();
    expect(t.requeued.map((r) => r.name).sort()).toEqual(['job-worker-0', 'job-worker-1', 'job-worker-2', 'job-worker-3']);
    expect(t.gang!.describe(t.now.ms).find((g) => g.gang === 'default/job')!.phase).toBe('planned');
    // Each comes back to its planned node.
    for (const p of pods) expect((await filter(t, p)).json.NodeNames).toHaveLength(1);
    // A refusal that old was not watch lag: no sweep re-plan for it.
    const late = [0, 1].map((i) => makePod(`late-${i}`).gpu(4).group('late', 2).build());
    for (const p of late) { t.state.setPod(toPod(p)!); await filter(t, p); }
    // (late-0, refused by the quorum gate, was called back once when late-1's plan failed.)
    const before = t.requeued.length;
    t.now.ms += 31_000;
    t.state.setNode(toNodeModel(makeNode('gpu-9').gpus(8).build()));
    t.gang!.tick();
    expect(t.requeued.slice(before).filter((r) => r.name.startsWith('late-'))).toEqual([]);
  });
});

describe('members the quorum gate refused', () => {
  it('are called back once when the first plan fails, so each is refused with the gap that holds now', async () => {
    const pods = [0, 1, 2].map((i) => makePod(`w-${i}`).gpu(2).group('g', 3).build());
    const t = testExtender(gpuNodes(2));
    for (const p of pods) { t.state.setPod(toPod(p)!); await filter(t, p); }
    expect(t.requeued.map((r) => r.name).sort()).toEqual(['w-0', 'w-1']);
    for (const p of pods) expect(Object.values((await filter(t, p)).json.FailedAndUnresolvableNodes ?? {})[0]).toMatch(/^gang default\/g: needs 6 nvidia.com\/gpu for 3 pods, 4 free/);
    expect(t.requeued).toHaveLength(2);
  });
});

describe('after the gang runs', () => {
  it('schedules members beyond min-available as ordinary pods', async () => {
    const pods = [0, 1, 2].map((i) => makePod(`w-${i}`).gpu(1).group('g', 2).build());
    const t = testExtender([...gpuNodes(2), ...pods]);
    const n0 = (await filter(t, pods[0]!)).json.NodeNames[0];
    const n1 = (await filter(t, pods[1]!)).json.NodeNames[0];
    await Promise.all([bind(t, pods[0]!, n0), bind(t, pods[1]!, n1)]);
    expect([...t.state.pods.values()].filter((p) => p.nodeName)).toHaveLength(2);
    // The scheduler offers only nodes with a free GPU, as its own resource filter would.
    const offered = names(t).filter((n) => (t.state.usedOn(n)['nvidia.com/gpu'] ?? 0) < 2);
    const extra = await filter(t, pods[2]!, offered);
    expect(extra.json.NodeNames).toEqual(offered);
    expect((await bind(t, pods[2]!, offered[0]!)).json).toEqual({ Error: '' });
    // Binding onto a full node is refused: the extender binds only where it would accept the pod now.
    const full = names(t).find((n) => !offered.includes(n))!;
    const more = makePod('w-3').gpu(1).group('g', 2).build();
    t.state.setPod(toPod(more)!);
    expect((await bind(t, more, full)).json.Error).toMatch(/does not fit .*insufficient nvidia.com\/gpu/);
  });

  it('after a restart, finishes a partly bound gang first', async () => {
    // Two of five members were bound before the extender restarted; the other three are pending.
    const pods = tfjob();
    const onNodes = [pods[0]!, pods[1]!].map((p, i) => ({ ...p, spec: { ...p.spec, nodeName: `gpu-${i}` } }));
    const t = testExtender([...gpuNodes(4), ...onNodes, ...pods.slice(2)]);
    const rival = [0, 1].map((i) => makePod(`r-${i}`).gpu(2).group('rival', 2).created('2020-01-01T00:00:00Z').build());
    for (const r of rival) t.state.setPod(toPod(r)!);
    const m = await filter(t, pods[2]!);
    expect(m.json.NodeNames).toHaveLength(1);
    for (const p of pods.slice(3)) expect((await filter(t, p)).json.NodeNames).toHaveLength(1);
    // The older rival gang must wait: the partly bound gang's plan holds the GPUs.
    const r = await filter(t, rival[0]!);
    expect(r.json.NodeNames).toEqual([]);
  });
});

describe('validation', () => {
  it.each([
    ['abc', 'is not a whole number'],
    ['0', 'must be at least 1'],
    ['-3', 'is not a whole number'],
    ['99999999', 'is above the limit of 10000'],
    ['2.5', 'is not a whole number'],
  ])('refuses min-available "%s" with a reason', async (value, reason) => {
    expect(parseMinAvailable(value, 10000)).toMatchObject({ kind: 'invalid' });
    const pod = makePod('x').group('g', value).build();
    const t = testExtender([...gpuNodes(1), pod]);
    const r = await filter(t, pod);
    expect(Object.values(r.json.FailedAndUnresolvableNodes)[0]).toContain(reason);
  });

  it('refuses a gang whose members disagree on min-available, naming the pods', async () => {
    const pods = [makePod('a').group('g', 2).build(), makePod('b').group('g', 3).build()];
    const t = testExtender([...gpuNodes(1), ...pods]);
    const r = await filter(t, pods[0]!);
    expect(Object.values(r.json.FailedAndUnresolvableNodes)[0]).toBe('gang default/g: members disagree on pod-group.scheduling.sigs.k8s.io/min-available: "2" on a; "3" on b');
  });

  it('refuses a gang whose members have different priorities (seed 5.3.1)', async () => {
    const pods = [makePod('a').group('g', 2).priority(10).build(), makePod('b').group('g', 2).priority(0).build()];
    const t = testExtender([...gpuNodes(1), ...pods]);
    const r = await filter(t, pods[0]!);
    expect(Object.values(r.json.FailedAndUnresolvableNodes)[0]).toMatch(/members must share one priority .* found 10 on a; 0 on b/);
  });
});

describe('contention and starvation', () => {
  it('of two gangs that fit alone but not together, plans one and holds nothing for the other; the other follows when the first leaves', async () => {
    const a = [0, 1].map((i) => makePod(`a-${i}`).gpu(2).group('a', 2).created('2026-11-21T00:00:01Z').build());
    const b = [0, 1].map((i) => makePod(`b-${i}`).gpu(2).group('b', 2).created('2026-11-21T00:00:02Z').build());
    const t = testExtender([...gpuNodes(3), ...a, ...b]);
    const planA = await filter(t, a[0]!);
    expect(planA.json.NodeNames).toHaveLength(1);
    const refB = await filter(t, b[0]!);
    expect(refB.json.NodeNames).toEqual([]);
    expect(Object.values(refB.json.FailedAndUnresolvableNodes)[0]).toBe('gang default/b: needs 4 nvidia.com/gpu for 2 pods, 2 free');
    expect(t.state.sizes().holds).toBe(2);
    const nA1 = (await filter(t, a[1]!)).json.NodeNames[0];
    await Promise.all([bind(t, a[0]!, planA.json.NodeNames[0]), bind(t, a[1]!, nA1)]);
    for (const p of a) t.state.deletePod(`uid-${p.metadata.name}`);
    const planB = await filter(t, b[0]!);
    expect(planB.json.NodeNames).toHaveLength(1);
  });

  it('stops younger gangs from planning once an older gang has waited past the head time', async () => {
    // 4 GPUs. A big gang needs all 4; small gangs of 1 GPU keep arriving and leaving.
    const big = [0, 1, 2, 3].map((i) => makePod(`big-${i}`).gpu(1).group('big', 4).created('2026-11-21T00:00:00Z').build());
    const t = testExtender([...gpuNodes(2), ...big], { gang: { headAfterMs: 10_000 } });
    const blocker = makePod('blocker').gpu(1).on('gpu-0').build();
    t.state.setPod(toPod(blocker)!);
    expect((await filter(t, big[0]!)).json.NodeNames).toEqual([]); // 3 free: the big gang waits
    let smallPlaced = 0;
    for (let k = 0; k < 5; k++) {
      t.now.ms += 3_000;
      const small = makePod(`small-${k}`).gpu(1).group(`small-${k}`, 1).created(new Date(t.now.ms).toISOString()).build();
      t.state.setPod(toPod(small)!);
      const r = await filter(t, small);
      if (r.json.NodeNames.length) {
        smallPlaced++;
        await bind(t, small, r.json.NodeNames[0]);
        t.state.deletePod(`uid-small-${k}`); // finishes at once
      } else {
        expect(Object.values(r.json.FailedAndUnresolvableNodes)[0]).toMatch(/queued behind gang default\/big/);
      }
      await filter(t, big[0]!);
    }
    // Before the head time small gangs ran; after it they queue behind the big gang.
    expect(smallPlaced).toBeGreaterThan(0);
    expect(smallPlaced).toBeLessThan(5);
    t.state.deletePod('uid-blocker');
    const r = await filter(t, big[0]!);
    expect(r.json.NodeNames).toHaveLength(1);
  });
});

describe('a member left out of the plan its own filter made', () => {
  it('waits for the planned members instead of being steered to no node', async () => {
    // Two 2-CPU nodes, three 1500m members, min-available 2: the plan takes two, one is left out.
    const pods = ['x', 'a', 'b'].map((n) => makePod(n).cpu('1500m').group('g', 2).build());
    const t = testExtender([makeNode('n-0').cpu('2').build(), makeNode('n-1').cpu('2').build(), ...pods]);
    const results = [];
    for (const p of pods) results.push((await filter(t, p)).json);
    const steered = results.filter((r) => r.NodeNames.length === 1);
    const waiting = results.filter((r) => r.NodeNames.length === 0);
    expect(steered).toHaveLength(2);
    expect(waiting).toHaveLength(1);
    expect(Object.values(waiting[0].FailedAndUnresolvableNodes)).toEqual(['gang default/g: waiting for the planned members to bind', 'gang default/g: waiting for the planned members to bind']);
    expect(t.state.sizes().holds).toBe(2);
    expect([...t.state.nodesWithHolds().keys()].sort()).toEqual(['n-0', 'n-1']);
  });
});

describe('the quorum gate', () => {

  it('keeps a gang gated below min-available, then releases every member together, once', async () => {
    const pods = tfjob().map(gated);
    const t = testExtender([...gpuNodes(4), ...pods.slice(0, 3)]);
    t.gang!.tick();
    expect(t.ungated).toEqual([]);
    expect(t.gang!.describe(t.now.ms).find((g) => g.gang === 'default/tf-smoke-gpu')!.lastReason).toBe('gang default/tf-smoke-gpu: 3 of 5 members exist');
    for (const p of pods.slice(3)) t.state.setPod(toPod(p)!);
    t.gang!.tick();
    expect(t.ungated).toHaveLength(1);
    expect(t.ungated[0]!.map((r) => r.name).sort()).toEqual(pods.map((p) => p.metadata.name).sort());
    // Not sent again while our watch has not seen the removal, until 5 s have passed.
    t.now.ms += 1000;
    t.gang!.tick();
    expect(t.ungated).toHaveLength(1);
    t.now.ms += 5000;
    t.gang!.tick();
    expect(t.ungated).toHaveLength(2);
    // Seen removed: nothing more to do.
    for (const p of pods) t.state.setPod(toPod(p.spec ? { ...p, spec: { ...p.spec, schedulingGates: [] } } : p)!);
    t.now.ms += 6000;
    t.gang!.tick();
    expect(t.ungated).toHaveLength(2);
    expect(t.state.quorumGated.size).toBe(0);
  });

  it('releases gangs best ranked first, and an invalid gang too (our filter then says why)', async () => {
    const hi = [0, 1].map((i) => makePod(`hi-${i}`).gpu(1).group('hi', 2).priority(100).build()).map(gated);
    const lo = [0, 1].map((i) => makePod(`lo-${i}`).gpu(1).group('lo', 2).build()).map(gated);
    const bad = [makePod('bad-0').gpu(1).group('bad', 2).build(), makePod('bad-1').gpu(1).group('bad', 3).build()].map(gated);
    const t = testExtender([...gpuNodes(4), ...lo, ...bad, ...hi]);
    t.gang!.tick();
    const gangs = t.ungated.map((b) => b[0]!.name.split('-')[0]);
    expect(gangs.indexOf('hi')).toBeLessThan(gangs.indexOf('lo'));
    expect(gangs).toContain('bad');
  });

  it('does not count kube-scheduler\'s SchedulingGated condition as a refusal', () => {
    const p = toPod({ ...gated(makePod('g-0').gpu(1).group('g', 2).build()), status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' }] } })!;
    expect(p.unschedulableMessage).toBe('');
    expect(p.quorumGated).toBe(true);
    expect(p.gated).toBe(false);
  });
});

describe('the gang gate admits a gang only when it fits as a whole (admission window)', () => {
  const gang = (name: string, n: number, gpu: number, prio = 0) => Array.from({ length: n }, (_, i) => gated(makePod(`${name}-${i}`).gpu(gpu).group(name, n).priority(prio).build()));
  const ungatedGangs = (t: TestExtender) => t.ungated.map((b) => b[0]!.name.replace(/-\d+$/, ''));
  const seenUngated = (t: TestExtender, pods: any[]) => { for (const p of pods) t.state.setPod(toPod({ ...p, spec: { ...p.spec, schedulingGates: [] } })!); };

  it('keeps a gang that does not fit gated, with the gap in numbers, and admits it with its plan held once room frees', async () => {
    const big = gang('big', 3, 2); // 6 GPUs
    const t = testExtender([...gpuNodes(2), ...big]); // 4 GPUs
    t.gang!.tick();
    expect(t.ungated).toEqual([]);
    expect(t.state.sizes().holds).toBe(0);
    const d = t.gang!.describe(t.now.ms).find((g) => g.gang === 'default/big')!;
    expect(d.phase).toBe('unschedulable');
    expect(d.lastReason).toBe('gang default/big: needs 6 nvidia.com/gpu for 3 pods, 4 free');
    expect(t.events.some((e) => e.kind === 'unschedulable' && e.gang === 'default/big' && e.reason.includes('4 free'))).toBe(true);
    // Nothing freed: the next sweeps answer from the cached failure, still gated.
    t.gang!.tick();
    expect(t.ungated).toEqual([]);
    // A third node joins: admitted, all three members in one batch, the plan held before any filter.
    t.state.setNode(toNodeModel(makeNode('gpu-2').gpus(2).build()));
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['big']);
    expect(t.ungated[0]!.map((r) => r.name).sort()).toEqual(['big-0', 'big-1', 'big-2']);
    expect(t.state.sizes().holds).toBe(3);
    seenUngated(t, big);
    // Each member's first filter is steered to its planned node: no second plan.
    const nodes = new Set<string>();
    for (const p of big) {
      const r = await filter(t, { ...p, spec: { ...p.spec, schedulingGates: [] } });
      expect(r.json.NodeNames).toHaveLength(1);
      nodes.add(r.json.NodeNames[0]);
    }
    expect(nodes.size).toBe(3);
    const tl = t.gang!.planner.timelines().find((x) => x.gang === 'default/big')!;
    expect(tl.plans).toBe(1);
    expect(tl.admittedMs).toBe(t.now.ms);
  });

  it('admits one of two gangs that each need 60% of the GPUs, best ranked first, and the other when the first is gone', () => {
    const a = gang('a', 3, 2, 10); // 6 of 10 GPUs
    const b = gang('b', 3, 2);
    const t = testExtender([...gpuNodes(5), ...b, ...a]);
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['a']);
    expect(t.gang!.describe(t.now.ms).find((g) => g.gang === 'default/b')!.lastReason).toBe('gang default/b: needs 6 nvidia.com/gpu for 3 pods, 4 free');
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['a']);
    // a is bound, ran and is deleted: b is admitted at the next sweep.
    a.forEach((p, i) => t.state.setPod(toPod({ ...p, spec: { ...p.spec, schedulingGates: [], nodeName: `gpu-${i}` } })!));
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['a']);
    for (const p of a) t.state.deletePod(p.metadata.uid);
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['a', 'b']);
  });

  it('admits at most --gang-admission-window gangs not yet released, and the next one when a barrier releases', async () => {
    const gangs = ['g1', 'g2', 'g3'].map((n) => gang(n, 2, 1));
    const t = testExtender([...gpuNodes(8), ...gangs.flat()], { gang: { admissionWindow: 2 } });
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['g1', 'g2']);
    expect(t.gang!.describe(t.now.ms).find((g) => g.gang === 'default/g3')!.lastReason).toBe('gang default/g3: waiting for admission behind 2 admitted gangs not yet bound (--gang-admission-window 2)');
    // g1's two members filter and reach bind: the barrier releases, a slot frees.
    const g1 = gangs[0]!.map((p) => ({ ...p, spec: { ...p.spec, schedulingGates: [] } }));
    seenUngated(t, gangs[0]!);
    const binds: Promise<unknown>[] = [];
    for (const p of g1) {
      const r = await filter(t, p);
      binds.push(bind(t, p, r.json.NodeNames[0]));
    }
    await Promise.all(binds);
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['g1', 'g2', 'g3']);
  });

  it('with --gang-admission-window 0 removes the gates at quorum, fitting or not (our filter then refuses with the gap)', () => {
    const big = gang('big', 3, 2);
    const t = testExtender([...gpuNodes(2), ...big], { gang: { admissionWindow: 0 } });
    t.gang!.tick();
    expect(ungatedGangs(t)).toEqual(['big']);
    expect(t.state.sizes().holds).toBe(0);
  });

  it('rejects a negative window with the flag named', () => {
    expect(() => testExtender([], { gang: { admissionWindow: -1 } })).toThrow(/gang-admission-window/);
  });
});
