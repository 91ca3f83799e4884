// Creates pods/binding, and removes gang gates, on kept-alive connections. @kubernetes/client-node
// 1.x builds a new HTTPS agent for every request, so each call paid a TLS handshake (about 45 ms of
// the extender's bind and a sixth of its CPU at 5,000 nodes, bench/RESULTS.md; 60 gate removals sent
// together took 650-800 ms on loopback). A kept-alive agent under the generated client is not an
// option: its node-fetch 2.7 reports "Premature close" for chunked answers on reused sockets
// (node-fetch/node-fetch#1767; seen here on 3,586 of 3,650 gate removals the server had applied), so
// the calls on the scheduling path go through node:https directly.

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ExtenderBindingArgs } from '../../wire/extender.js';
import { ExtenderError } from '../errors.js';
import type { Binder } from '../ports.js';

export interface ApiResponse {
  status: number;
  body: string;
}

export interface PodClient {
  /** POST /api/v1/namespaces/{ns}/pods/{name}/binding, answered within timeoutMs. */
  bind(namespace: string, name: string, uid: string, node: string, timeoutMs: number): Promise<ApiResponse>;
  /** GET the pod, for a bind that conflicted. */
  readPod(namespace: string, name: string, timeoutMs: number): Promise<ApiResponse>;
  /** PATCH the pod with a strategic merge patch (the gang gate's removal). */
  patchPod(namespace: string, name: string, patch: unknown, timeoutMs: number): Promise<ApiResponse>;
  close(): void;
}

export function createPodClient(kc: KubeConfig): PodClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  const tls = server.protocol === 'https:';
  // Auth (client certificate, CA, bearer token) as the client would send it, computed once per call
  // (tokens from exec plugins can rotate), on one agent that keeps its sockets.
  let agent: HttpsAgent | HttpAgent | null = null;
  const agentFor = (opts: RequestOptions): HttpsAgent | HttpAgent => {
    agent ??= tls
      ? new HttpsAgent({ keepAlive: true, maxSockets: 64, ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, rejectUnauthorized: opts.rejectUnauthorized })
      : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    return agent;
  };

  const call = async (method: string, path: string, timeoutMs: number, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> => {
    const opts: RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const base = server.pathname.replace(/\/$/, '');
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)({
        protocol: server.protocol, hostname: server.hostname, port: server.port, method, path: `${base}${path}`,
        agent: agentFor(opts), timeout: timeoutMs,
        headers: {
          ...(opts.headers as Record<string, string>),
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  };

  return {
    bind(namespace, name, uid, node, timeoutMs) {
      const ns = encodeURIComponent(namespace);
      const n = encodeURIComponent(name);
      return call('POST', `/api/v1/namespaces/${ns}/pods/${n}/binding`, timeoutMs, {
        apiVersion: 'v1', kind: 'Binding',
        metadata: { name, namespace, ...(uid ? { uid } : {}) },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      });
    },
    readPod(namespace, name, timeoutMs) {
      return call('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, timeoutMs);
    },
    patchPod(namespace, name, patch, timeoutMs) {
      return call('PATCH', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, timeoutMs, patch, 'application/strategic-merge-patch+json');
    },
    close() {
      agent?.destroy();
    },
  };
}

/**
 * The Binder of a live cluster. The Binding and, after a 409, the read of the pod share one deadline
 * (--binding-timeout-ms), so the bind path's budget holds (src/config/bind-budget.ts).
 */
export function createBinder(bindings: PodClient, timeoutMs: number, now: () => number = Date.now): Binder {
  return {
    async bind(a: ExtenderBindingArgs) {
      const key = `${a.PodNamespace}/${a.PodName}`;
      const deadline = now() + timeoutMs;
      let res;
      try {
        res = await bindings.bind(a.PodNamespace, a.PodName, a.PodUID, a.Node, timeoutMs);
      } catch (err) {
        throw new ExtenderError('BIND_FAILED', `binding ${key} to ${a.Node} failed: ${(err as Error).message}`);
      }
      if (res.status >= 200 && res.status < 300) return;
      if (res.status === 409) {
        // A retried bind whose first attempt succeeded: success if the pod is on that node.
        const pod = await bindings.readPod(a.PodNamespace, a.PodName, Math.max(1, deadline - now())).catch(() => null);
        if (pod && pod.status === 200) {
          const nodeName = (JSON.parse(pod.body) as { spec?: { nodeName?: string } }).spec?.nodeName ?? '';
          if (nodeName === a.Node) return;
          throw new ExtenderError('BIND_CONFLICT', `pod ${key} is bound to ${nodeName || 'nothing'} or being deleted`);
        }
      }
      let message = res.body.slice(0, 300);
      try {
        message = (JSON.parse(res.body) as { message?: string }).message ?? message;
      } catch {
        // not a Status object; keep the raw text
      }
      throw new ExtenderError('BIND_FAILED', `binding ${key} to ${a.Node} failed: HTTP ${res.status}: ${message}`);
    },
  };
}
