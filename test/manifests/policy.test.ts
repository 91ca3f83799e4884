// The legacy scheduler Policy file (manifests/legacy/scheduler-policy.json, for kube-scheduler before 1.23
// with --policy-config-file) must configure the extender exactly as the KubeSchedulerConfiguration's
// extenders entry does (manifests/scheduler/kube-scheduler-config.yaml).
//
// The two decoders below follow kube-scheduler's (extender-protocol.md section 3):
//  - Policy `LegacyExtender`: Go encoding/json, keys matched exactly or else case-insensitively
//    (caseInsensitiveExtender), unknown keys ignored; `enableHttps`; `httpTimeout` a time.Duration,
//    i.e. integer nanoseconds.
//  - kubescheduler.config.k8s.io/v1 `Extender`: strict and case-sensitive; `enableHTTPS`; `httpTimeout` a
//    metav1.Duration string ("30s").

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const POLICY = resolve(ROOT, 'manifests/legacy/scheduler-policy.json');
const CONFIG = resolve(ROOT, 'manifests/scheduler/kube-scheduler-config.yaml');
const SECONDARY_CONFIG = resolve(ROOT, 'manifests/overlays/secondary-scheduler/kube-scheduler-config.yaml');

/** What the scheduler does with an extender entry, whichever file it came from. */
interface ExtenderSettings {
  /** The URL of each configured verb: TrimRight(urlPrefix, "/") + "/" + verb. */
  endpoints: Record<string, string>;
  weight: number;
  enableHTTPS: boolean;
  nodeCacheCapable: boolean;
  ignorable: boolean;
  httpTimeoutNs: number;
  managedResources: unknown[];
  tlsConfig: unknown;
}

type Fields = {
  urlPrefix: string;
  filterVerb: string;
  preemptVerb: string;
  prioritizeVerb: string;
  weight: number;
  bindVerb: string;
  https: boolean;
  tlsConfig: unknown;
  httpTimeout: unknown;
  nodeCacheCapable: boolean;
  managedResources: unknown[];
  ignorable: boolean;
};

// Go's encoding/json: an exact key match wins, else the first field whose name matches case-insensitively.
const LEGACY_KEYS: Record<string, keyof Fields> = {
  urlPrefix: 'urlPrefix',
  filterVerb: 'filterVerb',
  preemptVerb: 'preemptVerb',
  prioritizeVerb: 'prioritizeVerb',
  weight: 'weight',
  bindVerb: 'bindVerb',
  enableHttps: 'https',
  tlsConfig: 'tlsConfig',
  httpTimeout: 'httpTimeout',
  nodeCacheCapable: 'nodeCacheCapable',
  managedResources: 'managedResources',
  ignorable: 'ignorable',
};

const V1_KEYS: Record<string, keyof Fields> = { ...LEGACY_KEYS, enableHTTPS: 'https' };
delete (V1_KEYS as Record<string, unknown>).enableHttps;

function emptyFields(): Fields {
  return { urlPrefix: '', filterVerb: '', preemptVerb: '', prioritizeVerb: '', weight: 0, bindVerb: '', https: false, tlsConfig: null, httpTimeout: undefined, nodeCacheCapable: false, managedResources: [], ignorable: false };
}

function assign(f: Fields, field: keyof Fields, value: unknown): void {
  (f as Record<string, unknown>)[field] = value;
}

/** Policy `extenders[]` entry, decoded as LegacyExtender. Unknown keys are returned (Go would drop them silently). */
function decodeLegacyExtender(raw: Record<string, unknown>): { fields: Fields; ignored: string[] } {
  const f = emptyFields();
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const exact = LEGACY_KEYS[k];
    const folded = exact ?? Object.entries(LEGACY_KEYS).find(([name]) => name.toLowerCase() === k.toLowerCase())?.[1];
    if (folded === undefined) ignored.push(k);
    else assign(f, folded, v);
  }
  if (f.httpTimeout !== undefined && !Number.isSafeInteger(f.httpTimeout)) throw new Error(`httpTimeout ${JSON.stringify(f.httpTimeout)} is not an integer number of nanoseconds (time.Duration)`);
  return { fields: f, ignored };
}

