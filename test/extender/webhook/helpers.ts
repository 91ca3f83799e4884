// Helpers of the webhook tests: AdmissionReview bodies, a strict RFC 6902 `add` applier (the only op
// the webhook emits), lookups over plain maps and over a ClusterState, and the server driven by inject().

import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { ClusterState } from '../../../src/core/state.js';
import type { StorageClassModel } from '../../../src/core/model.js';
import { defaultCoreConfig } from '../../../src/config/extender.js';
import { loadSnapshotObjects } from '../../../src/extender/snapshot.js';
import type { JsonPatchOp, MarkLookup } from '../../../src/extender/webhook/mark.js';
import { stateLookup } from '../../../src/extender/webhook/lookup.js';
import { buildWebhookServer, WEBHOOK_PATH, type WebhookServerOptions } from '../../../src/extender/webhook/server.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../../src/extender/webhook/metrics.js';
import type { WebhookDecision } from '../../../src/extender/webhook/admission.js';

type Obj = Record<string, any>;

/** An AdmissionReview v1 as the API server sends it for a pod CREATE; `request` fields can be overridden. */
export function review(pod: unknown, request: Obj = {}): Obj {
  const meta = (pod as Obj | null)?.metadata ?? {};
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'req-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: meta.name ?? '',
      namespace: meta.namespace ?? 'default',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...request,
    },
  };
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Applies RFC 6902 `add` ops to a copy of `doc`, strictly: the parent of every target must exist
 * (RFC 6902 4.1), so a patch that forgets an intermediate object fails here as it would in the API server.
 */
export function applyPatch<T>(doc: T, ops: JsonPatchOp[]): T {
  const out = structuredClone(doc) as Obj;
  for (const op of ops) {
    if (op.op !== 'add') throw new Error(`unexpected op ${op.op}`);
    if (!op.path.startsWith('/')) throw new Error(`bad pointer ${op.path}`);
    const tokens = op.path.slice(1).split('/').map(unescape);
    const last = tokens.pop() as string;
    let parent: any = out;
    for (const t of tokens) {
      parent = Array.isArray(parent) ? parent[Number(t)] : parent?.[t];
      if (typeof parent !== 'object' || parent === null) throw new Error(`add ${op.path}: the parent ${t} does not exist`);
    }
    if (Array.isArray(parent)) {
      if (last === '-') parent.push(op.value);
      else parent.splice(Number(last), 0, op.value);
    } else parent[last] = op.value;
  }
  return out as T;
}

/** A lookup over plain maps; absent keys are "not in the cache". */
export function mapLookup(opts: { pvcs?: Record<string, string | null>; classes?: Record<string, boolean>; defaultClass?: string | null; schedulers?: string[] } = {}): MarkLookup {
  return {
    servesScheduler: (name) => (opts.schedulers ?? ['default-scheduler']).includes(name),
    pvcClass: (ns, name) => opts.pvcs?.[`${ns}/${name}`],
    isLocalClass: (name) => opts.classes?.[name],
    defaultClass: () => ('defaultClass' in opts ? opts.defaultClass : null),
  };
}

/**
 * A ClusterState loaded with objects, and its webhook lookup. Every StorageClass gets `isDefault` (true
 * for `defaultClass`): StorageClassModel has no such field yet, so the test sets it on the model.
 */
export function cacheLookup(objects: Obj[], defaultClass?: string): { state: ClusterState; lookup: MarkLookup } {
  const state = new ClusterState(defaultCoreConfig());
  loadSnapshotObjects(state, objects);
  for (const sc of [...state.storageClasses.values()]) state.setStorageClass({ ...sc, isDefault: sc.name === defaultClass } as StorageClassModel);
  if (defaultClass && !state.storageClasses.has(defaultClass)) throw new Error(`no StorageClass ${defaultClass} among the objects`);
  return { state, lookup: stateLookup(state) };
}

export function otherStorageClass(name: string): Obj {
  return { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: 'ebs.csi.aws.com', volumeBindingMode: 'WaitForFirstConsumer' };
}

export interface TestWebhook {
  app: FastifyInstance;
  metrics: WebhookMetrics;
  registry: Registry;
  decisions: WebhookDecision[];
}

export function testWebhook(lookup: MarkLookup, opts: Partial<WebhookServerOptions> = {}): TestWebhook {
  const registry = new Registry();
  const metrics = createWebhookMetrics(registry);
  const decisions: WebhookDecision[] = [];
  const app = buildWebhookServer({ lookup, logger: pino({ level: 'silent' }), metrics, onDecision: (d) => decisions.push(d), ...opts });
  return { app, metrics, registry, decisions };
}

export interface Answer {
  status: number;
  json: any;
  /** The decoded JSON Patch ([] when the response carries none). */
  ops: JsonPatchOp[];
}

export async function send(t: TestWebhook, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await t.app.inject({ method: 'POST', url: WEBHOOK_PATH, payload, headers });
  const json = res.body ? JSON.parse(res.body) : undefined;
  const patch = json?.response?.patch;
  return { status: res.statusCode, json, ops: patch ? JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) : [] };
}

/** The first container's mark in requests and limits. */
export function markOf(pod: Obj, container = 0): { requests: unknown; limits: unknown } {
  const res = pod.spec?.containers?.[container]?.resources ?? {};
  return { requests: res.requests?.['edge-gang.io/managed'], limits: res.limits?.['edge-gang.io/managed'] };
}

export async function counter(t: TestWebhook, name: string): Promise<Record<string, number>> {
  const m = (await t.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const out: Record<string, number> = {};
  for (const v of (m?.values ?? []) as Array<{ labels: Record<string, string>; value: number }>) out[Object.values(v.labels).join(',')] = v.value;
  return out;
}
