// Decoding of extender request bodies. Go's encoding/json matches keys case-insensitively and old
// schedulers and sample code use lowercase keys, so we accept any casing of the known keys; only
// the top level is checked (never validate a megabyte NodeList field by field on the hot path).

import type { ExtenderBindingArgs, KubeObject, NodeList } from '../../wire/extender.js';
import type { VerbArgs } from '../ports.js';
import { badRequest } from '../errors.js';

type Obj = Record<string, unknown>;

/** Reads `key` from `o`, matching the key case-insensitively when the exact spelling is absent. */
export function field(o: Obj, key: string): unknown {
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function asObject(body: unknown, what: string): Obj {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`${what}: body must be a JSON object`);
  return body as Obj;
}

export interface DecodedArgs extends VerbArgs {
  /** Which form the answer must take. */
  mode: 'names' | 'nodes';
}

const MAX_NAME = 253;

/** ExtenderArgs: Pod plus exactly one of NodeNames / Nodes. */
export function decodeExtenderArgs(body: unknown, verb: string): DecodedArgs {
  const o = asObject(body, verb);
  const pod = field(o, 'Pod');
  if (typeof pod !== 'object' || pod === null || Array.isArray(pod)) throw badRequest(`${verb}: Pod is missing or not an object`);
  const meta = (pod as Obj).metadata;
  if (typeof meta !== 'object' || meta === null || typeof (meta as Obj).name !== 'string') throw badRequest(`${verb}: Pod.metadata.name is missing`);
  const nodeNames = field(o, 'NodeNames');
  const nodes = field(o, 'Nodes');
  if (Array.isArray(nodeNames)) {
    for (const n of nodeNames) {
      if (typeof n !== 'string' || n.length === 0 || n.length > MAX_NAME) throw badRequest(`${verb}: NodeNames must hold node names (strings of 1..${MAX_NAME} characters)`);
    }
    return { pod: pod as KubeObject, names: nodeNames as string[], nodes: null, mode: 'names' };
  }
  if (typeof nodes === 'object' && nodes !== null) {
    const items = field(nodes as Obj, 'items');
    if (!Array.isArray(items)) throw badRequest(`${verb}: Nodes.items must be a list`);
    const byName = new Map<string, KubeObject>();
    const names: string[] = [];
    for (const item of items) {
      const name = typeof item === 'object' && item !== null ? (item as Obj).metadata && ((item as Obj).metadata as Obj).name : undefined;
      if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) throw badRequest(`${verb}: every item of Nodes.items needs metadata.name`);
      if (!byName.has(name)) names.push(name);
      byName.set(name, item as KubeObject);
    }
    return { pod: pod as KubeObject, names, nodes: byName, mode: 'nodes' };
  }
  if (nodeNames === null || nodes === null) {
    // Both null: the scheduler has no nodes to offer (it does not call us then, but be exact).
    return { pod: pod as KubeObject, names: [], nodes: null, mode: nodes === null && nodeNames === undefined ? 'nodes' : 'names' };
  }
  throw badRequest(`${verb}: neither NodeNames nor Nodes is present`);
}

export function decodeBindingArgs(body: unknown): ExtenderBindingArgs {
  const o = asObject(body, 'bind');
  const out: Record<string, string> = {};
  for (const k of ['PodName', 'PodNamespace', 'PodUID', 'Node'] as const) {
    const v = field(o, k);
    if (typeof v !== 'string' || (k !== 'PodUID' && v.length === 0) || v.length > MAX_NAME) throw badRequest(`bind: ${k} must be a non-empty string`);
    out[k] = v;
  }
  return out as unknown as ExtenderBindingArgs;
}

export function nodeListOf(items: KubeObject[]): NodeList {
  return { metadata: {}, items };
}
