// npm run bench:memory — heap held by the extender's model for 5,000 nodes and 150,000 pods
// (the bound), measured after a forced GC. Prints one JSON line.

import { mkdirSync, writeFileSync } from 'node:fs';
import { ClusterState } from '../src/core/state.js';
import { defaultCoreConfig } from '../src/config/extender.js';
import { toNode, toPod } from '../src/extender/convert.js';
import { GiB, makeNode, makePod } from '../test/support/builders.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)');
const NODES = 5000;
const PODS = 150_000;
gc();
const before = process.memoryUsage().heapUsed;
const state = new ClusterState(defaultCoreConfig());
for (let i = 0; i < NODES; i++) state.setNode(toNode(makeNode(`node-${i}`).localStorage().gpus(4).vg('volumegroup1', 100 * GiB, 60 * GiB, new Date().toISOString()).build())!);
for (let i = 0; i < PODS; i++) {
  let p = makePod(`pod-${i}`).ns(`ns-${i % 50}`).cpu('100m').mem('128Mi').label('app', `app-${i % 500}`).on(`node-${i % NODES}`);
  if (i % 10 === 0) p = p.group(`g-${Math.floor(i / 80)}`, 8);
  state.setPod(toPod(p.build())!);
}
gc();
const heapMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
const line = JSON.stringify({ bench: 'memory', nodes: state.sizes().nodes, pods: state.sizes().pods, groups: state.sizes().groups, heapMiB: +heapMiB.toFixed(1), bytesPerPod: Math.round((heapMiB * 2 ** 20) / PODS) });
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/memory.json', `${line}\n`);
process.stdout.write(`${line}\n`);
