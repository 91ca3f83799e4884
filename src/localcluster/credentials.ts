// Who may talk to the local control plane: bearer-token users (kube-apiserver --token-auth-file),
// kubeconfigs for them, and the service-account signing key.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';

/** A token-authenticated user (kube-apiserver --token-auth-file). */
export interface TokenUser {
  name: string;
  groups?: string[];
  /** Generated when omitted. */
  token?: string;
}

export interface Identities {
  /** Bearer token of each token user, by name (including 'admin'). */
  tokens: Map<string, string>;
  tokenFile: string;
  saKeyPath: string;
}

const newToken = () => randomBytes(24).toString('hex');

function csvField(s: string): string {
  return /[",\s]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes the token file (admin in system:masters, with RBAC also system:kube-scheduler, then
 * `extraUsers`) and a fresh service-account key into `dir` / `pkiDir`.
 */
export function writeIdentities(dir: string, pkiDir: string, authorization: 'AlwaysAllow' | 'RBAC', extraUsers: readonly TokenUser[]): Identities {
  const users: Required<TokenUser>[] = [{ name: 'admin', groups: ['system:masters'], token: newToken() }];
  if (authorization === 'RBAC') {
    // The scheduler runs as itself so the bootstrap ClusterRoles system:kube-scheduler and
    // system:volume-scheduler apply, as in a kubeadm cluster.
    users.push({ name: 'system:kube-scheduler', groups: [], token: newToken() });
  }
  for (const u of extraUsers) {
    if (users.some((x) => x.name === u.name)) throw new Error(`duplicate token user ${u.name}`);
    users.push({ name: u.name, groups: u.groups ?? [], token: u.token ?? newToken() });
  }
  const tokens = new Map(users.map((u) => [u.name, u.token]));
  const tokenFile = join(dir, 'tokens.csv');
  // token,user,uid,"group1,group2"
  writeFileSync(tokenFile, users.map((u, i) => [u.token, csvField(u.name), `uid-${i}`, csvField(u.groups.join(','))].join(',')).join('\n') + '\n', { mode: 0o600 });

  const saKeyPath = join(pkiDir, 'sa.key');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  writeFileSync(saKeyPath, privateKey, { mode: 0o600 });
  return { tokens, tokenFile, saKeyPath };
}

/** A kubeconfig for one token user (TLS verification off: loopback, self-signed). */
export function kubeconfigYaml(server: string, user: string, token: string): string {
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: `${user}@local`, context: { cluster: 'local', user } }],
    'current-context': `${user}@local`,
  });
}

/** Writes a kubeconfig file (mode 0600) for `user` and loads it. */
export function writeKubeconfig(path: string, server: string, user: string, token: string): KubeConfig {
  writeFileSync(path, kubeconfigYaml(server, user, token), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
