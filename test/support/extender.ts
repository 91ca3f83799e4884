// Builds the extender over objects in memory, through the same assembly the entry point uses
// (src/extender/assemble.ts), with a clock and readiness the test controls and the sweep driven by hand.

import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ClusterState } from '../../src/core/state.js';
import type { CoreConfig } from '../../src/core/config.js';
import { deepFreeze, loadExtenderConfig } from '../../src/config/extender.js';
import { createExtenderApp } from '../../src/extender/assemble.js';
import type { Binder, Readiness } from '../../src/extender/ports.js';
import type { GangDescription, GangEvent, GangPlanner, PodRef } from '../../src/core/gang/planner.js';

export interface TestExtender {
  app: FastifyInstance;
  state: ClusterState;
  now: { ms: number };
  ready: Readiness;
  /** The gang engine's hands: sweep, held binds, description. */
  /** Pods the extender asked kube-scheduler to try again, in order. */
  requeued: PodRef[];
  /** Gang-gate removals asked for, one batch per gang. */
  ungated: PodRef[][];
  /** Gang events as the service published them (to Kubernetes Events in a cluster), in order. */
  events: GangEvent[];
  gang: { tick(): void; heldCount(): number; describe(nowMs: number): GangDescription[]; planner: GangPlanner };
}

export interface TestExtenderOptions {
  core?: Partial<CoreConfig>;
  binder?: Binder;
  gang?: { headAfterMs?: number; admissionWindow?: number };
  nowIso?: string;
}

export function testExtender(objects: Record<string, unknown>[], opts: TestExtenderOptions = {}): TestExtender {
  const flags = ['--bind-lag-grace-ms', '0'];
  if (opts.gang?.headAfterMs !== undefined) flags.push('--gang-head-after-ms', String(opts.gang.headAfterMs));
  if (opts.gang?.admissionWindow !== undefined) flags.push('--gang-admission-window', String(opts.gang.admissionWindow));
  const loaded = loadExtenderConfig(flags, {});
  if (loaded.kind !== 'ok') throw new Error(`test extender config: ${loaded.errors.join('; ')}`);
  const config = deepFreeze({ ...loaded.config, core: { ...loaded.config.core, ...opts.core } });
  const now = { ms: Date.parse(opts.nowIso ?? '2026-11-21T00:01:00Z') };
  const ready: Readiness = { ready: true, reason: 'test' };
  const requeued: PodRef[] = [];
  const ungated: PodRef[][] = [];
  const events: GangEvent[] = [];
  const ext = createExtenderApp(config, pino({ level: 'silent' }), {
    objects, clock: () => now.ms, readiness: () => ready, timers: false, requeuer: { requeue: (pods) => { requeued.push(...pods); } },
    ungater: { ungate: (batches) => { ungated.push(...batches); } },
    events: { publish: (es) => { events.push(...es); } },
    ...(opts.binder ? { binder: opts.binder } : {}),
  });
  const gang = {
    tick: () => ext.barrier.tick(),
    heldCount: () => ext.barrier.heldCount(),
    describe: (nowMs: number) => ext.planner.describe(nowMs),
    planner: ext.planner,
  };
  return { app: ext.app, state: ext.state, now, ready, gang, requeued, ungated, events };
}

export async function post(t: TestExtender, verb: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await t.app.inject({ method: 'POST', url: `/${verb}`, payload: body as object, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
}
