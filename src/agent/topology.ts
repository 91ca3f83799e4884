// The node-resource-topo configuration: parsing and validation of the `volumegroup` YAML (seed 002, 8.3;
// lvm-anchors 2.1). Pure: text in, a frozen configuration or the full list of errors out.
//
// Accepted shapes (issue 5, offline mode accepts both):
//  - the bare data value:       `volumegroup:\n- name: ...`
//  - the whole ConfigMap YAML:  `kind: ConfigMap ... data: {volumegroup: "volumegroup:\n- ..."}`
//  - the data map alone:        `volumegroup: "volumegroup:\n- ..."` (a string holding the bare form)
//
// What makes the whole configuration invalid (so the last good one stays in force): YAML syntax errors,
// a wrong shape, an unknown operator, an unknown topology type, an invalid VG name or label key, a device
// list that is not a list of strings. Bad device paths are not configuration errors: the planner refuses
// those devices one by one (PathNotAbsolute, PathUnsafe) and goes on with the rest.

import { parseAllDocuments } from 'yaml';
import { TOPO_CONFIGMAP_KEY } from '../wire/keys.js';

export const LABEL_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelOperator = (typeof LABEL_OPERATORS)[number];

/**
 * Topology types ACK's node-resource-manager knows but this agent does not manage (lvm-anchors 2.1). An entry of
 * such a type is skipped with a warning rather than failing the whole ConfigMap, so an ACK configuration that also
 * lists pmem or cloud local disks still drives its `device` entries. Any other type is an error.
 */
export const UNSUPPORTED_ACK_TOPOLOGY_TYPES = ['alibabacloud-local-disk', 'pmem', 'pvc'] as const;

export interface VolumeGroupEntry {
  /** Position in the `volumegroup` list, from 0; later entries win over earlier ones of the same name. */
  readonly index: number;
  /** VolumeGroup name. */
  readonly name: string;
  /** Node label key the entry selects on. */
  readonly key: string;
  readonly operator: LabelOperator;
  /** Label value for In/NotIn; ignored (kept as written) for Exists/DoesNotExist. */
  readonly value: string;
  /** Device paths exactly as written; checked one by one by the planner. */
  readonly devices: readonly string[];
}

export interface SkippedEntry {
  readonly index: number;
  readonly name: string;
  readonly type: string;
}

export interface TopologyConfig {
  readonly entries: readonly VolumeGroupEntry[];
  /** Entries of a known ACK topology type this agent does not manage. */
  readonly skipped: readonly SkippedEntry[];
}

export type ParsedTopology =
  | { kind: 'ok'; config: TopologyConfig; warnings: readonly string[] }
  | { kind: 'invalid'; errors: readonly string[] };

const ENTRY_FIELDS = new Set(['name', 'key', 'operator', 'value', 'topology']);
const DEVICE_TOPOLOGY_FIELDS = new Set(['type', 'devices']);

/** LVM's rule for VG names (lvm(8) "VALID NAMES"): [a-zA-Z0-9+_.-], not starting with '-', not '.' or '..'. */
export function isValidVgName(name: string): boolean {
  return /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$/.test(name) && name !== '.' && name !== '..';
}

