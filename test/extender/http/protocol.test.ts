import { describe, expect, it } from 'vitest';
import { GiB, MiB, makeLocalStorageClass, makeNode, makePod, makePvc } from '../../support/builders.js';
import { post, testExtender } from '../../support/extender.js';

// Bodies in the exact casing kube-scheduler sends (k8s.io/kube-scheduler extender/v1, no json tags):
// the other node field is null, not absent.
function namesArgs(pod: object, names: string[]) {
  return { Pod: pod, Nodes: null, NodeNames: names };
}
function nodesArgs(pod: object, nodes: object[]) {
  return { Pod: pod, Nodes: { metadata: {}, items: nodes }, NodeNames: null };
}

const nodes = [
  makeNode('edge-1').localStorage().vg('volumegroup1', 10 * GiB).build(),
  makeNode('edge-2').localStorage().vg('volumegroup1', GiB, 30 * MiB).build(),
  makeNode('cloud-1').build(),
];
const objects = [makeLocalStorageClass(), ...nodes, makePvc('data', '50Mi'), makePvc('huge', '20Gi')];

describe('filter', () => {
  it('answers NodeNames (and Nodes null) when the scheduler sends names', async () => {
    const t = testExtender(objects);
    const r = await post(t, 'filter', namesArgs(makePod('plain').build(), ['edge-1', 'edge-2', 'cloud-1']));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ Nodes: null, NodeNames: ['edge-1', 'edge-2', 'cloud-1'], FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: '' });
  });

  it('answers Nodes.items (and NodeNames null) when the scheduler sends full Node objects', async () => {
    const t = testExtender(objects);
    const r = await post(t, 'filter', nodesArgs(makePod('p').pvc('data').build(), nodes));
    expect(r.status).toBe(200);
    expect(r.json.NodeNames).toBeNull();
    expect(r.json.Nodes.items.map((n: any) => n.metadata.name)).toEqual(['edge-1']);
    expect(r.json.Nodes.items[0]).toEqual(nodes[0]);
    // A node passed: the others' reasons are not sent (kube-scheduler shows them only when none passes).
    expect(r.json.FailedNodes).toEqual({});
    expect(r.json.FailedAndUnresolvableNodes).toEqual({});
    const big = await post(t, 'filter', nodesArgs(makePod('q').pvc('huge').build(), nodes));
    expect(big.json.Nodes.items).toEqual([]);
    expect(Object.keys(big.json.FailedAndUnresolvableNodes).sort()).toEqual(['cloud-1', 'edge-1', 'edge-2']);
  });

  it('when no node passes, puts every input node in exactly one of FailedNodes, FailedAndUnresolvableNodes; when one does, sends no reasons', async () => {
    const t = testExtender(objects);
    const none = await post(t, 'filter', namesArgs(makePod('q').pvc('data').build(), ['edge-2', 'cloud-1']));
    expect(none.json.NodeNames).toEqual([]);
    expect(none.json.FailedNodes).toEqual({ 'edge-2': 'local-lvm: volumegroup1: requested 50Mi, free 30Mi' });
    expect(none.json.FailedAndUnresolvableNodes['cloud-1']).toMatch(/not a local-storage node/);
    expect(Object.keys(none.json.FailedAndUnresolvableNodes)).toEqual(['cloud-1']);
    const one = await post(t, 'filter', namesArgs(makePod('p').pvc('data').build(), ['edge-1', 'edge-2', 'cloud-1']));
    expect(one.json).toEqual({ Nodes: null, NodeNames: ['edge-1'], FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: '' });
  });

  it('accepts lowercase keys as Go decoding does', async () => {
    const t = testExtender(objects);
    const r = await post(t, 'filter', { pod: makePod('p').build(), nodenames: ['edge-1'] });
    expect(r.json.NodeNames).toEqual(['edge-1']);
  });

  it('accepts 5,000 full Node objects in one body', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => makeNode(`n-${i}`).label('zone', `z${i % 7}`).build());
    const t = testExtender([]);
    const r = await post(t, 'filter', nodesArgs(makePod('p').build(), many));
    expect(r.status).toBe(200);
    expect(r.json.Nodes.items).toHaveLength(5000);
  });

  it('answers Error "not ready" instead of deciding on an unsynced cache', async () => {
    const t = testExtender(objects);
    t.ready.ready = false;
    t.ready.reason = 'caches not synced: pods';
    const r = await post(t, 'filter', namesArgs(makePod('p').build(), ['edge-1']));
    expect(r.json.Error).toBe('extender not ready: caches not synced: pods');
    const h = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(h.statusCode).toBe(503);
  });

  it('rejects a body without Pod with a 400 and a reason', async () => {
    const t = testExtender(objects);
    const r = await post(t, 'filter', { NodeNames: ['edge-1'] });
    expect(r.status).toBe(400);
    expect(r.json.Error).toMatch(/Pod is missing/);
  });

  it('rejects invalid JSON with a 400', async () => {
    const t = testExtender(objects);
    const res = await t.app.inject({ method: 'POST', url: '/filter', payload: '{"Pod": {', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
  });
});

