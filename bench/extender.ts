// npm run bench:extender — times /filter and /prioritize over loopback HTTP with 1,000 and 5,000
// node names and 50,000 pods in the cache, next to the floor: JSON.parse + JSON.stringify of the
// same request and response bodies in one process. Prints one JSON line.
//
// Calls are sequential on one keep-alive connection, as kube-scheduler makes them (one pod at a time).

import { request, Agent } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadExtenderConfig } from '../src/config/extender.js';
import { createExtenderApp } from '../src/extender/assemble.js';
import { GiB, makeLocalStorageClass, makeNode, makePod, makePvc } from '../test/support/builders.js';
import { toPod } from '../src/extender/convert.js';

const NODES = 5000;
const PODS = 50_000;
const ITER = Number(process.env.BENCH_ITER ?? 400);
const WARMUP = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const objs: Record<string, unknown>[] = [makeLocalStorageClass()];
  for (let i = 0; i < NODES; i++) objs.push(makeNode(`node-${i}`).localStorage().gpus(4).vg('volumegroup1', 100 * GiB, (20 + (i % 80)) * GiB, new Date().toISOString()).build());
  for (let i = 0; i < PODS; i++) objs.push(makePod(`bound-${i}`).cpu('100m').mem('128Mi').on(`node-${i % NODES}`).build());
  objs.push(makePvc('data', '10Gi'));
  const loaded = loadExtenderConfig(['--host', '127.0.0.1', '--port', '0'], {});
  if (loaded.kind !== 'ok') throw new Error(loaded.errors.join('; '));
  // The same assembly as the entry point, over objects in memory; the barrier sweep is not needed here.
  const ext = createExtenderApp(loaded.config, pino({ level: 'silent' }), { objects: objs, clock: Date.now, timers: false });
  // The raw objects are not needed once loaded: keep the heap to what the extender itself holds.
  objs.length = 0;
  const { app, state } = ext;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  const post = (path: string, body: string) => new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end(body);
  });

  const plain = makePod('plain').cpu('1').build();
  const lvm = makePod('with-pvc').cpu('1').pvc('data').build();
  const cases: { name: string; verb: string; pod: unknown | ((i: number) => unknown); n: number }[] = [];
  for (const n of [1000, 5000]) {
    cases.push({ name: `filter-plain-${n}`, verb: 'filter', pod: plain, n });
    cases.push({ name: `filter-lvm-${n}`, verb: 'filter', pod: lvm, n });
    cases.push({ name: `prioritize-plain-${n}`, verb: 'prioritize', pod: plain, n });
    cases.push({ name: `prioritize-lvm-${n}`, verb: 'prioritize', pod: lvm, n });
  }
  // Gang members last (their plans hold resources): a new 8-pod gang per iteration, timing the
  // first member's filter (quorum check + whole-gang plan over 5,000 nodes), and a member steered
  // to an existing plan.
  const gangPods = (k: number) => Array.from({ length: 8 }, (_, i) => makePod(`gang-${k}-${i}`).gpu(1).cpu('500m').group(`gang-${k}`, 8).build());
  for (let k = 0; k < WARMUP + ITER; k++) for (const p of gangPods(k)) state.setPod(toPod(p)!);
  cases.push({ name: 'filter-gang-plan-5000', verb: 'filter', pod: (i: number) => gangPods(i)[0], n: 5000 });
  cases.push({ name: 'filter-gang-steer-5000', verb: 'filter', pod: (i: number) => gangPods(i)[1], n: 5000 });
  const results: Record<string, unknown> = {};
  for (const c of cases) {
    const names = Array.from({ length: c.n }, (_, i) => `node-${i}`);
    const bodyOf = (i: number) => JSON.stringify({ Pod: typeof c.pod === 'function' ? c.pod(i) : c.pod, Nodes: null, NodeNames: names });
    let body = bodyOf(0);
    const times: number[] = [];
    let response = '';
    for (let i = 0; i < WARMUP + ITER; i++) {
      if (typeof c.pod === 'function') body = bodyOf(i);
      const t0 = process.hrtime.bigint();
      response = await post(`/${c.verb}`, body);
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= WARMUP) times.push(dt);
    }
    // The floor: what any JSON-over-HTTP extender must at least do with these bodies, in-process.
    const floor: number[] = [];
    for (let i = 0; i < WARMUP + ITER; i++) {
      const t0 = process.hrtime.bigint();
      JSON.stringify(JSON.parse(body));
      JSON.stringify(JSON.parse(response));
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= WARMUP) floor.push(dt);
    }
    times.sort((a, b) => a - b);
    floor.sort((a, b) => a - b);
    const p50 = percentile(times, 50);
    const f50 = percentile(floor, 50);
    results[c.name] = {
      p50Ms: +p50.toFixed(3), p99Ms: +percentile(times, 99).toFixed(3),
      floorP50Ms: +f50.toFixed(3), floorP99Ms: +percentile(floor, 99).toFixed(3),
      ratioToFloorP50: +(p50 / f50).toFixed(2), requestBytes: body.length, responseBytes: response.length,
    };
  }
  await app.close();
  agent.destroy();
  const line = JSON.stringify({ bench: 'extender', date: new Date().toISOString(), nodes: NODES, cachedPods: PODS, iterations: ITER, node: process.version, results });
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/extender.json', `${line}\n`);
  process.stdout.write(`${line}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
