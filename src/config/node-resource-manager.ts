// node-resource-manager's configuration: one schema, defaults inline, validated once with every error listed,
// then frozen (STYLE.md). cmd/node-resource-manager.ts reads argv and the environment and hands the raw strings
// here; nothing else reads them. docs/node-resource-manager.md has the same table for people.

import { TOPO_CONFIGMAP_NAME, TOPO_CONFIGMAP_NAMESPACE } from '../wire/keys.js';

export interface NodeResourceManagerConfig {
  readonly nodeName: string;
  /** Offline (file) mode: the node's labels. In API mode labels come from the Node object. */
  readonly nodeLabels: Readonly<Record<string, string>> | null;
  /** Offline mode: a ConfigMap YAML or bare `volumegroup:` YAML, read instead of the API server. */
  readonly configFile: string | null;
  readonly once: boolean;
  readonly dryRun: boolean;
  readonly kubeconfig: string | null;
  readonly configMapNamespace: string;
  readonly configMapName: string;
  /** Where the last good configuration and labels are cached; null: no cache. */
  readonly stateDir: string | null;
  readonly resyncIntervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly publishRetryIntervalMs: number;
  readonly initialSyncTimeoutMs: number;
  readonly failureRetryMs: number;
  readonly watchTimeoutSeconds: number;
  readonly commandPrefix: readonly string[];
  readonly commandTimeoutMs: number;
  readonly lvmConfig: string;
  readonly metricsHost: string;
  /** 0: no metrics endpoint. */
  readonly metricsPort: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly maxQueuedEvents: number;
  /** Test hook: pause this long after each successful pvcreate (0: off). */
  readonly testPauseAfterPvcreateMs: number;
}

type Kind = 'string' | 'boolean' | 'integer';

export interface OptionSpec {
  readonly key: keyof NodeResourceManagerConfig;
  /** Command-line flag without the leading dashes; null: environment only. */
  readonly flag: string | null;
  /** Environment variables, first wins. */
  readonly env: readonly string[];
  readonly kind: Kind;
  /** Default as the user would write it ('' for none). */
  readonly default: string;
  readonly doc: string;
}

