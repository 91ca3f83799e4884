// The control plane's binaries: etcd, kube-apiserver and kube-scheduler built from upstream by
// test/controlplane/build.sh and cached outside the repository.

import { accessSync, constants as fsConstants } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BUILD_SCRIPT, REPO_ROOT } from './paths.js';
import { LOG_TAIL_LINES, tail } from './processes.js';

export interface ControlPlaneBinaries {
  binDir: string;
  etcd: string;
  kubeApiServer: string;
  kubeScheduler: string;
}

const HOW_TO =
  'The e2e tests need etcd, kube-apiserver and kube-scheduler built from Go modules. Install Go >= 1.24 ' +
  '(https://go.dev/dl/, with access to the Go module proxy) and run `npm run controlplane:build` ' +
  '(bash test/controlplane/build.sh; a cold build takes ~5-30 min on 2 cores and caches the binaries under ' +
  '~/.cache/gang-lvm-scheduler, or $GANG_LVM_CACHE).';

/** Runs test/controlplane/build.sh (instant when the cache is warm) and returns the binaries. */
export async function locateBinaries(timeoutMs = 60 * 60_000): Promise<ControlPlaneBinaries> {
  const { stdout, stderr, error } = await new Promise<{ stdout: string; stderr: string; error: Error | null }>((res) => {
    execFile('bash', [BUILD_SCRIPT], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, cwd: REPO_ROOT }, (err, out, errOut) =>
      res({ stdout: String(out), stderr: String(errOut), error: err }),
    );
  });
  if (error) {
    throw new Error(`control plane binaries are not available: ${BUILD_SCRIPT} failed (${error.message.split('\n')[0]}).\n${HOW_TO}\n--- build.sh stderr (last ${LOG_TAIL_LINES} lines) ---\n${tail(stderr)}`);
  }
  const binDir = stdout.trim().split('\n').pop() ?? '';
  const bins: ControlPlaneBinaries = {
    binDir,
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