/** KubeSchedulerConfiguration v1 `extenders[]` entry: strict, case-sensitive. */
function decodeV1Extender(raw: Record<string, unknown>): Fields {
  const f = emptyFields();
  for (const [k, v] of Object.entries(raw)) {
    const field = V1_KEYS[k];
    if (field === undefined) throw new Error(`strict decoding error: unknown field "${k}"`);
    assign(f, field, v);
  }
  if (f.httpTimeout !== undefined && typeof f.httpTimeout !== 'string') throw new Error(`httpTimeout ${JSON.stringify(f.httpTimeout)} is not a duration string`);
  return f;
}

/** Go's time.ParseDuration for the units a config uses ("30s", "1m30s", "1.5s", "500ms"). */
function parseGoDuration(text: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (matched !== text.length || text === '') throw new Error(`time: invalid duration "${text}"`);
  return Math.round(total);
}

const DEFAULT_EXTENDER_TIMEOUT_NS = 5e9;

function settings(f: Fields, timeoutNs: number): ExtenderSettings {
  const base = f.urlPrefix.replace(/\/+$/, '');
  const endpoints: Record<string, string> = {};
  for (const verb of ['filterVerb', 'prioritizeVerb', 'preemptVerb', 'bindVerb'] as const) {
    if (f[verb]) endpoints[verb] = `${base}/${f[verb]}`;
  }
  return {
    endpoints,
    weight: f.weight,
    enableHTTPS: f.https,
    nodeCacheCapable: f.nodeCacheCapable,
    ignorable: f.ignorable,
    httpTimeoutNs: timeoutNs === 0 ? DEFAULT_EXTENDER_TIMEOUT_NS : timeoutNs,
    managedResources: f.managedResources,
    tlsConfig: f.tlsConfig,
  };
}

function fromPolicy(path = POLICY): ExtenderSettings[] {
  const policy = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  expect(policy.kind).toBe('Policy');
  expect(policy.apiVersion).toBe('v1');
  return (policy.extenders as Record<string, unknown>[]).map((e) => {
    const { fields, ignored } = decodeLegacyExtender(e);
    expect(ignored, 'keys kube-scheduler would silently ignore').toEqual([]);
    return settings(fields, (fields.httpTimeout as number | undefined) ?? 0);
  });
}

function fromConfig(path: string): ExtenderSettings[] {
  const cfg = parseYaml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  expect(cfg.apiVersion).toBe('kubescheduler.config.k8s.io/v1');
  return (cfg.extenders as Record<string, unknown>[]).map((e) => {
    const f = decodeV1Extender(e);
    return settings(f, f.httpTimeout === undefined ? 0 : parseGoDuration(f.httpTimeout as string));
  });
}