/** The schema. Order is the order of the docs table and of --help. */
export const NRM_OPTIONS: readonly OptionSpec[] = Object.freeze([
  { key: 'nodeName', flag: 'node-name', env: ['NRM_NODE_NAME', 'NODE_NAME', 'KUBE_NODE_NAME'], kind: 'string', default: '', doc: 'This node\'s name (required; in a DaemonSet from the downward API spec.nodeName).' },
  { key: 'configFile', flag: 'config-file', env: ['NRM_CONFIG_FILE'], kind: 'string', default: '', doc: 'Offline mode: read the topology from this file (ConfigMap YAML or bare `volumegroup:` YAML) instead of the API server.' },
  { key: 'nodeLabels', flag: 'node-labels', env: ['NRM_NODE_LABELS'], kind: 'string', default: '', doc: 'Offline mode: the node\'s labels, `k=v,k2=v2`.' },
  { key: 'once', flag: 'once', env: ['NRM_ONCE'], kind: 'boolean', default: 'false', doc: 'Offline mode: reconcile once, print a JSON report, exit (needs --config-file).' },
  { key: 'dryRun', flag: 'dry-run', env: ['NRM_DRY_RUN'], kind: 'boolean', default: 'false', doc: 'Plan and report, but run no command that changes LVM.' },
  { key: 'kubeconfig', flag: 'kubeconfig', env: ['NRM_KUBECONFIG'], kind: 'string', default: '', doc: 'kubeconfig file; empty: $KUBECONFIG, else the in-cluster service account, else ~/.kube/config (the client\'s default order).' },
  { key: 'configMapNamespace', flag: 'configmap-namespace', env: ['NRM_CONFIGMAP_NAMESPACE'], kind: 'string', default: TOPO_CONFIGMAP_NAMESPACE, doc: 'Namespace of the topology ConfigMap.' },
  { key: 'configMapName', flag: 'configmap-name', env: ['NRM_CONFIGMAP_NAME'], kind: 'string', default: TOPO_CONFIGMAP_NAME, doc: 'Name of the topology ConfigMap (data key `volumegroup`).' },
  { key: 'stateDir', flag: 'state-dir', env: ['NRM_STATE_DIR'], kind: 'string', default: '/var/lib/node-resource-manager', doc: 'Where the last good configuration (last-config.yaml) and node labels (last-labels.json) are cached, written atomically; `none` disables.' },
  { key: 'resyncIntervalMs', flag: 'resync-interval-ms', env: ['NRM_RESYNC_INTERVAL_MS'], kind: 'integer', default: '60000', doc: 'Periodic reconcile interval.' },
  { key: 'heartbeatIntervalMs', flag: 'heartbeat-interval-ms', env: ['NRM_HEARTBEAT_INTERVAL_MS'], kind: 'integer', default: '120000', doc: 'Republish an unchanged capacity report after this long; keep it well below the extender\'s capacityStaleAfterMs.' },
  { key: 'publishRetryIntervalMs', flag: 'publish-retry-interval-ms', env: ['NRM_PUBLISH_RETRY_INTERVAL_MS'], kind: 'integer', default: '10000', doc: 'While the API server is unreachable, retry publishing this often.' },
  { key: 'initialSyncTimeoutMs', flag: 'initial-sync-timeout-ms', env: ['NRM_INITIAL_SYNC_TIMEOUT_MS'], kind: 'integer', default: '10000', doc: 'At start, wait this long for the live ConfigMap and Node before reconciling from the cache.' },
  { key: 'failureRetryMs', flag: 'failure-retry-ms', env: ['NRM_FAILURE_RETRY_MS'], kind: 'integer', default: '600000', doc: 'A device an LVM command failed on is refused (DeviceCommandFailed) for this long before it is tried again.' },
  { key: 'watchTimeoutSeconds', flag: 'watch-timeout-seconds', env: ['NRM_WATCH_TIMEOUT_SECONDS'], kind: 'integer', default: '300', doc: 'Server-side timeout of each watch; the watch is then re-listed.' },
  { key: 'commandPrefix', flag: 'command-prefix', env: ['NRM_COMMAND_PREFIX'], kind: 'string', default: '', doc: 'Prepended to every command, split on spaces; in a pod: `nsenter --target 1 --mount --uts --ipc --net --pid --`.' },
  { key: 'commandTimeoutMs', flag: 'command-timeout-ms', env: ['NRM_COMMAND_TIMEOUT_MS'], kind: 'integer', default: '120000', doc: 'Time limit of each command (SIGTERM, then SIGKILL 5 s later).' },
  { key: 'lvmConfig', flag: 'lvm-config', env: ['NRM_LVM_CONFIG'], kind: 'string', default: '', doc: 'Passed to LVM commands as `--config`; without udev: `activation {udev_sync=0 udev_rules=0} devices {obtain_device_list_from_udev=0}`.' },
  { key: 'metricsHost', flag: 'metrics-host', env: ['NRM_METRICS_HOST'], kind: 'string', default: '0.0.0.0', doc: 'Address of the /metrics and /healthz endpoint.' },
  { key: 'metricsPort', flag: 'metrics-port', env: ['NRM_METRICS_PORT'], kind: 'integer', default: '9464', doc: 'Port of the /metrics endpoint; 0: none.' },
  { key: 'logLevel', flag: 'log-level', env: ['NRM_LOG_LEVEL', 'LOG_LEVEL'], kind: 'string', default: 'info', doc: 'pino level: fatal, error, warn, info, debug, trace.' },
  { key: 'maxQueuedEvents', flag: 'max-queued-events', env: ['NRM_MAX_QUEUED_EVENTS'], kind: 'integer', default: '200', doc: 'Events kept while the API server is unreachable (oldest dropped first).' },
  { key: 'testPauseAfterPvcreateMs', flag: null, env: ['NRM_TEST_PAUSE_AFTER_PVCREATE_MS'], kind: 'integer', default: '0', doc: 'Test hook only: pause after each successful pvcreate (and say so on stderr) so a test can kill the agent mid-reconcile.' },
] satisfies OptionSpec[]);

