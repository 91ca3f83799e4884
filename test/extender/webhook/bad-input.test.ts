// Bad input to the webhook gets a clear refusal (a 4xx the API server turns into its failurePolicy) or
// an unchanged pod, never a crash; and a property over generated pods: the patch keeps every value the
// user set, puts the pod on the extender's path iff the decision says so, and adds nothing the second time.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { admit } from '../../../src/extender/webhook/admission.js';
import { markDecision, mutatePod, type MarkLookup } from '../../../src/extender/webhook/mark.js';
import { parseQuantity } from '../../../src/core/quantity.js';
import { makePod } from '../../support/builders.js';
import { applyPatch, mapLookup, markOf, review, send, testWebhook } from './helpers.js';

type Obj = Record<string, any>;

const MARK = 'edge-gang.io/managed';
const LOOKUP = mapLookup({ pvcs: { 'default/local': 'csi-local-lvm', 'default/ebs': 'gp3', 'default/none': null }, classes: { 'csi-local-lvm': true, gp3: false }, defaultClass: 'csi-local-lvm' });

describe('bad input', () => {
  const refused: Array<{ rule: string; body: unknown; status: number; message: RegExp; headers?: Record<string, string> }> = [
    { rule: 'refuses malformed JSON with 400', body: '{"apiVersion": "admission.k8s.io/v1", ', status: 400, message: /the body is not JSON/ },
    { rule: 'refuses an empty body with 400', body: '', status: 400, message: /must be an AdmissionReview object, got nothing/ },
    { rule: 'refuses a JSON array with 400', body: '[1,2]', status: 400, message: /got an array/ },
    { rule: 'refuses a JSON string with 400', body: '"AdmissionReview"', status: 400, message: /got string/ },
    { rule: 'refuses a JSON null with 400', body: 'null', status: 400, message: /got nothing/ },
    { rule: 'refuses another apiVersion with 400, naming the one it speaks', body: { ...review(makePod('p').build()), apiVersion: 'admission.k8s.io/v1beta1' }, status: 400, message: /apiVersion must be admission.k8s.io\/v1, got 'admission.k8s.io\/v1beta1'/ },
    { rule: 'refuses another kind with 400', body: { ...review(makePod('p').build()), kind: 'Pod' }, status: 400, message: /kind must be AdmissionReview, got 'Pod'/ },
    { rule: 'refuses a review without a request with 400', body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, status: 400, message: /has no request/ },
    { rule: 'refuses a review without a uid with 400', body: review(makePod('p').build(), { uid: undefined }), status: 400, message: /request.uid must be a non-empty string/ },
    { rule: 'refuses a review with a numeric uid with 400', body: review(makePod('p').build(), { uid: 42 }), status: 400, message: /request.uid/ },
    { rule: 'refuses a CREATE without request.object with 400', body: review(undefined), status: 400, message: /request.object must be the Pod/ },
    { rule: 'refuses a CREATE whose object is not an object with 400', body: review('pod'), status: 400, message: /request.object must be the Pod/ },
    { rule: 'refuses text/plain with 415', body: JSON.stringify(review(makePod('p').build())), status: 415, message: /application\/json only/, headers: { 'content-type': 'text/plain' } },
    { rule: 'refuses a body without a content type with 415', body: JSON.stringify(review(makePod('p').build())), status: 415, message: /application\/json only/, headers: {} },
    { rule: 'refuses a form body with 415', body: 'a=b', status: 415, message: /application\/json only/, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  ];
  for (const c of refused) {
    it(c.rule, async () => {
      const t = testWebhook(LOOKUP);
      const a = await send(t, c.body, c.headers);
      expect(a.status).toBe(c.status);
      expect(a.json.message).toMatch(c.message);
      expect(t.decisions).toEqual([]);
    });
  }

  it('refuses a 20 MB body with 413, naming the limit', async () => {
    const t = testWebhook(LOOKUP);
    const pod = makePod('p').annotate('big', 'x'.repeat(20 * 1024 * 1024)).build();
    const a = await send(t, review(pod));
    expect(a.status).toBe(413);
    expect(a.json.message).toBe("the AdmissionReview is larger than the webhook's body limit of 4194304 bytes");
  });

  it('takes the body limit it is given', async () => {
    const a = await send(testWebhook(LOOKUP, { bodyLimitBytes: 1024 }), review(makePod('p').annotate('a', 'x'.repeat(2048)).build()));
    expect([a.status, a.json.message]).toEqual([413, "the AdmissionReview is larger than the webhook's body limit of 1024 bytes"]);
  });

  it('accepts application/json with a charset', async () => {
    const a = await send(testWebhook(LOOKUP), review(makePod('p').build()), { 'content-type': 'application/json; charset=utf-8' });
    expect(a.status).toBe(200);
  });

  it('patches only the first of 500 containers', async () => {
    const pod = makePod('w').group('g', 2).build();
    pod.spec.containers = Array.from({ length: 500 }, (_, i) => ({ name: `c${i}`, image: 'pause', resources: { requests: { cpu: '1m' } } }));
    const a = await send(testWebhook(LOOKUP), review(pod));
    expect(a.status).toBe(200);
    const out = applyPatch(pod, a.ops);
    expect(markOf(out, 0)).toEqual({ requests: '1', limits: '1' });
    expect(out.spec.containers.slice(1)).toEqual(pod.spec.containers.slice(1));
  });

  it('marks a gang member with a 1 MB label value (validation comes after mutation)', async () => {
    const a = await send(testWebhook(LOOKUP), review(makePod('w').group('g'.repeat(1024 * 1024), 2).build()));
    expect(a.status).toBe(200);
    expect(a.ops).toHaveLength(2);
    expect(a.json.response.auditAnnotations.mark.length).toBeLessThan(200);
  });

  it('answers a pod with no containers, unchanged, saying why', async () => {
    const pod = makePod('w').group('g', 2).build();
    pod.spec.containers = [];
    const a = await send(testWebhook(LOOKUP), review(pod));
    expect(a.json.response.patch).toBeUndefined();
    expect(a.json.response.auditAnnotations.mark).toMatch(/not marked: the pod has no containers/);
  });

  it('answers 500 with the message when the lookup throws, and keeps serving', async () => {
    let fail = true;
    const lookup: MarkLookup = { ...LOOKUP, pvcClass: (ns, n) => { if (fail) throw new Error('cache exploded'); return LOOKUP.pvcClass(ns, n); } };
    const t = testWebhook(lookup);
    const a = await send(t, review(makePod('d').pvc('local').build()));
    expect([a.status, a.json.message]).toEqual([500, 'cache exploded']);
    fail = false;
    expect((await send(t, review(makePod('d').pvc('local').build()))).status).toBe(200);
  });
});

// ---- property ---------------------------------------------------------------------------------

const quantity = fc.constantFrom('1', '2', '100m', '1Gi', '0', '1000m');
const resourceName = fc.constantFrom('cpu', 'memory', 'nvidia.com/gpu', 'a~b/c', 'example.com/x', MARK);
const resourceList = fc.option(fc.dictionary(resourceName, quantity, { maxKeys: 4 }), { nil: undefined });
const resources = fc.oneof(
  fc.constant(undefined), fc.constant(null),
  fc.record({ requests: fc.oneof(resourceList, fc.constant(null)), limits: fc.oneof(resourceList, fc.constant(null)) }, { requiredKeys: [] }),
);
const container = fc.record({ name: fc.string({ maxLength: 8 }), resources }).map(({ name, resources: r }) => (r === undefined ? { name } : { name, resources: r }));
const volume = fc.oneof(
  fc.constantFrom('local', 'ebs', 'none', 'unknown').map((c) => ({ name: `v-${c}`, persistentVolumeClaim: { claimName: c } })),
  fc.constantFrom(undefined, '', 'csi-local-lvm', 'gp3', 'new-class').map((sc) => ({ name: 'eph', ephemeral: { volumeClaimTemplate: { spec: sc === undefined ? {} : { storageClassName: sc } } } })),
  fc.constant({ name: 'tmp', emptyDir: {} }),
);
const labels = fc.dictionary(fc.constantFrom('app', 'pod-group.scheduling.sigs.k8s.io/name', 'tier'), fc.string({ maxLength: 6 }), { maxKeys: 3 });
const pod = fc.record({
  labels,
  volumes: fc.array(volume, { maxLength: 4 }),
  containers: fc.array(container, { minLength: 0, maxLength: 4 }),
  initContainers: fc.array(container, { maxLength: 2 }),
  defaultClass: fc.constantFrom<string | null | undefined>('csi-local-lvm', 'gp3', null, undefined),
}).map((g) => ({
  pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels: g.labels }, spec: { containers: g.containers, initContainers: g.initContainers, volumes: g.volumes } } as Obj,
  lookup: mapLookup({ pvcs: { 'default/local': 'csi-local-lvm', 'default/ebs': 'gp3', 'default/none': null }, classes: { 'csi-local-lvm': true, gp3: false }, defaultClass: g.defaultClass }),
}));

