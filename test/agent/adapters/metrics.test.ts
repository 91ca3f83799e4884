import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runPass } from '../../../src/agent/pass.js';
import { parseTopologyConfig } from '../../../src/agent/topology.js';
import { NrmMetrics, metricsHandler } from '../../../src/agent/adapters/metrics.js';
import { FakeLvm } from '../fake-lvm.js';
import { SEED_BARE } from '../seed.js';

describe('NrmMetrics', () => {
  it('exposes VG size and free, reconcile results and refused devices with node and vg labels on /metrics', async () => {
    const lvm = new FakeLvm().addDevice('/dev/sdb1').addDevice('/dev/sdb2', 'ext4');
    const parsed = parseTopologyConfig(SEED_BARE);
    if (parsed.kind !== 'ok') throw new Error('config');
    const pass = await runPass(lvm, 'edge-1', () => new Date(), parsed.config, { 'kubernetes.io/storagetype': 'lvm' });
    const m = new NrmMetrics('edge-1');
    m.onPass(pass, pass.result);
    m.onApiReachable(false);

    const server = createServer(metricsHandler(m.registry, () => true));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('nrm_volumegroup_size_bytes{node="edge-1",vg="volumegroup1"} 62914560');
      expect(text).toContain('nrm_volumegroup_free_bytes{node="edge-1",vg="volumegroup1"} 62914560');
      expect(text).toContain('nrm_reconcile_total{node="edge-1",result="refused"} 1');
      expect(text).toContain('nrm_refused_devices{node="edge-1",vg="volumegroup1",reason="DeviceHasSignature"} 1');
      expect(text).toContain('nrm_refused_devices{node="edge-1",vg="volumegroup1",reason="DeviceNotFound"} 1');
      expect(text).toContain('nrm_api_server_reachable{node="edge-1"} 0');
      expect(text).toContain('nrm_lvm_commands_total{node="edge-1",verb="pvcreate",outcome="ok"} 1');
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
