// Files of this repository the local cluster uses, located from this file: it sits two levels below
// the root both as src/localcluster/paths.ts (tsx) and as dist/localcluster/paths.js (npm run build).

import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Builds (or finds in ~/.cache) etcd, kube-apiserver and kube-scheduler; prints the binaries dir last. */
export const BUILD_SCRIPT = join(REPO_ROOT, 'test/controlplane/build.sh');

/** The KubeSchedulerConfiguration users deploy. */
export const SHIPPED_SCHEDULER_CONFIG = join(REPO_ROOT, 'manifests/scheduler/kube-scheduler-config.yaml');

/** The node agent's entry point, run with tsx. */
export const NODE_RESOURCE_MANAGER_ENTRY = join(REPO_ROOT, 'src/cmd/node-resource-manager.ts');

/** `path` relative to the repository root, for messages. */
export const repoRelative = (path: string): string => path.slice(REPO_ROOT.length + 1);
