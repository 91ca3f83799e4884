// Applies raw manifests to the test kube-apiserver the way `kubectl apply --server-side` does, without
// kubectl and without the typed client: the typed client's serializer silently drops fields it does not
// know, which would hide exactly the typos a strict validation is meant to catch. Objects go to the API
// server as written (PATCH application/apply-patch+yaml, fieldValidation=Strict), optionally as a dry run.
// Resource paths come from the server's discovery documents, so CRD-backed kinds work once established.

import { request } from 'node:https';
import { parseAllDocuments } from 'yaml';

export type KubeObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

export interface RawResponse {
  status: number;
  body: unknown;
}

export class ApplyError extends Error {
  constructor(
    readonly status: number,
    readonly object: string,
    message: string,
  ) {
    super(`${object}: HTTP ${status}: ${message}`);
  }
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

/** Every YAML document in `text` that is an object (empty documents dropped). */
export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const o = doc.toJS() as KubeObject | null;
    if (o && typeof o === 'object') out.push(o);
  }
  return out;
}

export function describeObject(o: KubeObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind ?? '?'} ${ns}${o.metadata?.name ?? '?'}`;
}

export class RawKube {
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<RawResponse> {
    const url = new URL(path, this.apiUrl);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          rejectUnauthorized: false, // loopback test server with a self-signed certificate
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private async resources(apiVersion: string, refresh: boolean): Promise<Map<string, ResourceInfo>> {
    const cached = this.discovery.get(apiVersion);
    if (cached && !refresh) return cached;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const res = await this.request('GET', path);
    const map = new Map<string, ResourceInfo>();
    if (res.status === 200) {
      for (const r of (res.body as { resources?: { name: string; kind: string; namespaced: boolean }[] }).resources ?? []) {
        if (!r.name.includes('/')) map.set(r.kind, { plural: r.name, namespaced: r.namespaced });
      }
    }
    this.discovery.set(apiVersion, map);
    return map;
  }

  /** The resource path of a kind, from discovery (refreshed once when the kind is not listed yet). */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const info = (await this.resources(apiVersion, false)).get(kind) ?? (await this.resources(apiVersion, true)).get(kind);
    if (!info) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return info;
  }

  async objectPath(o: KubeObject): Promise<string> {
    if (!o.apiVersion || !o.kind || !o.metadata?.name) throw new Error(`${describeObject(o)}: apiVersion, kind and metadata.name are required`);
    const info = await this.resourceFor(o.apiVersion, o.kind);
    const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(o.metadata.namespace ?? 'default')}` : '';
    return `${base}${ns}/${info.plural}/${encodeURIComponent(o.metadata.name)}`;
  }

  /**
   * Server-side apply with strict field validation (unknown or duplicate fields are errors).
   * dryRun: the API server runs admission and validation but stores nothing.
   */
  async apply(o: KubeObject, opts: { dryRun?: boolean; fieldManager?: string } = {}): Promise<KubeObject> {
    const query = new URLSearchParams({ fieldManager: opts.fieldManager ?? 'edge-gang-manifests-test', force: 'true', fieldValidation: 'Strict' });
    if (opts.dryRun) query.set('dryRun', 'All');
    const path = `${await this.objectPath(o)}?${query.toString()}`;
    const res = await this.request('PATCH', path, JSON.stringify(o), 'application/apply-patch+yaml');
    if (res.status !== 200 && res.status !== 201) {
      const msg = typeof res.body === 'object' && res.body !== null ? String((res.body as { message?: unknown }).message) : String(res.body);
      throw new ApplyError(res.status, describeObject(o), msg);
    }
    return res.body as KubeObject;
  }
}