/** Kubernetes qualified label key: optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function isValidLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(name)) return false;
  if (prefix === null) return true;
  return prefix.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarToString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

type YamlResult = { kind: 'ok'; value: unknown } | { kind: 'invalid'; errors: string[] };

function parseYaml(text: string, what: string): YamlResult {
  let docs;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    return { kind: 'invalid', errors: [`${what}: ${(err as Error).message}`] };
  }
  // parseAllDocuments returns an EmptyStream (no documents) for empty text.
  if (!Array.isArray(docs)) return { kind: 'ok', value: null };
  if (docs.length > 1) return { kind: 'invalid', errors: [`${what}: holds ${docs.length} YAML documents, expected one`] };
  const doc = docs[0];
  if (doc === undefined) return { kind: 'ok', value: null };
  if (doc.errors.length > 0) return { kind: 'invalid', errors: doc.errors.map((e) => `${what}: YAML error: ${e.message}`) };
  try {
    return { kind: 'ok', value: doc.toJS({ maxAliasCount: 50 }) as unknown };
  } catch (err) {
    return { kind: 'invalid', errors: [`${what}: ${(err as Error).message}`] };
  }
}

const invalid = (error: string): ParsedTopology => ({ kind: 'invalid', errors: [error] });
const empty = (warnings: readonly string[]): ParsedTopology => ({ kind: 'ok', config: freezeConfig([], []), warnings });

type BareForm = { kind: 'bare'; root: Record<string, unknown> } | ParsedTopology;

/** The whole ConfigMap: data.volumegroup, a string holding the bare form. */
function unwrapConfigMap(root: Record<string, unknown>, warnings: string[]): BareForm {
  if (root.kind !== undefined && root.kind !== 'ConfigMap') return invalid(`topology config: kind ${String(root.kind)} is not ConfigMap`);
  const data = root.data;
  if (!isRecord(data)) return invalid('topology config: ConfigMap has no data mapping');
  const inner = data[TOPO_CONFIGMAP_KEY];
  if (inner === undefined || inner === null) return empty([`topology config: ConfigMap has no data.${TOPO_CONFIGMAP_KEY}: no VolumeGroup is managed`]);
  if (typeof inner !== 'string') return invalid(`topology config: data.${TOPO_CONFIGMAP_KEY} is not a string`);
  const ignored = Object.keys(data).filter((k) => k !== TOPO_CONFIGMAP_KEY);
  if (ignored.length > 0) warnings.push(`topology config: data keys not managed by this agent are ignored: ${ignored.join(', ')}`);
  const parsed = parseYaml(inner, `data.${TOPO_CONFIGMAP_KEY}`);
  if (parsed.kind === 'invalid') return parsed;
  if (parsed.value === null || parsed.value === undefined) return empty([...warnings, 'topology config is empty: no VolumeGroup is managed']);
  if (!isRecord(parsed.value)) return invalid(`data.${TOPO_CONFIGMAP_KEY}: the top level is not a mapping`);
  return { kind: 'bare', root: parsed.value };
}

/** The bare `volumegroup:` mapping out of any accepted shape (or the answer, when that shape is empty or wrong). */
function unwrapBareForm(root: Record<string, unknown>, warnings: string[]): BareForm {
  if (root.kind !== undefined || root.data !== undefined) return unwrapConfigMap(root, warnings);
  const dataValue = root[TOPO_CONFIGMAP_KEY];
  if (typeof dataValue !== 'string') return { kind: 'bare', root };
  // The data map alone: `volumegroup: |-` holding the bare form.
  const parsed = parseYaml(dataValue, TOPO_CONFIGMAP_KEY);
  if (parsed.kind === 'invalid') return parsed;
  if (!isRecord(parsed.value)) return invalid(`${TOPO_CONFIGMAP_KEY}: the top level is not a mapping`);
  return { kind: 'bare', root: parsed.value };
}

type VolumeGroupList = { kind: 'list'; list: readonly unknown[]; warnings: string[] } | ParsedTopology;

/** The `volumegroup` list, with the warnings about what around it is ignored. */
function findVolumeGroupList(text: string): VolumeGroupList {
  const top = parseYaml(text, 'topology config');
  if (top.kind === 'invalid') return top;
  if (top.value === null || top.value === undefined) return empty(['topology config is empty: no VolumeGroup is managed']);
  if (!isRecord(top.value)) return invalid('topology config: the top level is not a mapping');
  const warnings: string[] = [];
  const bare = unwrapBareForm(top.value, warnings);
  if (bare.kind !== 'bare') return bare;
  const root = bare.root;
  if (!(TOPO_CONFIGMAP_KEY in root)) return invalid(`topology config: no top-level key ${TOPO_CONFIGMAP_KEY}`);
  const others = Object.keys(root).filter((k) => k !== TOPO_CONFIGMAP_KEY);
  if (others.length > 0) warnings.push(`topology config: top-level keys not managed by this agent are ignored: ${others.join(', ')}`);
  const list = root[TOPO_CONFIGMAP_KEY];
  if (list === null || list === undefined) return empty([...warnings, 'topology config lists no VolumeGroup']);
  if (!Array.isArray(list)) return invalid(`topology config: ${TOPO_CONFIGMAP_KEY} is not a list`);
  return { kind: 'list', list, warnings };
}

