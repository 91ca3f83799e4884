// Certificates for TLS tests, made by the openssl command line in a directory the test owns.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`openssl failed (install the openssl package): ${(err as Error).message}`);
  }
}

/** A self-signed CA valid for a day: <dir>/<name>.crt and .key. */
export function makeCa(dir: string, name: string, cn = name): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)]);
}

/** A key and request for `name`, and (unless ca is null) its certificate signed by <dir>/<ca>.crt; serving=true adds SANs for 127.0.0.1 and localhost. */
export function issueCert(dir: string, name: string, opts: { ca: string | null; cn?: string; serving?: boolean }): void {
  const f = (n: string) => join(dir, n);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${opts.cn ?? name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)]);
  if (opts.ca === null) return;
  const ext: string[] = [];
  if (opts.serving) {
    writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ext.push('-extfile', f('san.ext'));
  }
  openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${opts.ca}.crt`), '-CAkey', f(`${opts.ca}.key`), '-CAcreateserial', '-days', '1', ...ext, '-out', f(`${name}.crt`)]);
}