describe('prioritize', () => {
  it('answers a HostPriorityList of integer scores 0..10 in input order', async () => {
    const t = testExtender(objects, { core: { lvmSteering: 'all-fitting' } });
    const r = await post(t, 'prioritize', namesArgs(makePod('p').pvc('data').build(), ['edge-1', 'edge-2', 'cloud-1']));
    expect(r.status).toBe(200);
    expect(r.json.map((h: any) => h.Host)).toEqual(['edge-1', 'edge-2', 'cloud-1']);
    for (const h of r.json) expect(Number.isInteger(h.Score) && h.Score >= 0 && h.Score <= 10).toBe(true);
    expect(r.json[2].Score).toBe(0);
  });

  it('is neutral for a plain pod', async () => {
    const t = testExtender(objects);
    const r = await post(t, 'prioritize', nodesArgs(makePod('plain').build(), nodes));
    expect(r.json).toEqual([{ Host: 'edge-1', Score: 0 }, { Host: 'edge-2', Score: 0 }, { Host: 'cloud-1', Score: 0 }]);
  });
});

describe('bind', () => {
  const pending = makePod('web').build();
  it('binds a known pending pod and accounts it at once', async () => {
    const calls: string[] = [];
    const t = testExtender([...objects, pending], { binder: { bind: async (a) => void calls.push(`${a.PodNamespace}/${a.PodName}->${a.Node}`) } });
    const r = await post(t, 'bind', { PodName: 'web', PodNamespace: 'default', PodUID: 'uid-web', Node: 'edge-1' });
    expect(r.json).toEqual({ Error: '' });
    expect(calls).toEqual(['default/web->edge-1']);
    expect(t.state.podByKey('default', 'web')?.nodeName).toBe('edge-1');
    expect(t.state.usedOn('edge-1').pods).toBe(1);
  });

  it('succeeds without a second call when the pod is already bound to the same node', async () => {
    const calls: string[] = [];
    const t = testExtender([...objects, makePod('web').on('edge-1').build()], { binder: { bind: async () => void calls.push('x') } });
    const r = await post(t, 'bind', { PodName: 'web', PodNamespace: 'default', PodUID: 'uid-web', Node: 'edge-1' });
    expect(r.json).toEqual({ Error: '' });
    expect(calls).toEqual([]);
  });

  it.each([
    ['an unknown pod', { PodName: 'nope', PodNamespace: 'default', PodUID: 'u', Node: 'edge-1' }, /not known to the extender/],
    ['a UID mismatch', { PodName: 'web', PodNamespace: 'default', PodUID: 'other', Node: 'edge-1' }, /has UID uid-web, the bind request names other/],
    ['an unknown node', { PodName: 'web', PodNamespace: 'default', PodUID: 'uid-web', Node: 'ghost' }, /node ghost is not known/],
  ])('refuses %s with a reason', async (_what, args, reason) => {
    const t = testExtender([...objects, pending]);
    const r = await post(t, 'bind', args);
    expect(r.json.Error).toMatch(reason);
    expect(t.state.podByKey('default', 'web')?.nodeName).toBe('');
  });

  it('refuses a pod bound to another node', async () => {
    const t = testExtender([...objects, makePod('web').on('edge-2').build()]);
    const r = await post(t, 'bind', { PodName: 'web', PodNamespace: 'default', PodUID: 'uid-web', Node: 'edge-1' });
    expect(r.json.Error).toMatch(/already bound to edge-2/);
  });

  it('refuses a pod of a scheduler it does not serve', async () => {
    const t = testExtender([...objects, makePod('web').scheduler('other-scheduler').build()]);
    const r = await post(t, 'bind', { PodName: 'web', PodNamespace: 'default', PodUID: 'uid-web', Node: 'edge-1' });
    expect(r.json.Error).toMatch(/asks for scheduler other-scheduler/);
  });

  it('refuses to bind onto a node the pod does not fit now (selector, taint, volumes)', async () => {
    const t = testExtender([...objects, makePod('sel').nodeSelector('zone', 'x').build(), makePod('vol').pvc('data').build()]);
    const a = await post(t, 'bind', { PodName: 'sel', PodNamespace: 'default', PodUID: 'uid-sel', Node: 'edge-1' });
    expect(a.json.Error).toBe('bind refused: pod default/sel does not fit edge-1: node selector zone=x does not match');
    const b = await post(t, 'bind', { PodName: 'vol', PodNamespace: 'default', PodUID: 'uid-vol', Node: 'edge-2' });
    expect(b.json.Error).toBe('bind refused: pod default/vol does not fit edge-2: local-lvm: volumegroup1: requested 50Mi, free 30Mi');
  });

  it('passes a binder failure back as Error', async () => {
    const t = testExtender([...objects, pending], { binder: { bind: async () => { throw new Error('apiserver said no'); } } });
    const r = await post(t, 'bind', { PodName: 'web', PodNamespace: 'default', PodUID: 'uid-web', Node: 'edge-1' });
    expect(r.json.Error).toMatch(/apiserver said no/);
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and Prometheus /metrics with per-verb counts', async () => {
    const t = testExtender(objects);
    await post(t, 'filter', namesArgs(makePod('p').build(), ['edge-1']));
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const m = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(m.body).toMatch(/extender_requests_total\{verb="filter",outcome="ok"\} 1/);
    expect(m.body).toMatch(/extender_filter_decisions_total\{kind="plain"\} 1/);
    expect(m.body).toMatch(/extender_cache_objects\{kind="nodes"\} 3/);
    expect(m.body).toMatch(/extender_request_duration_seconds_bucket/);
  });

  it('keeps idle connections longer than the scheduler does (90 s)', () => {
    const t = testExtender(objects);
    expect(t.app.server.keepAliveTimeout).toBeGreaterThan(90_000);
    expect(t.app.server.headersTimeout).toBeGreaterThan(t.app.server.keepAliveTimeout);
  });
});

