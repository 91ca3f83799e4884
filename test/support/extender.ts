// Builds an extender server over a state loaded from objects, the way snapshot mode does.

import { pino } from 'pino';
import { ClusterState } from '../../src/core/state.js';
import type { CoreConfig } from '../../src/core/config.js';
import { defaultCoreConfig } from '../../src/config/extender.js';
import { buildServer, type Binder, type Readiness } from '../../src/extender/http/routes.js';
import { createExtenderMetrics } from '../../src/extender/metrics.js';
import { loadSnapshotObjects, snapshotBinder } from '../../src/extender/snapshot.js';
import { GangRuntimeImpl } from '../../src/extender/barrier.js';

export interface TestExtender {
  app: ReturnType<typeof buildServer>;
  state: ClusterState;
  now: { ms: number };
  ready: Readiness;
  gang: GangRuntimeImpl | undefined;
}

export function testExtender(objects: Record<string, unknown>[], opts: { core?: Partial<CoreConfig>; binder?: Binder; gang?: boolean | { headAfterMs?: number }; nowIso?: string } = {}): TestExtender {
  const state = new ClusterState(defaultCoreConfig(opts.core));
  loadSnapshotObjects(state, objects);
  const now = { ms: Date.parse(opts.nowIso ?? '2026-11-21T00:01:00Z') };
  const ready: Readiness = { ready: true, reason: 'test' };
  const gang = opts.gang
    ? new GangRuntimeImpl(state, { clock: () => now.ms, timers: false, ...(typeof opts.gang === 'object' ? opts.gang : {}) })
    : undefined;
  const app = buildServer({
    state,
    binder: opts.binder ?? snapshotBinder,
    readiness: () => ready,
    clock: () => now.ms,
    logger: pino({ level: 'silent' }),
    metrics: createExtenderMetrics(() => state.sizes()),
    bodyLimitBytes: 64 * 1024 * 1024,
    keepAliveTimeoutMs: 120_000,
    bindLagGraceMs: 0,
    ...(gang ? { gang } : {}),
  });
  return { app, state, now, ready, gang };
}

export async function post(t: TestExtender, verb: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await t.app.inject({ method: 'POST', url: `/${verb}`, payload: body as object, headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : undefined };
}
