// The control plane's binaries: etcd, kube-apiserver and kube-scheduler built from upstream by
// test/controlplane/build.sh and cached outside the repository, one directory per Kubernetes version.

import { accessSync, constants as fsConstants } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BUILD_SCRIPT, REPO_ROOT } from './paths.js';
import { LOG_TAIL_LINES, tail } from './processes.js';

/** The Kubernetes version the local cluster runs unless told otherwise (build.sh's default too). */
export const DEFAULT_K8S_VERSION = '1.35.4';

export interface ControlPlaneBinaries {
  binDir: string;
  /** The Kubernetes version these binaries were built from ("1.35.4"). */
  k8sVersion: string;
  etcd: string;
  kubeApiServer: string;
  kubeScheduler: string;
}

export interface LocateOptions {
  /** Timeout for build.sh. Default 60 min (a cold build; a warm call returns at once). */
  timeoutMs?: number;
  /**
   * "1.35.4": passed to build.sh as K8S_VERSION. Default: env K8S_VERSION (what build.sh read before
   * this option existed), else DEFAULT_K8S_VERSION.
   */
  k8sVersion?: string;
}

const HOW_TO =
  'The e2e tests need etcd, kube-apiserver and kube-scheduler built from Go modules. Install Go >= 1.24 ' +
  '(https://go.dev/dl/, with access to the Go module proxy) and run `npm run controlplane:build` ' +
  '(bash test/controlplane/build.sh, K8S_VERSION=<x.y.z> for another version; a cold build takes ~5-30 min ' +
  'on 2 cores and caches the binaries under ~/.cache/gang-lvm-scheduler, or $GANG_LVM_CACHE).';

export function resolveK8sVersion(v: string | undefined): string {
  const version = (v ?? process.env.K8S_VERSION ?? DEFAULT_K8S_VERSION).replace(/^v/, '');
  if (!/^1\.\d+\.\d+$/.test(version)) throw new Error(`k8sVersion ${JSON.stringify(v)}: expected 1.<minor>.<patch>`);
  return version;
}

function runBuild(k8sVersion: string, timeoutMs: number): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((res) => {
    execFile(
      'bash',
      [BUILD_SCRIPT],
      { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, cwd: REPO_ROOT, env: { ...process.env, K8S_VERSION: k8sVersion } },
      (err, out, errOut) => res({ stdout: String(out), stderr: String(errOut), error: err }),
    );
  });
}

/** Runs test/controlplane/build.sh for the version (instant when the cache is warm) and returns the binaries. */
export async function locateBinaries(opts: LocateOptions = {}): Promise<ControlPlaneBinaries> {
  const k8sVersion = resolveK8sVersion(opts.k8sVersion);
  const { stdout, stderr, error } = await runBuild(k8sVersion, opts.timeoutMs ?? 60 * 60_000);
  if (error) {
    throw new Error(`control plane binaries v${k8sVersion} are not available: ${BUILD_SCRIPT} failed (${error.message.split('\n')[0]}).\n${HOW_TO}\n--- build.sh stderr (last ${LOG_TAIL_LINES} lines) ---\n${tail(stderr)}`);
  }
  const binDir = stdout.trim().split('\n').pop() ?? '';
  const bins: ControlPlaneBinaries = {
    binDir,
    k8sVersion,
    etcd: join(binDir, 'etcd'),
    kubeApiServer: join(binDir, 'kube-apiserver'),
    kubeScheduler: join(binDir, 'kube-scheduler'),
  };
  for (const p of [bins.etcd, bins.kubeApiServer, bins.kubeScheduler]) {
    try {
      accessSync(p, fsConstants.X_OK);
    } catch {
      throw new Error(`control plane binaries are not available: build.sh printed "${binDir}" but ${p} is not executable.\n${HOW_TO}`);
    }
  }
  return bins;
}
