// The extender's configuration: one schema, defaults inline, every error reported at once, frozen.
// Values come from command-line flags (--port 8888) or environment variables (EXTENDER_PORT=8888);
// flags win. The table in README.md lists the same entries.

import type { CoreConfig, GangConfig, LvmSteering, ScoringStrategy } from '../core/config.js';
import { DEFAULT_LOCAL_PROVISIONER, DEFAULT_LOCAL_STORAGE_CLASS, DEFAULT_SCHEDULER_NAME, DEFAULT_VG_NAME, LABEL_LOCAL_STORAGE } from '../wire/keys.js';
import { bindBudgetErrors, type BindBudget } from './bind-budget.js';

export interface WebhookConfig {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  /** self-managed: a CA and serving pair in a Secret, caBundle patched; files: a mounted pair (cert-manager). */
  tls: 'self-managed' | 'files';
  certFile: string;
  keyFile: string;
  namespace: string;
  secretName: string;
  configurationName: string;
  serviceName: string;
  extraDnsNames: string[];
  extraIps: string[];
}

export interface ExtenderConfig {
  host: string;
  port: number;
  /** kubeconfig path; '' = in-cluster config, else the default loading rules. */
  kubeconfig: string;
  /** Serve from a snapshot file (a Kubernetes List) instead of a live cluster. */
  snapshot: string;
  logLevel: string;
  /** Largest request body accepted; 5,000 full Node objects are about 11 MiB, 55 MiB with image lists. */
  bodyLimitBytes: number;
  /** Above Go's 90 s IdleConnTimeout so the scheduler never writes onto a closing socket. */
  keepAliveTimeoutMs: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** When set, clients must present a certificate signed by this CA (the scheduler's tlsConfig certFile/keyFile). */
  tlsClientCaFile: string;
  /** Every wait on the bind path and the scheduler's timeout they must fit in (bind-budget.ts). */
  bind: BindBudget;
  /** The mutating webhook that marks the pods the extender decides (issue 12); null when off. */
  webhook: WebhookConfig | null;
  /** The scheduler-plugins dialect on a live cluster (kube/podgroups.ts). */
  podGroups: { discoveryMs: number; statusMs: number };
  core: CoreConfig;
}

interface Field {
  flag: string;
  env: string;
  def: string;
  help: string;
}

export const EXTENDER_FIELDS = {
  host: { flag: 'host', env: 'EXTENDER_HOST', def: '127.0.0.1', help: 'listen address (loopback suits the sidecar setup)' },
  port: { flag: 'port', env: 'EXTENDER_PORT', def: '8888', help: 'listen port' },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG', def: '', help: 'kubeconfig path; empty = in-cluster' },
  snapshot: { flag: 'snapshot', env: 'EXTENDER_SNAPSHOT', def: '', help: 'serve from a snapshot file instead of a cluster' },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', def: 'info', help: 'pino level' },
  bodyLimitBytes: { flag: 'body-limit-bytes', env: 'EXTENDER_BODY_LIMIT_BYTES', def: String(64 * 1024 * 1024), help: 'largest request body' },
  keepAliveTimeoutMs: { flag: 'keep-alive-timeout-ms', env: 'EXTENDER_KEEP_ALIVE_TIMEOUT_MS', def: '120000', help: 'idle keep-alive; keep above 90000' },
  tlsCertFile: { flag: 'tls-cert-file', env: 'EXTENDER_TLS_CERT_FILE', def: '', help: 'serve HTTPS with this certificate' },
  tlsKeyFile: { flag: 'tls-key-file', env: 'EXTENDER_TLS_KEY_FILE', def: '', help: 'key for --tls-cert-file' },
  tlsClientCaFile: { flag: 'tls-client-ca-file', env: 'EXTENDER_TLS_CLIENT_CA_FILE', def: '', help: 'require client certificates signed by this CA' },
  storageClasses: { flag: 'local-storage-classes', env: 'EXTENDER_LOCAL_STORAGE_CLASSES', def: DEFAULT_LOCAL_STORAGE_CLASS, help: 'comma-separated StorageClass names that are local LVM' },
  provisioners: { flag: 'local-provisioners', env: 'EXTENDER_LOCAL_PROVISIONERS', def: DEFAULT_LOCAL_PROVISIONER, help: 'comma-separated provisioners whose classes are local LVM' },
  defaultVg: { flag: 'default-vg', env: 'EXTENDER_DEFAULT_VG', def: DEFAULT_VG_NAME, help: 'VG when a class has no vgName' },
  nodeLabel: { flag: 'local-storage-node-label', env: 'EXTENDER_LOCAL_STORAGE_NODE_LABEL', def: `${LABEL_LOCAL_STORAGE}=true`, help: 'key=value marking local-storage nodes; "" = every node' },
  scoring: { flag: 'scoring', env: 'EXTENDER_SCORING', def: 'binpack', help: 'binpack or spread (by VG free space)' },
  lvmSteering: { flag: 'lvm-steering', env: 'EXTENDER_LVM_STEERING', def: 'best-node', help: 'best-node or all-fitting' },
  staleAfterMs: { flag: 'capacity-stale-after-ms', env: 'EXTENDER_CAPACITY_STALE_AFTER_MS', def: '300000', help: 'older capacity reports count as unknown' },
  reservationTtlMs: { flag: 'reservation-ttl-ms', env: 'EXTENDER_RESERVATION_TTL_MS', def: '30000', help: 'life of a volume reservation made at filter' },
  schedulerNames: { flag: 'scheduler-names', env: 'EXTENDER_SCHEDULER_NAMES', def: DEFAULT_SCHEDULER_NAME, help: 'comma-separated schedulerName values served' },
  barrierTimeoutMs: { flag: 'barrier-timeout-ms', env: 'EXTENDER_BARRIER_TIMEOUT_MS', def: '20000', help: 'a gang bind barrier with no new member for this long fails' },
  barrierMaxWaitMs: { flag: 'barrier-max-wait-ms', env: 'EXTENDER_BARRIER_MAX_WAIT_MS', def: '300000', help: 'longest a barrier waits while every missing member is still pending and not refused (then it fails anyway)' },
  maxBarrierTimeoutMs: { flag: 'max-barrier-timeout-ms', env: 'EXTENDER_MAX_BARRIER_TIMEOUT_MS', def: '300000', help: 'cap for the per-gang annotation' },
  bindHoldLimitMs: { flag: 'bind-hold-limit-ms', env: 'EXTENDER_BIND_HOLD_LIMIT_MS', def: '290000', help: 'longest a bind request is held at the gang barrier before it is answered' },
  bindLagGraceMs: { flag: 'bind-lag-grace-ms', env: 'EXTENDER_BIND_LAG_GRACE_MS', def: '1000', help: 'a bind our watch may be behind on is re-checked this long before it is refused' },
  bindingTimeoutMs: { flag: 'binding-timeout-ms', env: 'EXTENDER_BINDING_TIMEOUT_MS', def: '5000', help: 'time for the Binding call (and the pod read after a 409)' },
  gangSweepMs: { flag: 'gang-sweep-ms', env: 'EXTENDER_GANG_SWEEP_MS', def: '250', help: 'how often barriers, plans and reservations are checked for expiry' },
  webhookPort: { flag: 'webhook-port', env: 'EXTENDER_WEBHOOK_PORT', def: '', help: 'serve the scheduling-mark webhook over TLS on this port; empty = off' },
  webhookHost: { flag: 'webhook-host', env: 'EXTENDER_WEBHOOK_HOST', def: '0.0.0.0', help: 'listen address of the webhook (the API server must reach it)' },
  webhookTls: { flag: 'webhook-tls', env: 'EXTENDER_WEBHOOK_TLS', def: 'self-managed', help: 'self-managed (own CA in a Secret, caBundle patched) or files (cert-manager)' },
  webhookCertFile: { flag: 'webhook-cert-file', env: 'EXTENDER_WEBHOOK_CERT_FILE', def: '', help: 'with --webhook-tls files: the serving certificate' },
  webhookKeyFile: { flag: 'webhook-key-file', env: 'EXTENDER_WEBHOOK_KEY_FILE', def: '', help: 'with --webhook-tls files: its key' },
  webhookNamespace: { flag: 'webhook-namespace', env: 'EXTENDER_WEBHOOK_NAMESPACE', def: 'kube-system', help: "namespace of the webhook's Service and Secret" },
  webhookSecret: { flag: 'webhook-secret', env: 'EXTENDER_WEBHOOK_SECRET', def: 'edge-gang-webhook-tls', help: 'Secret holding the CA and serving pair (self-managed)' },
  webhookConfiguration: { flag: 'webhook-configuration', env: 'EXTENDER_WEBHOOK_CONFIGURATION', def: 'edge-gang-scheduling-mark', help: 'MutatingWebhookConfiguration whose caBundle is kept (self-managed)' },
  webhookService: { flag: 'webhook-service', env: 'EXTENDER_WEBHOOK_SERVICE', def: 'edge-gang-webhook', help: 'Service name the certificate is issued for' },
  webhookExtraSans: { flag: 'webhook-extra-sans', env: 'EXTENDER_WEBHOOK_EXTRA_SANS', def: '', help: 'comma-separated extra DNS names and IPs for the certificate' },
  schedulerHttpTimeoutMs: { flag: 'scheduler-http-timeout-ms', env: 'EXTENDER_SCHEDULER_HTTP_TIMEOUT_MS', def: '300000', help: "the scheduler's extenders[].httpTimeout; the bind path's worst case must fit in it" },
  maxMinAvailable: { flag: 'max-min-available', env: 'EXTENDER_MAX_MIN_AVAILABLE', def: '10000', help: 'larger min-available is refused' },
  gangHeadAfterMs: { flag: 'gang-head-after-ms', env: 'EXTENDER_GANG_HEAD_AFTER_MS', def: '30000', help: 'a gang waiting this long blocks gangs ranked after it (starvation guard)' },
  gangQuorumGate: { flag: 'gang-quorum-gate', env: 'EXTENDER_GANG_QUORUM_GATE', def: 'false', help: 'the webhook gates gang members at creation; their gates are removed together once min-available exist and the gang is admitted (true|false)' },
  gangAdmissionWindow: { flag: 'gang-admission-window', env: 'EXTENDER_GANG_ADMISSION_WINDOW', def: '32', help: 'with --gang-quorum-gate: a gated gang is admitted (its gates removed) only when it fits the cluster as a whole, and only while fewer than this many admitted gangs are still being placed; 0 = remove the gates at quorum' },
  planTtlMs: { flag: 'plan-ttl-ms', env: 'EXTENDER_PLAN_TTL_MS', def: '60000', help: 'a gang plan with no progress is released after this' },
  podGroupDiscoveryMs: { flag: 'podgroup-discovery-ms', env: 'EXTENDER_PODGROUP_DISCOVERY_MS', def: '60000', help: 'while the API serves no PodGroups (scheduling.x-k8s.io/v1alpha1), discovery is asked again this often' },
  podGroupStatusMs: { flag: 'podgroup-status-ms', env: 'EXTENDER_PODGROUP_STATUS_MS', def: '1000', help: 'a PodGroup status is written at most this often; 0 = no write-back' },
} satisfies Record<string, Field>;

export type ConfigResult<T> = { kind: 'ok'; config: T } | { kind: 'invalid'; errors: string[] };

/** Parses `--flag value` / `--flag=value` pairs; unknown flags are errors. */
export function parseFlags(argv: readonly string[], fields: Record<string, Field>): { values: Record<string, string>; errors: string[] } {
  const byFlag = new Map(Object.entries(fields).map(([k, f]) => [f.flag, k]));
  const values: Record<string, string> = {};
  const errors: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) {
      errors.push(`unexpected argument "${a}"`);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const key = byFlag.get(flag);
    if (!key) {
      errors.push(`unknown flag --${flag}`);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) errors.push(`flag --${flag} needs a value`);
    else values[key] = value;
  }
  return { values, errors };
}