export type ConfigResult =
  | { kind: 'ok'; config: NodeResourceManagerConfig }
  | { kind: 'invalid'; errors: readonly string[] };

export interface RawConfigInput {
  /** Flag values by flag name (booleans as true/false or strings). */
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** Parses `k=v,k2=v2` (an empty value is allowed: `k=`). */
export function parseLabelList(text: string): { kind: 'ok'; labels: Record<string, string> } | { kind: 'invalid'; reason: string } {
  const labels: Record<string, string> = {};
  if (text.trim() === '') return { kind: 'ok', labels };
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return { kind: 'invalid', reason: `label ${JSON.stringify(item)} is not key=value` };
    const key = item.slice(0, eq).trim();
    if (Object.prototype.hasOwnProperty.call(labels, key)) return { kind: 'invalid', reason: `label ${key} given twice` };
    labels[key] = item.slice(eq + 1).trim();
  }
  return { kind: 'ok', labels };
}

function rawValue(spec: OptionSpec, input: RawConfigInput): { value: string; from: string } {
  if (spec.flag !== null) {
    const v = input.flags[spec.flag];
    if (v !== undefined) return { value: typeof v === 'boolean' ? String(v) : v, from: `--${spec.flag}` };
  }
  for (const name of spec.env) {
    const v = input.env[name];
    if (v !== undefined && v !== '') return { value: v, from: name };
  }
  return { value: spec.default, from: 'default' };
}

type RawValues = Record<string, unknown>;

/** Each option converted to its kind, by the schema; a value of the wrong kind is an error. */
function readOptions(input: RawConfigInput, errors: string[]): RawValues {
  const out: RawValues = {};
  for (const spec of NRM_OPTIONS) {
    const { value, from } = rawValue(spec, input);
    switch (spec.kind) {
      case 'boolean': {
        const v = value.toLowerCase();
        if (['true', '1', 'yes'].includes(v)) out[spec.key] = true;
        else if (['false', '0', 'no', ''].includes(v)) out[spec.key] = false;
        else errors.push(`${from}: ${JSON.stringify(value)} is not a boolean`);
        break;
      }
      case 'integer': {
        if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) errors.push(`${from}: ${JSON.stringify(value)} is not a non-negative integer`);
        else out[spec.key] = Number(value);
        break;
      }
      case 'string':
        out[spec.key] = value;
        break;
    }
  }
  return out;
}

/** The node, and the mode it runs in: offline (a file and labels given) or API (both from the API server). */
function checkNodeAndMode(out: RawValues, errors: string[]): Pick<NodeResourceManagerConfig, 'nodeName' | 'configFile' | 'nodeLabels'> {
  const nodeName = String(out.nodeName ?? '');
  if (nodeName === '') errors.push('node name is required: --node-name or NODE_NAME');
  else if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName)) errors.push(`node name ${JSON.stringify(nodeName)} is not a valid Kubernetes node name`);

  const configFile = String(out.configFile ?? '') || null;
  const labelsText = String(out.nodeLabels ?? '');
  let nodeLabels: Record<string, string> | null = null;
  if (labelsText !== '') {
    const parsed = parseLabelList(labelsText);
    if (parsed.kind === 'invalid') errors.push(`--node-labels: ${parsed.reason}`);
    else nodeLabels = parsed.labels;
  }
  if (configFile !== null && nodeLabels === null && labelsText === '') nodeLabels = {};
  if (configFile === null && labelsText !== '') errors.push('--node-labels is for offline mode (--config-file); with the API server labels come from the Node object');
  if (out.once === true && configFile === null) errors.push('--once needs --config-file (offline mode)');
  return { nodeName, configFile, nodeLabels: nodeLabels === null ? null : Object.freeze({ ...nodeLabels }) };
}

