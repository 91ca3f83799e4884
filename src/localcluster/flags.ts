// Command lines of the control plane's components. Recipe and flags: /work/shared/reference/
// perf-and-harness.md section 3 (the same approach as upstream's test/integration/scheduler_perf).

export interface EtcdFlags {
  dataDir: string;
  clientUrl: string;
  peerPort: number;
}

export function etcdArgs({ dataDir, clientUrl, peerPort }: EtcdFlags): string[] {
  return [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true',
  ];
}

export interface ApiServerFlags {
  etcdUrl: string;
  port: number;
  pkiDir: string;
  saKeyPath: string;
  authorization: 'AlwaysAllow' | 'RBAC';
  tokenFile: string;
  /** Appended last (a repeated flag wins over the default). */
  extra: readonly string[];
}

export function apiServerArgs(f: ApiServerFlags): string[] {
  return [
    `--etcd-servers=${f.etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${f.port}`,
    `--cert-dir=${f.pkiDir}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${f.saKeyPath}`,
    `--service-account-signing-key-file=${f.saKeyPath}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    `--authorization-mode=${f.authorization}`,
    `--token-auth-file=${f.tokenFile}`,
    // No kube-controller-manager: TaintNodesByCondition would taint every new Node not-ready forever,
    // ServiceAccount would wait for a token controller, and StorageObjectInUseProtection adds
    // pvc/pv-protection finalizers that only KCM removes (deleted PVCs would hang Terminating).
    '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition,StorageObjectInUseProtection',
    '--endpoint-reconciler-type=none',
    // Load tests: no in-flight limits, no priority-and-fairness queueing.
    '--max-requests-inflight=0',
    '--max-mutating-requests-inflight=0',
    '--enable-priority-and-fairness=false',
    ...f.extra,
  ];
}

/**
 * `--feature-gates=A=true,B=false` for a component, or nothing when `gates` is empty. Sorted, so the
 * command line does not depend on the caller's key order.
 */
export function featureGateArgs(gates: Readonly<Record<string, boolean>> | undefined): string[] {
  const entries = Object.entries(gates ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? [] : [`--feature-gates=${entries.map(([k, v]) => `${k}=${v}`).join(',')}`];
}

export interface SchedulerFlags {
  configPath: string;
  port: number;
  certDir: string;
  verbosity: number;
  extra: readonly string[];
}

export function schedulerArgs(f: SchedulerFlags): string[] {
  return [
    `--config=${f.configPath}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${f.port}`,
    `--cert-dir=${f.certDir}`,
    // No --authentication/authorization-kubeconfig: delegated auth is off, so these paths must be open.
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--authentication-skip-lookup=true',
    `-v=${f.verbosity}`,
    ...f.extra,
  ];
}