function list(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

type Getter = (k: keyof typeof EXTENDER_FIELDS) => string;
type IntGetter = (k: keyof typeof EXTENDER_FIELDS, min: number, max: number) => number;

function readBindBudget(int: IntGetter): BindBudget {
  return {
    lagGraceMs: int('bindLagGraceMs', 0, 60_000),
    holdLimitMs: int('bindHoldLimitMs', 100, 600_000),
    sweepMs: int('gangSweepMs', 10, 60_000),
    bindingTimeoutMs: int('bindingTimeoutMs', 100, 600_000),
    schedulerHttpTimeoutMs: int('schedulerHttpTimeoutMs', 1000, 3_600_000),
  };
}

function flagBool(v: string, flag: string, errors: string[]): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  errors.push(`${flag} must be true or false, got "${v}"`);
  return false;
}

function readGang(get: Getter, int: IntGetter, bind: BindBudget, errors: string[]): GangConfig {
  const barrierTimeoutMs = int('barrierTimeoutMs', 100, 600_000);
  const maxBarrierTimeoutMs = int('maxBarrierTimeoutMs', 100, 3_600_000);
  if (maxBarrierTimeoutMs < barrierTimeoutMs) errors.push('--max-barrier-timeout-ms must be at least --barrier-timeout-ms');
  const barrierMaxWaitMs = int('barrierMaxWaitMs', 100, 24 * 3_600_000);
  if (barrierMaxWaitMs < barrierTimeoutMs) errors.push('--barrier-max-wait-ms must be at least --barrier-timeout-ms');
  return {
    barrierTimeoutMs,
    barrierMaxWaitMs,
    bindHoldLimitMs: bind.holdLimitMs,
    maxBarrierTimeoutMs,
    maxMinAvailable: int('maxMinAvailable', 1, 1_000_000),
    planTtlMs: int('planTtlMs', 1000, 3_600_000),
    headAfterMs: int('gangHeadAfterMs', 0, 24 * 3_600_000),
    quorumGate: flagBool(get('gangQuorumGate'), '--gang-quorum-gate', errors),
    admissionWindow: int('gangAdmissionWindow', 0, 100_000),
  };
}