/** kube-scheduler's IsInterested for our managed resource: any container or init container requests or limits it. */
function interested(p: Obj): boolean {
  return [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])].some((c: Obj) => c.resources?.requests?.[MARK] !== undefined || c.resources?.limits?.[MARK] !== undefined);
}

/** The amount equals 1 as the API server reads it ("1", "1000m"). */
function isOne(q: unknown): boolean {
  const r = parseQuantity(q, 1000);
  return r.kind === 'ok' && r.value === 1000;
}

function patchOf(p: Obj, lookup: MarkLookup, uid: string): Obj {
  const { review: out } = admit(review(p, { uid }), lookup);
  expect(out.response.uid).toBe(uid);
  return out.response.patch ? applyPatch(p, JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8'))) : p;
}

describe('property: the patch over generated pods', () => {
  it('keeps every user value, marks iff decided, and adds nothing when re-invoked', () => {
    fc.assert(fc.property(pod, ({ pod: p, lookup }) => {
      const decision = markDecision(p, lookup);
      const out = patchOf(p, lookup, 'u1');
      // Every original request and limit keeps its value; only the first container may change.
      p.spec.containers.forEach((c: Obj, i: number) => {
        for (const field of ['requests', 'limits']) {
          for (const [k, v] of Object.entries(c.resources?.[field] ?? {})) expect(out.spec.containers[i].resources[field][k]).toBe(v);
        }
      });
      expect(out.spec.containers.slice(1)).toEqual(p.spec.containers.slice(1));
      expect(out.spec.initContainers).toEqual(p.spec.initContainers);
      expect(out.metadata).toEqual(p.metadata);
      expect(out.spec.volumes).toEqual(p.spec.volumes);
      // On the extender's path iff the decision says so (or the user put it there); a plain pod is untouched.
      if (!decision.mark) expect(out).toEqual(p);
      if (p.spec.containers.length > 0) expect(interested(out)).toBe(decision.mark || interested(p));
      if (out !== p) {
        const m = markOf(out);
        expect([isOne(m.requests), isOne(m.limits)]).toEqual([true, true]);
      }
      // Re-invocation: nothing more.
      expect(mutatePod(out, lookup).ops).toEqual([]);
      expect(patchOf(out, lookup, 'u2')).toEqual(out);
    }), { numRuns: 500 });
  });
});
