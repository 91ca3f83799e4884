// AdmissionReview v1 in and out over HTTP (inject): which pods come back with the mark, what the
// response carries, and what is left alone. The lookup is the real one over a ClusterState.

import { describe, expect, it } from 'vitest';
import { makeLocalStorageClass, makePod, makePvc } from '../../support/builders.js';
import { applyPatch, cacheLookup, counter, markOf, otherStorageClass, review, send, testWebhook } from './helpers.js';

type Obj = Record<string, any>;

const OBJECTS = [makeLocalStorageClass(), otherStorageClass('gp3'), makePvc('local', '1Gi'), makePvc('ebs', '1Gi', { sc: 'gp3' })];

function ephemeral(pod: Obj, storageClassName?: string): Obj {
  const spec: Obj = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
  if (storageClassName !== undefined) spec.storageClassName = storageClassName;
  pod.spec.volumes = [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec } } }];
  return pod;
}

function webhook(defaultClass?: string) {
  return testWebhook(cacheLookup(OBJECTS, defaultClass).lookup);
}

/** The webhook with --gang-quorum-gate true. */
function gating() {
  return testWebhook({ ...cacheLookup(OBJECTS).lookup, gateGangs: () => true });
}

describe('AdmissionReview in and out', () => {
  const marked: Array<{ rule: string; pod: Obj; defaultClass?: string; reason: RegExp }> = [
    { rule: 'marks a gang member', pod: makePod('w-0').group('tf', 2).cpu('1').build(), reason: /member of pod group 'default\/tf'/ },
    { rule: 'marks a pod with a local-LVM PVC', pod: makePod('db').pvc('local').build(), reason: /claim 'default\/local' has local-LVM StorageClass/ },
    { rule: 'marks a pod with an ephemeral volume of a local class', pod: ephemeral(makePod('e').build(), 'csi-local-lvm'), reason: /ephemeral volume 'scratch' has local-LVM/ },
    { rule: 'marks a pod with an ephemeral volume of the default class when that is local', pod: ephemeral(makePod('e').build()), defaultClass: 'csi-local-lvm', reason: /\(default class\)/ },
    { rule: 'marks a pod whose PVC the cache does not know yet, and says why', pod: makePod('db').pvc('just-created').build(), reason: /claim 'default\/just-created' is not in the cache yet: marked so the extender decides/ },
  ];
  for (const c of marked) {
    it(c.rule, async () => {
      const t = webhook(c.defaultClass);
      const a = await send(t, review(c.pod));
      expect(a.status).toBe(200);
      expect(a.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'req-1', allowed: true, patchType: 'JSONPatch' } });
      expect(a.json.response.auditAnnotations.mark).toMatch(c.reason);
      expect(markOf(applyPatch(c.pod, a.ops))).toEqual({ requests: '1', limits: '1' });
      expect(t.decisions.map((d) => d.result)).toEqual(['marked']);
    });
  }

  const unchanged: Array<{ rule: string; body: Obj; reason: RegExp; warning?: RegExp }> = [
    { rule: 'leaves a plain pod unchanged', body: review(makePod('web').cpu('100m').build()), reason: /neither a pod-group member/ },
    { rule: 'leaves a pod with a PVC of a non-local class unchanged', body: review(makePod('db').pvc('ebs').build()), reason: /neither/ },
    { rule: 'leaves an ephemeral volume of the default class unchanged when that is not local', body: review(ephemeral(makePod('e').build())), reason: /neither/ },
    { rule: 'leaves an UPDATE unchanged (the mark is added at CREATE only)', body: review(makePod('w').group('g', 2).build(), { operation: 'UPDATE', oldObject: makePod('w').group('g', 2).build() }), reason: /operation UPDATE/ },
    { rule: 'leaves a DELETE unchanged even without an object', body: review(null, { operation: 'DELETE', oldObject: makePod('w').build() }), reason: /operation DELETE/ },
    { rule: 'leaves a subresource request unchanged', body: review(makePod('w').group('g', 2).build(), { subResource: 'status' }), reason: /subresource status/ },
    {
      rule: 'leaves a non-Pod kind unchanged, with a short warning',
      body: review({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }),
      reason: /not a Pod \(apps\/v1 Deployment\)/, warning: /expects core\/v1 Pod, got apps\/v1 Deployment/,
    },
  ];
  for (const c of unchanged) {
    it(c.rule, async () => {
      const t = webhook();
      const a = await send(t, c.body);
      expect(a.status).toBe(200);
      expect(a.json.response.allowed).toBe(true);
      expect(a.json.response.patch).toBeUndefined();
      expect(a.json.response.patchType).toBeUndefined();
      expect(a.json.response.auditAnnotations.mark).toMatch(c.reason);
      if (c.warning) {
        expect(a.json.response.warnings).toHaveLength(1);
        expect(a.json.response.warnings[0]).toMatch(c.warning);
        expect(a.json.response.warnings[0].length).toBeLessThanOrEqual(120);
      } else expect(a.json.response.warnings).toBeUndefined();
    });
  }

  it('gives no patch when re-invoked on a pod it marked', async () => {
    const t = webhook();
    const pod = makePod('w-0').group('tf', 2).build();
    const first = await send(t, review(pod));
    const again = await send(t, review(applyPatch(pod, first.ops), { uid: 'req-2' }));
    expect(again.json.response).toMatchObject({ uid: 'req-2', allowed: true });
    expect(again.json.response.patch).toBeUndefined();
    expect(again.json.response.auditAnnotations.mark).toMatch(/already carries the mark/);
  });

  it('keeps the user\'s requests and limits and adds requests == limits == 1 for the mark', async () => {
    const t = webhook();
    const pod = makePod('w-0').group('tf', 2).cpu('2').mem('4Gi').gpu(2).build();
    pod.spec.containers[0].resources.limits.memory = '8Gi';
    const before = structuredClone(pod.spec.containers[0].resources);
    const out = applyPatch(pod, (await send(t, review(pod))).ops);
    const res = out.spec.containers[0].resources;
    expect(res.requests).toEqual({ ...before.requests, 'edge-gang.io/managed': '1' });
    expect(res.limits).toEqual({ ...before.limits, 'edge-gang.io/managed': '1' });
  });

  it('adds the nested resources object to a container without one', async () => {
    const t = webhook();
    const pod = makePod('w-0').group('tf', 2).build();
    delete pod.spec.containers[0].resources;
    const a = await send(t, review(pod));
    expect(a.ops).toEqual([{ op: 'add', path: '/spec/containers/0/resources', value: { requests: { 'edge-gang.io/managed': '1' }, limits: { 'edge-gang.io/managed': '1' } } }]);
    // With --gang-quorum-gate a gang member also gets the quorum gate.
    const g = await send(gating(), review(pod));
    expect(g.ops.at(-1)).toEqual({ op: 'add', path: '/spec/schedulingGates', value: [{ name: 'edge-gang.io/gang-quorum' }] });
  });

  it('with --gang-quorum-gate, appends the quorum gate after the pod\'s own gates, and never twice', async () => {
    const own = makePod('w-1').group('tf', 2).build();
    own.spec.schedulingGates = [{ name: 'example.com/wait' }];
    expect((await send(gating(), review(own))).ops.at(-1)).toEqual({ op: 'add', path: '/spec/schedulingGates/-', value: { name: 'edge-gang.io/gang-quorum' } });
    own.spec.schedulingGates.push({ name: 'edge-gang.io/gang-quorum' });
    expect((await send(gating(), review(own))).ops.map((o) => o.path).filter((p) => p.includes('schedulingGates'))).toEqual([]);
    // A local-LVM pod that is no gang member gets the mark only.
    const lvm = await send(gating(), review(makePod('db').pvc('local').build()));
    expect(lvm.ops.map((o) => o.path).filter((p) => p.includes('schedulingGates'))).toEqual([]);
  });

  it('escapes the resource name\'s / as ~1 in the patch', async () => {
    const a = await send(webhook(), review(makePod('w-0').group('tf', 2).cpu('1').build()));
    expect(a.ops.map((o) => o.path)).toEqual(['/spec/containers/0/resources/requests/edge-gang.io~1managed', '/spec/containers/0/resources/limits/edge-gang.io~1managed']);
  });

  it('uses the request\'s namespace for claims when the pod carries none (pods from a controller)', async () => {
    const pod = makePod('db').pvc('local').build();
    delete pod.metadata.namespace;
    delete pod.metadata.name;
    pod.metadata.generateName = 'db-';
    const a = await send(webhook(), review(pod, { namespace: 'team-a', name: '' }));
    expect(a.json.response.auditAnnotations.mark).toMatch(/claim 'team-a\/local' is not in the cache yet/);
  });

  it('counts requests by result and marks by why', async () => {
    const t = webhook();
    await send(t, review(makePod('w').group('g', 2).build()));
    await send(t, review(makePod('d').pvc('later').build()));
    await send(t, review(makePod('web').build()));
    await send(t, { nope: true });
    expect(await counter(t, 'extender_webhook_requests_total')).toEqual({ marked: 2, unchanged: 1, refused: 1 });
    expect(await counter(t, 'extender_webhook_marks_total')).toEqual({ gang: 1, 'unknown-claim': 1 });
  });

  it('answers /healthz', async () => {
    const res = await webhook().app.inject({ method: 'GET', url: '/healthz' });
    expect([res.statusCode, res.json()]).toEqual([200, { ok: true }]);
  });
});
