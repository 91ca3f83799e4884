// The bind path's worst case must fit inside the scheduler's httpTimeout (issue 11): read from the
// shipped scheduler configurations and the extender's own defaults and flags, not restated here.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadExtenderConfig } from '../../src/config/extender.js';
import { BIND_BUDGET_MARGIN_MS, bindWorstCaseMs } from '../../src/config/bind-budget.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(ROOT, p), 'utf8');

/** A Go time.Duration as metav1.Duration writes it ("30s", "1m30s", "500ms"). */
function goDurationMs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let seen = '';
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    seen += m[0];
  }
  if (seen !== text) throw new Error(`not a Go duration: ${text}`);
  return total;
}

function httpTimeoutsOf(path: string): number[] {
  const cfg = parseYaml(read(path)) as { extenders?: { httpTimeout?: string }[] };
  return (cfg.extenders ?? []).map((e) => goDurationMs(e.httpTimeout ?? '5s'));
}

/** The extender's flags in a shipped manifest (the container that runs dist/cmd/extender.js). */
function extenderArgsIn(path: string): string[] {
  for (const doc of parseAllDocuments(read(path))) {
    const o = doc.toJS() as Record<string, any> | null;
    const spec = o?.kind === 'Pod' ? o.spec : o?.spec?.template?.spec;
    const c = (spec?.containers ?? []).find((x: Record<string, any>) => (x.command ?? []).includes('dist/cmd/extender.js'));
    if (c) return c.command.slice(c.command.indexOf('dist/cmd/extender.js') + 1);
  }
  throw new Error(`${path} runs no extender container`);
}

const DEFAULTS = (() => {
  const r = loadExtenderConfig([], {});
  if (r.kind !== 'ok') throw new Error(r.errors.join('; '));
  return r.config;
})();

describe('bind time budget', () => {
  const setups = [
    { scheduler: 'manifests/scheduler/kube-scheduler-config.yaml', extender: 'manifests/static-pods/edge-gang-extender.yaml' },
    { scheduler: 'manifests/overlays/secondary-scheduler/kube-scheduler-config.yaml', extender: 'manifests/overlays/secondary-scheduler/deployment.yaml' },
  ];

  it.each(setups)('the worst-case bind of the extender in $extender fits the httpTimeout of $scheduler', ({ scheduler, extender }) => {
    const timeouts = httpTimeoutsOf(scheduler);
    expect(timeouts.length).toBeGreaterThan(0);
    const loaded = loadExtenderConfig(extenderArgsIn(extender), {});
    if (loaded.kind !== 'ok') throw new Error(loaded.errors.join('; '));
    for (const t of timeouts) {
      expect(bindWorstCaseMs(loaded.config.bind)).toBeLessThanOrEqual(t);
      // The extender checks against the same number the scheduler uses.
      expect(loaded.config.bind.schedulerHttpTimeoutMs).toBe(t);
    }
  });

  it('the legacy Policy file (nanoseconds) gives the extender the same room', () => {
    const policy = JSON.parse(read('manifests/legacy/scheduler-policy.json')) as { extenders: { httpTimeout: number }[] };
    for (const e of policy.extenders) expect(bindWorstCaseMs(DEFAULTS.bind)).toBeLessThanOrEqual(e.httpTimeout / 1e6);
  });

  it('the defaults add up to their documented worst case, below the default httpTimeout', () => {
    const b = DEFAULTS.bind;
    expect(bindWorstCaseMs(b)).toBe(b.lagGraceMs + b.holdLimitMs + b.sweepMs + b.bindingTimeoutMs + BIND_BUDGET_MARGIN_MS);
    expect(bindWorstCaseMs(b)).toBeLessThanOrEqual(b.schedulerHttpTimeoutMs);
    // The planner answers held binds on the same hold limit the budget counts.
    expect(DEFAULTS.core.gang.bindHoldLimitMs).toBe(b.holdLimitMs);
  });

  it.each([
    [['--bind-hold-limit-ms', '299000']],
    [['--binding-timeout-ms', '20000']],
    [['--bind-lag-grace-ms', '5000', '--bind-hold-limit-ms', '293000']],
    [['--scheduler-http-timeout-ms', '10000']],
  ])('refuses %j: the sum would exceed the scheduler\'s httpTimeout, and says by how much and what to change', (args) => {
    const r = loadExtenderConfig(args, {});
    expect(r.kind).toBe('invalid');
    if (r.kind !== 'invalid') return;
    const msg = r.errors.join('\n');
    expect(msg).toMatch(/the bind path can take \d+ ms, more than the scheduler's httpTimeout of \d+ ms/);
    expect(msg).toContain('--bind-hold-limit-ms');
    expect(msg).toContain('--scheduler-http-timeout-ms');
  });

  it('accepts a longer hold when the scheduler is given a longer httpTimeout to match', () => {
    const r = loadExtenderConfig(['--bind-hold-limit-ms', '50000', '--scheduler-http-timeout-ms', '60000'], {});
    expect(r.kind).toBe('ok');
  });
});