/** Findings are appended in document order, so messages come out in the order a reader meets them. */
interface Findings {
  readonly errors: string[];
  readonly warnings: string[];
}

/** `topology.devices`: a list of strings; a path listed twice counts once. Null when it is not a list. */
function parseDeviceList(raw: unknown, where: string, out: Findings): string[] | null {
  if (raw === undefined || raw === null) {
    out.warnings.push(`${where}.topology.devices: no devices listed`);
    return [];
  }
  if (!Array.isArray(raw)) {
    out.errors.push(`${where}.topology.devices: not a list`);
    return null;
  }
  const devices: string[] = [];
  const seen = new Set<string>();
  raw.forEach((d: unknown, di: number) => {
    if (typeof d !== 'string') {
      out.errors.push(`${where}.topology.devices[${di}]: not a string`);
      return;
    }
    if (seen.has(d)) {
      out.warnings.push(`${where}.topology.devices[${di}]: ${JSON.stringify(d)} is listed twice; counted once`);
      return;
    }
    seen.add(d);
    devices.push(d);
  });
  return devices;
}

type EntryTopology = { kind: 'device'; devices: string[] } | { kind: 'skipped'; type: string } | { kind: 'invalid' };

function parseEntryTopology(topology: unknown, where: string, out: Findings): EntryTopology {
  if (!isRecord(topology)) {
    out.errors.push(`${where}.topology: missing or not a mapping`);
    return { kind: 'invalid' };
  }
  if (typeof topology.type !== 'string') {
    out.errors.push(`${where}.topology.type: missing or not a string`);
    return { kind: 'invalid' };
  }
  if (topology.type === 'device') {
    const unknownTopo = Object.keys(topology).filter((k) => !DEVICE_TOPOLOGY_FIELDS.has(k));
    if (unknownTopo.length > 0) out.warnings.push(`${where}.topology: fields ignored for type device: ${unknownTopo.join(', ')}`);
    const devices = parseDeviceList(topology.devices, where, out);
    return devices === null ? { kind: 'invalid' } : { kind: 'device', devices };
  }
  if ((UNSUPPORTED_ACK_TOPOLOGY_TYPES as readonly string[]).includes(topology.type)) return { kind: 'skipped', type: topology.type };
  out.errors.push(`${where}.topology.type: unknown topology type ${JSON.stringify(topology.type)} (supported: device; ignored: ${UNSUPPORTED_ACK_TOPOLOGY_TYPES.join(', ')})`);
  return { kind: 'invalid' };
}

/** name, key, operator and value of one entry; each problem is an error. */
function checkSelector(item: Record<string, unknown>, where: string, out: Findings): string {
  const { name, key, operator } = item;
  if (typeof name !== 'string' || name === '') out.errors.push(`${where}.name: missing or not a string`);
  else if (!isValidVgName(name)) out.errors.push(`${where}.name: ${JSON.stringify(name)} is not a valid VolumeGroup name (letters, digits, + _ . -, not starting with -)`);

  if (typeof key !== 'string' || key === '') out.errors.push(`${where}.key: missing or not a string`);
  else if (!isValidLabelKey(key)) out.errors.push(`${where}.key: ${JSON.stringify(key)} is not a valid label key`);

  if (typeof operator !== 'string') out.errors.push(`${where}.operator: missing or not a string`);
  else if (!(LABEL_OPERATORS as readonly string[]).includes(operator)) {
    out.errors.push(`${where}.operator: unknown operator ${JSON.stringify(operator)} (expected one of ${LABEL_OPERATORS.join(', ')})`);
  }

  const rawValue = item.value;
  if (rawValue !== undefined && rawValue !== null) {
    const s = scalarToString(rawValue);
    if (s === null) out.errors.push(`${where}.value: not a string`);
    return s ?? '';
  }
  if (operator === 'In' || operator === 'NotIn') out.errors.push(`${where}.value: required for operator ${operator}`);
  return '';
}