/** Intervals, limits, the metrics port and the log level. */
function checkRanges(out: RawValues, errors: string[]): void {
  const positive: (keyof NodeResourceManagerConfig)[] = ['resyncIntervalMs', 'heartbeatIntervalMs', 'publishRetryIntervalMs', 'commandTimeoutMs', 'watchTimeoutSeconds', 'maxQueuedEvents'];
  for (const key of positive) {
    if (typeof out[key] === 'number' && (out[key]) <= 0) errors.push(`${key} must be positive`);
  }
  if (typeof out.metricsPort === 'number' && out.metricsPort > 65535) errors.push(`metrics port ${out.metricsPort} is out of range`);

  const logLevel = String(out.logLevel);
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) errors.push(`log level ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
}

/** What reaches LVM's command lines and the disk: the command prefix (an argv), `--config`, the state dir. */
function checkCommandsAndDisk(out: RawValues, errors: string[]): Pick<NodeResourceManagerConfig, 'commandPrefix' | 'lvmConfig' | 'stateDir'> {
  const prefixText = String(out.commandPrefix ?? '').trim();
  const commandPrefix = prefixText === '' ? [] : prefixText.split(/\s+/);
  if (commandPrefix.some((t) => /[\\'"`$;&|<>(){}*?!\n]/.test(t))) {
    errors.push(`command prefix ${JSON.stringify(prefixText)} has shell metacharacters; it is an argv (no shell), write it without quoting`);
  }
  const lvmConfig = String(out.lvmConfig ?? '');
  if (/[\n\0]/.test(lvmConfig)) errors.push('lvm config must be one line');

  const stateDirText = String(out.stateDir ?? '');
  const stateDir = stateDirText === '' || stateDirText === 'none' ? null : stateDirText;
  if (stateDir !== null && !stateDir.startsWith('/')) errors.push(`state dir ${JSON.stringify(stateDir)} must be an absolute path`);
  return { commandPrefix: Object.freeze(commandPrefix), lvmConfig, stateDir };
}

/** Validates the raw input once, listing every error; the result is frozen. */
export function loadNodeResourceManagerConfig(input: RawConfigInput): ConfigResult {
  const errors: string[] = [];
  const out = readOptions(input, errors);
  const { nodeName, nodeLabels, configFile } = checkNodeAndMode(out, errors);
  checkRanges(out, errors);
  const { commandPrefix, lvmConfig, stateDir } = checkCommandsAndDisk(out, errors);
  if (errors.length > 0) return { kind: 'invalid', errors };
  const config: NodeResourceManagerConfig = {
    nodeName,
    nodeLabels,
    configFile,
    once: out.once as boolean,
    dryRun: out.dryRun as boolean,
    kubeconfig: String(out.kubeconfig ?? '') || null,
    configMapNamespace: String(out.configMapNamespace),
    configMapName: String(out.configMapName),
    stateDir,
    resyncIntervalMs: out.resyncIntervalMs as number,
    heartbeatIntervalMs: out.heartbeatIntervalMs as number,
    publishRetryIntervalMs: out.publishRetryIntervalMs as number,
    initialSyncTimeoutMs: out.initialSyncTimeoutMs as number,
    failureRetryMs: out.failureRetryMs as number,
    watchTimeoutSeconds: out.watchTimeoutSeconds as number,
    commandPrefix,
    commandTimeoutMs: out.commandTimeoutMs as number,
    lvmConfig,
    metricsHost: String(out.metricsHost),
    metricsPort: out.metricsPort as number,
    logLevel: String(out.logLevel) as NodeResourceManagerConfig['logLevel'],
    maxQueuedEvents: out.maxQueuedEvents as number,
    testPauseAfterPvcreateMs: out.testPauseAfterPvcreateMs as number,
  };
  return { kind: 'ok', config: Object.freeze(config) };
}

/** --help text, from the schema. */
export function nrmUsage(): string {
  const lines = ['usage: node-resource-manager [options]', ''];
  for (const o of NRM_OPTIONS) {
    if (o.flag === null) continue;
    const def = o.default === '' ? '' : ` (default ${o.default})`;
    lines.push(`  --${o.flag}${o.kind === 'boolean' ? '' : ' VALUE'}  [${o.env.join(', ')}]${def}`);
    lines.push(`      ${o.doc}`);
  }
  return lines.join('\n');
}
