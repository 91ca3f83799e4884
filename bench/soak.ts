// npm run bench:soak -- [--minutes 30] — scheduling churn on the local control plane with the real
// kube-scheduler and the extender as a child process: plain pods, gangs and local-volume pods are
// created every second and deleted a few seconds after they are bound. Every 10 s the extender's
// /metrics is scraped for RSS, event-loop lag and cache sizes. Prints one JSON line and writes
// bench/results/soak-<date>.json.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api, StorageV1Api } from '@kubernetes/client-node';
import { startControlPlane } from '../src/localcluster/controlplane.js';
import { freePort } from '../src/localcluster/net.js';
import { GiB, makeCapacityReport, makeNode, makePod, makePvc } from '../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, inBatches, waitFor } from '../src/localcluster/objects.js';
import { startFakeProvisioner } from '../src/localcluster/provisioner.js';
import { registerLocalWebhook, waitForCaBundle } from '../src/localcluster/webhook.js';
import { SHIPPED_SCHEDULER_CONFIG } from '../src/localcluster/paths.js';
import { ANNOTATION_VG_CAPACITY } from '../src/wire/keys.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : def;
};
const MINUTES = Number(flag('minutes', '30'));
const NODES = Number(flag('nodes', '50'));
const ROOT = resolve(import.meta.dirname, '..');

interface Sample { atS: number; rssMiB: number; lagP99Ms: number; heapMiB: number; cache: Record<string, number>; bound: number; created: number }

function metric(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''}\\s+([0-9.eE+-]+)`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const cp = await startControlPlane({});
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const storage = cp.kubeConfig.makeApiClient(StorageV1Api);
  const port = await freePort();
  // The scheduling-mark webhook: gangs and PVC pods reach the extender only with its mark.
  const webhook = await registerLocalWebhook(cp.kubeConfig);
  const ext = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/extender.ts', '--kubeconfig', cp.kubeconfigPath, '--port', String(port), '--log-level', 'warn', ...webhook.extenderArgs], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const stopAll = async () => {
    ext.kill('SIGTERM');
    await cp.stop();
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    await ensureStorageClass(storage);
    await createNodes(core, Array.from({ length: NODES }, (_, i) => makeNode(`soak-${i}`).cpu('32').mem('128Gi').pods(200).gpus(4).label('alibabacloud.com/edge-enable-localstorage', 'true').capacityReport([{ sizeBytes: 500 * GiB, freeBytes: 500 * GiB }])));
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok ?? false, 60_000, 'extender ready');
    await waitForCaBundle(cp.kubeConfig);
    await cp.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: `127.0.0.1:${port}` });
    const prov = await startFakeProvisioner(cp.kubeConfig, { updateReports: false });

    // The agent's heartbeat: refresh every report's time stamp each minute so none goes stale.
    const refresh = setInterval(() => {
      void inBatches(Array.from({ length: NODES }, (_, i) => `soak-${i}`), 10, async (name) => {
        const ann = JSON.stringify(makeCapacityReport(name, [{ sizeBytes: 500 * GiB, freeBytes: 500 * GiB }]));
        await core.patchNode({ name, body: { metadata: { annotations: { [ANNOTATION_VG_CAPACITY]: ann } } } }, mergePatch).catch(() => {});
      });
    }, 60_000);

    const started = Date.now();
    const endAt = started + MINUTES * 60_000;
    let created = 0;
    let deleted = 0;
    let tick = 0;
    const samples: Sample[] = [];
    const boundSince = new Map<string, number>();
    let nextSample = started;
    while (Date.now() < endAt) {
      tick++;
      const batch = [];
      for (let i = 0; i < 10; i++) batch.push(makePod(`plain-${tick}-${i}`).cpu('100m').label('soak', 'yes'));
      for (let i = 0; i < 4; i++) batch.push(makePod(`gang-${tick}-${i}`).gpu(1).cpu('100m').group(`gang-${tick}`, 4).label('soak', 'yes'));
      for (let i = 0; i < 2; i++) {
        await createPvc(core, makePvc(`vol-${tick}-${i}`).storage('1Gi')).catch(() => {});
        batch.push(makePod(`vol-${tick}-${i}`).cpu('100m').pvc(`vol-${tick}-${i}`).label('soak', 'yes'));
      }
      await createPods(core, batch, 20).catch(() => {});
      created += batch.length;
      // Delete what has been bound for 5 s (jobs finish), with its claim.
      const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'soak=yes' })).items;
      const now = Date.now();
      const done: string[] = [];
      for (const p of pods) {
        const name = p.metadata?.name ?? '';
        if (p.spec?.nodeName) {
          if (!boundSince.has(name)) boundSince.set(name, now);
          else if (now - (boundSince.get(name) ?? now) > 5_000) done.push(name);
        } else if (now - (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : now) > 120_000) {
          done.push(name); // stuck: clean it up so the cluster does not fill
        }
      }
      await inBatches(done, 20, async (name) => {
        await core.deleteNamespacedPod({ name, namespace: 'default', gracePeriodSeconds: 0 }).catch(() => {});
        if (name.startsWith('vol-')) await core.deleteNamespacedPersistentVolumeClaim({ name, namespace: 'default' }).catch(() => {});
        boundSince.delete(name);
      });
      deleted += done.length;
      if (Date.now() >= nextSample) {
        nextSample += 10_000;
        const text = await (await fetch(`${base}/metrics`)).text();
        const cache: Record<string, number> = {};
        for (const m of text.matchAll(/^extender_cache_objects\{kind="([^"]+)"\}\s+(\d+)/gm)) cache[m[1] as string] = Number(m[2]);
        const s: Sample = {
          atS: Math.round((Date.now() - started) / 1000),
          rssMiB: +(metric(text, 'process_resident_memory_bytes') / 2 ** 20).toFixed(1),
          heapMiB: +(metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1),
          lagP99Ms: +(metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000).toFixed(1),
          cache, bound: boundSince.size, created,
        };
        samples.push(s);
        process.stderr.write(`soak t=${s.atS}s rss=${s.rssMiB}MiB heap=${s.heapMiB}MiB lagP99=${s.lagP99Ms}ms pods=${cache.pods} reservations=${cache.reservations} holds=${cache.holds} groups=${cache.groups}\n`);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, started + tick * 1000 - Date.now())));
    }
    clearInterval(refresh);
    await prov.stop();
    // Ignore the first minute (warm-up: JIT, caches filling) when comparing start and end.
    const warm = samples.find((s) => s.atS >= 60) ?? samples[0];
    const last = samples[samples.length - 1];
    const result = {
      bench: 'soak', minutes: MINUTES, nodes: NODES, podsCreated: created, podsDeleted: deleted,
      rssStartMiB: warm?.rssMiB, rssEndMiB: last?.rssMiB, rssMaxMiB: Math.max(...samples.map((s) => s.rssMiB)),
      heapStartMiB: warm?.heapMiB, heapEndMiB: last?.heapMiB,
      maxEventLoopLagP99Ms: Math.max(...samples.map((s) => s.lagP99Ms)),
      cacheEnd: last?.cache, maxCachePods: Math.max(...samples.map((s) => s.cache.pods ?? 0)),
      samples,
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, `bench/results/soak-${new Date().toISOString().slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    const { samples: _s, ...summary } = result;
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