type ParsedEntry = { kind: 'entry'; entry: VolumeGroupEntry } | { kind: 'skipped'; skipped: SkippedEntry } | { kind: 'invalid' };

/** One item of the `volumegroup` list. */
function parseEntry(item: unknown, index: number, out: Findings): ParsedEntry {
  const where = `${TOPO_CONFIGMAP_KEY}[${index}]`;
  if (!isRecord(item)) {
    out.errors.push(`${where}: not a mapping`);
    return { kind: 'invalid' };
  }
  const before = out.errors.length;
  const unknownFields = Object.keys(item).filter((k) => !ENTRY_FIELDS.has(k));
  if (unknownFields.length > 0) out.warnings.push(`${where}: unknown fields ignored: ${unknownFields.join(', ')}`);
  const value = checkSelector(item, where, out);
  const topology = parseEntryTopology(item.topology, where, out);
  if (out.errors.length > before || topology.kind === 'invalid') return { kind: 'invalid' };
  // checkSelector added no error: name, key and operator are valid strings.
  const name = item.name as string;
  if (topology.kind === 'skipped') {
    out.warnings.push(`${where}: topology type ${topology.type} is not managed by this agent; entry skipped`);
    return { kind: 'skipped', skipped: { index, name, type: topology.type } };
  }
  return { kind: 'entry', entry: { index, name, key: item.key as string, operator: item.operator as LabelOperator, value, devices: topology.devices } };
}

/**
 * ACK keys its desired state by VG name, so of two entries for one VG that both match a node the later wins
 * (lvm-anchors 2.1). Say so, because it is easy to miss.
 */
function duplicateNameWarnings(entries: readonly VolumeGroupEntry[]): string[] {
  const byName = new Map<string, number[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e.index]);
  return [...byName]
    .filter(([, indexes]) => indexes.length > 1)
    .map(([name, indexes]) => `VolumeGroup ${name} is defined by entries ${indexes.join(', ')}: on a node matching several, the last one wins`);
}

/** Parses any accepted shape of the node-resource-topo configuration; never throws. */
export function parseTopologyConfig(text: string): ParsedTopology {
  const found = findVolumeGroupList(text);
  if (found.kind !== 'list') return found;
  const out: Findings = { errors: [], warnings: found.warnings };
  const entries: VolumeGroupEntry[] = [];
  const skipped: SkippedEntry[] = [];
  found.list.forEach((item: unknown, index: number) => {
    const parsed = parseEntry(item, index, out);
    if (parsed.kind === 'entry') entries.push(parsed.entry);
    else if (parsed.kind === 'skipped') skipped.push(parsed.skipped);
  });
  if (out.errors.length > 0) return { kind: 'invalid', errors: out.errors };
  return { kind: 'ok', config: freezeConfig(entries, skipped), warnings: [...out.warnings, ...duplicateNameWarnings(entries)] };
}

function freezeConfig(entries: VolumeGroupEntry[], skipped: SkippedEntry[]): TopologyConfig {
  return Object.freeze({
    entries: Object.freeze(entries.map((e) => Object.freeze({ ...e, devices: Object.freeze([...e.devices]) }))),
    skipped: Object.freeze(skipped.map((s) => Object.freeze({ ...s }))),
  });
}