describe('refusals kube-scheduler can aggregate', () => {
  it('a local-LVM pod that fits none of 5,000 nodes of varied free space gets a few distinct reasons, with its need and the most free', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => makeNode(`n-${i}`).localStorage().vg('volumegroup1', 100 * GiB, (1 + (i % 997)) * 10 * MiB).build());
    const t = testExtender([makeLocalStorageClass(), makeNode('cloud-0').build(), ...many, makePvc('big', '60Gi')]);
    const r = await post(t, 'filter', namesArgs(makePod('p').pvc('big').build(), [...many.map((n: any) => n.metadata.name), 'cloud-0']));
    expect(r.json.NodeNames).toEqual([]);
    const reasons = [...Object.values(r.json.FailedNodes), ...Object.values(r.json.FailedAndUnresolvableNodes)] as string[];
    expect(reasons).toHaveLength(5001);
    const distinct = [...new Set(reasons)];
    expect(distinct.sort()).toEqual([
      'local-lvm: not a local-storage node (label alibabacloud.com/edge-enable-localstorage=true is missing)',
      'local-lvm: volumegroup1: requested 60Gi, the most free on a node 9.74Gi',
    ]);
    // kube-scheduler's FitError message: "0/N nodes are available: " + "<count> <reason>" per distinct reason.
    const counts = new Map<string, number>();
    for (const x of reasons) counts.set(x, (counts.get(x) ?? 0) + 1);
    const message = `0/5001 nodes are available: ${[...counts].map(([x, n]) => `${n} ${x}`).sort().join(', ')}.`;
    expect(message.length).toBeLessThan(2048);
  });
});
