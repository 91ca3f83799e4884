// The verbs under generated garbage: every answer is a 4xx or a well-formed answer of the verb
// (with `Error` where the verb has one); the server never throws and its memory does not grow.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeNode, makePod } from '../../support/builders.js';
import { testExtender } from '../../support/extender.js';

const t = testExtender([makeNode('a').gpus(2).build(), makeNode('b').build()]);
let cases = 0;

async function send(verb: string, payload: string): Promise<{ status: number; body: string }> {
  cases++;
  const res = await t.app.inject({ method: 'POST', url: `/${verb}`, payload, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, body: res.body };
}

function wellFormed(verb: string, r: { status: number; body: string }): void {
  expect(r.status).toBeLessThan(500);
  const json = JSON.parse(r.body);
  if (r.status >= 400) {
    expect(typeof (json.Error ?? json.message)).toBe('string');
    return;
  }
  if (verb === 'filter') {
    expect(typeof json.Error).toBe('string');
    if (json.Error === '') {
      expect(json.NodeNames === null || Array.isArray(json.NodeNames)).toBe(true);
      expect(typeof json.FailedNodes).toBe('object');
      expect(typeof json.FailedAndUnresolvableNodes).toBe('object');
    }
  } else if (verb === 'prioritize') {
    expect(Array.isArray(json)).toBe(true);
    for (const h of json) expect(Number.isInteger(h.Score) && h.Score >= 0 && h.Score <= 10).toBe(true);
  } else {
    expect(typeof json.Error).toBe('string');
  }
}

const verb = fc.constantFrom('filter', 'prioritize', 'bind');
const label = fc.oneof(fc.string(), fc.string({ minLength: 1000, maxLength: 5000 }), fc.constantFrom('abc', '-1', '0', '1e9', '2.5', '', ' 3 '));
const podArb = fc.record({
  metadata: fc.record({
    name: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(42), fc.constant(null)),
    namespace: fc.oneof(fc.constant('default'), fc.string()),
    uid: fc.string(),
    labels: fc.dictionary(fc.constantFrom('pod-group.scheduling.sigs.k8s.io/name', 'pod-group.scheduling.sigs.k8s.io/min-available', 'x'), label),
    annotations: fc.dictionary(fc.constantFrom('edge-gang.io/barrier-timeout-seconds', 'edge-gang.io/same-node-label'), fc.string()),
  }, { requiredKeys: [] }),
  spec: fc.oneof(fc.constant(undefined), fc.record({
    containers: fc.oneof(fc.constant('nope'), fc.array(fc.record({ resources: fc.record({ requests: fc.dictionary(fc.constantFrom('cpu', 'memory', 'nvidia.com/gpu'), fc.oneof(fc.string(), fc.integer(), fc.constant(null))) }) }))),
    volumes: fc.oneof(fc.constant(7), fc.array(fc.record({ persistentVolumeClaim: fc.record({ claimName: fc.string() }) }))),
    tolerations: fc.oneof(fc.constant({}), fc.array(fc.anything())),
    affinity: fc.anything(),
  }, { requiredKeys: [] })),
}, { requiredKeys: [] });
const names = fc.oneof(fc.array(fc.constantFrom('a', 'b', 'ghost', ''), { maxLength: 8 }), fc.anything());
const argsArb = fc.record({ Pod: fc.oneof(podArb, fc.anything()), NodeNames: names, Nodes: fc.oneof(fc.constant(null), fc.anything()) }, { requiredKeys: [] });
const bindArb = fc.record({ PodName: fc.oneof(fc.string(), fc.anything()), PodNamespace: fc.anything(), PodUID: fc.anything(), Node: fc.oneof(fc.constantFrom('a', 'b'), fc.anything()) }, { requiredKeys: [] });

describe('bad input (fast-check)', () => {
  it('answers generated request objects with a 4xx or a well-formed answer', async () => {
    await fc.assert(fc.asyncProperty(verb, argsArb, bindArb, async (v, args, b) => {
      wellFormed(v, await send(v, JSON.stringify(v === 'bind' ? b : args)));
    }), { numRuns: 1500 });
  });

  it('answers truncated, invalid and odd JSON with a 4xx', async () => {
    const valid = JSON.stringify({ Pod: makePod('p').group('g', 2).build(), Nodes: null, NodeNames: ['a', 'b'] });
    await fc.assert(fc.asyncProperty(verb, fc.nat(valid.length - 1), async (v, cut) => {
      const r = await send(v, valid.slice(0, cut));
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }), { numRuns: 500 });
    for (const raw of ['', 'null', '[]', '"x"', '1', '{"Pod":', '{"__proto__":{"polluted":1},"Pod":{}}']) {
      for (const v of ['filter', 'prioritize', 'bind']) wellFormed(v, await send(v, raw));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers deep nesting, duplicates and unknown nodes without failing', async () => {
    const pod = JSON.stringify(makePod('deep').build()).slice(0, -1);
    for (const depth of [100, 5000, 100_000]) {
      const deep = `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;
      wellFormed('filter', await send('filter', `{"Pod":${pod},"extra":${deep}},"Nodes":null,"NodeNames":["a","a","ghost","b"]}`));
    }
    const r = await send('filter', JSON.stringify({ Pod: makePod('d').group('g2', 1).build(), Nodes: null, NodeNames: ['a', 'a', 'ghost'] }));
    wellFormed('filter', r);
  });

  it('refuses a 70 MB body with 413 and keeps serving', async () => {
    const huge = JSON.stringify({ Pod: makePod('p').build(), Nodes: null, NodeNames: Array.from({ length: 3_000_000 }, (_, i) => `n-${i}-xxxxxxxxxxxxxx`) });
    expect(huge.length).toBeGreaterThan(64 * 1024 * 1024);
    const r = await send('filter', huge);
    expect(r.status).toBe(413);
    wellFormed('filter', await send('filter', JSON.stringify({ Pod: makePod('p').build(), Nodes: null, NodeNames: ['a'] })));
  }, 120_000);

  it('accepts a 20 MB body of names', async () => {
    const big = JSON.stringify({ Pod: makePod('p').build(), Nodes: null, NodeNames: Array.from({ length: 700_000 }, (_, i) => `node-${i}-xxxxxxxxxxxxxxxxx`) });
    expect(big.length).toBeGreaterThan(20 * 1024 * 1024);
    const r = await send('filter', big);
    expect(r.status).toBe(200);
  }, 120_000);

  it('does not grow memory under repeated garbage', async () => {
    const body = JSON.stringify({ Pod: makePod('x').group('g', 'abc').build(), Nodes: null, NodeNames: ['a', 'b'] });
    // A real GC between the measurements (vitest does not start node with --expose-gc).
    setFlagsFromString('--expose-gc');
    const g = runInNewContext('gc') as () => void;
    for (let i = 0; i < 2000; i++) await send('filter', body);
    g();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5000; i++) await send(['filter', 'prioritize', 'bind'][i % 3]!, i % 2 ? body : '{"Pod":');
    g();
    const grownMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    expect(grownMiB).toBeLessThan(30);
    // The state holds no more than the two nodes and the pods it was asked about.
    expect(t.state.sizes().nodes).toBe(2);
    console.info(`bad-input cases tried: ${cases}`);
  }, 120_000);
});