function readCore(get: Getter, int: IntGetter, gang: GangConfig, errors: string[]): CoreConfig {
  const scoring = get('scoring');
  if (scoring !== 'binpack' && scoring !== 'spread') errors.push(`--scoring must be binpack or spread, got "${scoring}"`);
  const steering = get('lvmSteering');
  if (steering !== 'best-node' && steering !== 'all-fitting') errors.push(`--lvm-steering must be best-node or all-fitting, got "${steering}"`);
  const labelRaw = get('nodeLabel');
  let nodeLabel: { key: string; value: string } | null = null;
  if (labelRaw !== '') {
    const eq = labelRaw.indexOf('=');
    if (eq <= 0) errors.push(`--local-storage-node-label must be key=value or empty, got "${labelRaw}"`);
    else nodeLabel = { key: labelRaw.slice(0, eq), value: labelRaw.slice(eq + 1) };
  }
  const schedulerNames = list(get('schedulerNames'));
  if (schedulerNames.length === 0) errors.push('--scheduler-names must name at least one scheduler');
  return {
    localStorageClassNames: list(get('storageClasses')),
    localProvisioners: list(get('provisioners')),
    defaultVgName: get('defaultVg'),
    localStorageNodeLabel: nodeLabel,
    scoring: scoring as ScoringStrategy,
    lvmSteering: steering as LvmSteering,
    capacityStaleAfterMs: int('staleAfterMs', 1000, 7 * 24 * 3_600_000),
    reservationTtlMs: int('reservationTtlMs', 100, 3_600_000),
    schedulerNames,
    gang,
  };
}