describe('legacy Policy file vs KubeSchedulerConfiguration', () => {
  it('decodes to the same extender settings as the shipped KubeSchedulerConfiguration', () => {
    const legacy = fromPolicy();
    const current = fromConfig(CONFIG);
    expect(legacy).toHaveLength(1);
    expect(legacy).toEqual(current);
  });

  it('spells out each setting the README table names', () => {
    const [s] = fromPolicy();
    expect(s).toEqual({
      endpoints: { filterVerb: 'http://127.0.0.1:8888/filter', bindVerb: 'http://127.0.0.1:8888/bind' },
      weight: 0,
      enableHTTPS: false,
      nodeCacheCapable: true,
      ignorable: false,
      httpTimeoutNs: 300_000_000_000,
      managedResources: [{ name: 'edge-gang.io/managed', ignoredByScheduler: true }],
      tlsConfig: null,
    });
  });

  it('the secondary scheduler uses the same extender settings', () => {
    expect(fromConfig(SECONDARY_CONFIG)).toEqual(fromConfig(CONFIG));
  });

  it('writes httpTimeout as nanoseconds in the Policy and as a duration string in v1: 300s == 300000000000', () => {
    const policy = JSON.parse(readFileSync(POLICY, 'utf8')) as { extenders: Record<string, unknown>[] };
    const cfg = parseYaml(readFileSync(CONFIG, 'utf8')) as { extenders: Record<string, unknown>[] };
    expect(policy.extenders[0]?.httpTimeout).toBe(300_000_000_000);
    expect(cfg.extenders[0]?.httpTimeout).toBe('300s');
    expect(parseGoDuration('300s')).toBe(300_000_000_000);
  });

  it('writes enableHttps (legacy spelling) in the Policy and never the v1 spelling', () => {
    const raw = readFileSync(POLICY, 'utf8');
    expect(raw).toContain('"enableHttps": false');
    expect(raw).not.toContain('enableHTTPS');
  });

  it('sets only keys LegacyExtender has, and only top-level keys a Policy has', () => {
    const policy = JSON.parse(readFileSync(POLICY, 'utf8')) as Record<string, unknown>;
    // Without predicates/priorities kube-scheduler keeps its default plugins.
    expect(Object.keys(policy).sort()).toEqual(['apiVersion', 'extenders', 'kind']);
  });
});

describe('decoders follow kube-scheduler', () => {
  it.each([
    ['BindVerb', 'bindVerb'],
    ['bindverb', 'bindVerb'],
    ['EnableHttps', 'https'],
    ['enableHTTPS', 'https'],
    ['NODECACHECAPABLE', 'nodeCacheCapable'],
    ['HTTPTimeout', 'httpTimeout'],
    ['URLPrefix', 'urlPrefix'],
  ])('legacy keys match case-insensitively: %s sets %s', (key, field) => {
    const value = field === 'httpTimeout' ? 1 : field === 'urlPrefix' ? 'http://x' : field === 'bindVerb' ? 'bind' : true;
    const { fields, ignored } = decodeLegacyExtender({ [key]: value });
    expect(ignored).toEqual([]);
    expect(fields[field as keyof Fields]).toEqual(value);
  });

  it('legacy decoding ignores unknown keys (so a typo silently does nothing; the shipped file has none)', () => {
    expect(decodeLegacyExtender({ bindVerbs: 'bind' }).ignored).toEqual(['bindVerbs']);
  });

  it('legacy httpTimeout must be integer nanoseconds: a duration string does not decode', () => {
    expect(() => decodeLegacyExtender({ httpTimeout: '30s' })).toThrow(/nanoseconds/);
  });

  it.each([['enableHttps'], ['BindVerb'], ['nodecachecapable']])('v1 is strict and case-sensitive: %s is an unknown field', (key) => {
    expect(() => decodeV1Extender({ [key]: true })).toThrow(/unknown field/);
  });

  it('v1 httpTimeout is a duration string: a number does not decode', () => {
    expect(() => decodeV1Extender({ httpTimeout: 30_000_000_000 })).toThrow(/duration string/);
  });

  it.each([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5s', 1.5e9],
    ['500ms', 5e8],
    ['0', 0],
  ])('parses Go duration %s', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it('an unset or zero timeout means the scheduler default of 5 s', () => {
    expect(settings(emptyFields(), 0).httpTimeoutNs).toBe(5e9);
  });

  it('urlPrefix with or without a trailing slash reaches the same endpoints', () => {
    const a = settings({ ...emptyFields(), urlPrefix: 'http://127.0.0.1:8888/', filterVerb: 'filter' }, 1);
    const b = settings({ ...emptyFields(), urlPrefix: 'http://127.0.0.1:8888', filterVerb: 'filter' }, 1);
    expect(a.endpoints).toEqual(b.endpoints);
  });
});
