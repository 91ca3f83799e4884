// node-resource-manager's Prometheus metrics (issue 5), on a registry of its own (no global state), and the
// HTTP handler that serves them. The handler is built here and never listens: cmd/ does (STYLE.md).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricsPort } from '../agent.js';
import type { PassResult } from '../pass.js';

export class NrmMetrics implements MetricsPort {
  readonly registry = new Registry();
  private readonly vgSize: Gauge<'node' | 'vg'>;
  private readonly vgFree: Gauge<'node' | 'vg'>;
  private readonly vgPvs: Gauge<'node' | 'vg'>;
  private readonly reconciles: Counter<'node' | 'result'>;
  private readonly refused: Gauge<'node' | 'vg' | 'reason'>;
  private readonly lastPass: Gauge<'node'>;
  private readonly apiReachable: Gauge<'node'>;
  private readonly configValid: Gauge<'node'>;
  private readonly commands: Counter<'node' | 'verb' | 'outcome'>;

  constructor(private readonly node: string) {
    const registers = [this.registry];
    this.vgSize = new Gauge({ name: 'nrm_volumegroup_size_bytes', help: 'VolumeGroup size (vg_size) in bytes.', labelNames: ['node', 'vg'], registers });
    this.vgFree = new Gauge({ name: 'nrm_volumegroup_free_bytes', help: 'VolumeGroup free space (vg_free) in bytes.', labelNames: ['node', 'vg'], registers });
    this.vgPvs = new Gauge({ name: 'nrm_volumegroup_physical_volumes', help: 'Physical volumes in the VolumeGroup.', labelNames: ['node', 'vg'], registers });
    this.reconciles = new Counter({ name: 'nrm_reconcile_total', help: 'Reconcile passes by result: converged, refused (some device refused), failed (a command failed), error (LVM unreadable).', labelNames: ['node', 'result'], registers });
    this.refused = new Gauge({ name: 'nrm_refused_devices', help: 'Configured devices refused in the last pass, by VG and reason.', labelNames: ['node', 'vg', 'reason'], registers });
    this.lastPass = new Gauge({ name: 'nrm_last_reconcile_timestamp_seconds', help: 'Unix time of the last completed reconcile pass.', labelNames: ['node'], registers });
    this.apiReachable = new Gauge({ name: 'nrm_api_server_reachable', help: '1 when the last call to the API server succeeded.', labelNames: ['node'], registers });
    this.configValid = new Gauge({ name: 'nrm_topology_config_valid', help: '1 when the last topology configuration offered was valid.', labelNames: ['node'], registers });
    this.commands = new Counter({ name: 'nrm_lvm_commands_total', help: 'LVM commands that change state, by verb and outcome.', labelNames: ['node', 'verb', 'outcome'], registers });
  }

  onPass(pass: PassResult | null, result: 'converged' | 'refused' | 'failed' | 'error'): void {
    const node = this.node;
    this.reconciles.inc({ node, result });
    if (pass === null) return;
    this.lastPass.set({ node }, Date.now() / 1000);
    this.vgSize.reset();
    this.vgFree.reset();
    this.vgPvs.reset();
    for (const vg of pass.report.vgs) {
      this.vgSize.set({ node, vg: vg.name }, vg.sizeBytes);
      this.vgFree.set({ node, vg: vg.name }, vg.freeBytes);
      this.vgPvs.set({ node, vg: vg.name }, vg.pvs.length);
    }
    this.refused.reset();
    const counts = new Map<string, { vg: string; reason: string; n: number }>();
    for (const r of pass.refusals) {
      const key = `${r.vg}\u0000${r.reason}`;
      const c = counts.get(key) ?? { vg: r.vg, reason: r.reason, n: 0 };
      c.n += 1;
      counts.set(key, c);
    }
    for (const c of counts.values()) this.refused.set({ node, vg: c.vg, reason: c.reason }, c.n);
    for (const e of pass.outcome.executed) this.commands.inc({ node, verb: e.action.verb, outcome: e.outcome.kind });
  }

  onApiReachable(reachable: boolean): void {
    this.apiReachable.set({ node: this.node }, reachable ? 1 : 0);
  }

  onConfigValid(valid: boolean): void {
    this.configValid.set({ node: this.node }, valid ? 1 : 0);
  }
}

/** GET /metrics (Prometheus text), GET /healthz (200 once `healthy()` says so). */
export function metricsHandler(registry: Registry, healthy: () => boolean): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (req.method === 'GET' && url === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };
}