const IP_RE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/;

function readWebhook(get: Getter, errors: string[]): WebhookConfig | null {
  const rawPort = get('webhookPort');
  if (rawPort === '') return null;
  const port = Number(rawPort);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) errors.push(`--webhook-port must be an integer from 0 to 65535 or empty, got "${rawPort}"`);
  const tls = get('webhookTls');
  if (tls !== 'self-managed' && tls !== 'files') errors.push(`--webhook-tls must be self-managed or files, got "${tls}"`);
  const certFile = get('webhookCertFile');
  const keyFile = get('webhookKeyFile');
  if (tls === 'files' && (certFile === '' || keyFile === '')) errors.push('--webhook-tls files needs --webhook-cert-file and --webhook-key-file');
  const sans = list(get('webhookExtraSans'));
  return {
    host: get('webhookHost'), port, tls: tls as WebhookConfig['tls'], certFile, keyFile,
    namespace: get('webhookNamespace'), secretName: get('webhookSecret'), configurationName: get('webhookConfiguration'), serviceName: get('webhookService'),
    extraDnsNames: sans.filter((s) => !IP_RE.test(s)), extraIps: sans.filter((s) => IP_RE.test(s)),
  };
}

/** Builds the frozen config from flags and environment; lists every problem at once. */
export function loadExtenderConfig(argv: readonly string[], env: Record<string, string | undefined>): ConfigResult<ExtenderConfig> {
  const F = EXTENDER_FIELDS;
  const { values, errors } = parseFlags(argv, F);
  const get: Getter = (k) => values[k] ?? env[F[k].env] ?? F[k].def;
  const int: IntGetter = (k, min, max) => {
    const raw = get(k);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      errors.push(`--${F[k].flag} (${F[k].env}) must be an integer from ${min} to ${max}, got "${raw}"`);
      return Number(F[k].def);
    }
    return n;
  };
  const port = int('port', 0, 65535);
  const bodyLimitBytes = int('bodyLimitBytes', 1024, 1024 * 1024 * 1024);
  const keepAliveTimeoutMs = int('keepAliveTimeoutMs', 1000, 3_600_000);
  if (keepAliveTimeoutMs <= 90_000) errors.push(`--keep-alive-timeout-ms must exceed 90000 (the scheduler's idle connection timeout), got ${keepAliveTimeoutMs}`);
  const tlsCertFile = get('tlsCertFile');
  const tlsKeyFile = get('tlsKeyFile');
  if ((tlsCertFile === '') !== (tlsKeyFile === '')) errors.push('--tls-cert-file and --tls-key-file go together');
  const tlsClientCaFile = get('tlsClientCaFile');
  if (tlsClientCaFile !== '' && tlsCertFile === '') errors.push('--tls-client-ca-file needs --tls-cert-file');
  const bind = readBindBudget(int);
  errors.push(...bindBudgetErrors(bind));
  const core = readCore(get, int, readGang(get, int, bind, errors), errors);
  const webhook = readWebhook(get, errors);
  const podGroups = { discoveryMs: int('podGroupDiscoveryMs', 1000, 24 * 3_600_000), statusMs: int('podGroupStatusMs', 0, 3_600_000) };
  if (errors.length > 0) return { kind: 'invalid', errors };
  return {
    kind: 'ok',
    config: deepFreeze({
      host: get('host'), port, kubeconfig: get('kubeconfig'), snapshot: get('snapshot'), logLevel: get('logLevel'),
      bodyLimitBytes, keepAliveTimeoutMs, tlsCertFile, tlsKeyFile, tlsClientCaFile, bind, webhook, podGroups, core,
    }),
  };
}

/** Defaults for tests and embedding, with overrides of the core part. */
export function defaultCoreConfig(overrides: Partial<CoreConfig> = {}): CoreConfig {
  const r = loadExtenderConfig([], {});
  if (r.kind !== 'ok') throw new Error(`default extender config is invalid: ${r.errors.join('; ')}`);
  return deepFreeze({ ...r.config.core, ...overrides });
}

export function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
