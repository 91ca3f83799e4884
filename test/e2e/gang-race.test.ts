// The stale-view race (issue 13), on the real control plane: kube-scheduler sees a pod deletion that
// frees the room a gang needs before our watch does. Members it retries in that gap are refused by
// us and go back to its unschedulable pool; nothing else changes in the cluster, so without help
// they wait for an unrelated event (on a quiet cluster: the 5-minute flush). The extender's watch is
// put behind a proxy that delays everything the API server sends it by LAG_MS, so the gap is wide
// and certain. Expected: once our view frees the room, the sweep plans the gang and touches the
// members it refused (edge-gang.io/requeued-at); kube-scheduler retries them and the gang binds
// within seconds, with no barrier timeout and no failed bind.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNode, makePod } from '../../src/localcluster/builders.js';
import { createNodes, createPods, listPods, waitFor } from '../../src/localcluster/objects.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';
import { ANNOTATION_REQUEUED_AT } from '../../src/wire/keys.js';
import { kubeConfigVia, startLagProxy, type LagProxy } from '../support/lag-proxy.js';
import { metricSum } from '../support/metrics.js';

const LAG_MS = 3000;
const GANG = 'race';

let stack: Stack | undefined;
let proxy: LagProxy | undefined;

beforeAll(async () => {
  stack = await startStack({
    extenderArgs: ['--barrier-timeout-ms', '20000'],
    extenderKubeConfig: async (cp) => {
      const u = new URL(cp.apiUrl);
      proxy = await startLagProxy({ host: u.hostname, port: Number(u.port) }, 0);
      return kubeConfigVia(cp.kubeConfig, proxy.address);
    },
    progress: (l) => console.info(`[stack] ${l}`),
  });
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
}, 120_000);

const metric = (name: string): Promise<number> => metricSum(stack!.extenderUrl, name);

describe('a refusal our lagging watch caused', () => {
  it('does not cost the gang a barrier timeout: the refused members are called back once our view frees the room', async () => {
    const { core, ext } = stack!;
    await createNodes(core, [makeNode('race-0').gpus(2), makeNode('race-1').gpus(2)]);
    await createPods(core, [makePod('blocker').gpu(2).on('race-0')]);
    await waitFor(() => ext.state.podByKey('default', 'blocker')?.nodeName === 'race-0' && ext.state.nodes.size === 2, 30_000, 'extender sees the nodes and the blocker');

    proxy!.setDelayMs(LAG_MS);
    const members = [0, 1, 2, 3].map((i) => makePod(`${GANG}-worker-${i}`).gpu(1).group(GANG, 4));
    await createPods(core, members);
    // kube-scheduler tries each and we refuse: 2 GPUs free for 4 members.
    const refused = await waitFor(async () => {
      const pods = (await listPods(core, 'default')).filter((p) => p.metadata?.name?.startsWith(`${GANG}-`));
      // Our refusal (not the quorum gate's SchedulingGated, which comes first).
      const un = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.message?.includes(`gang default/${GANG}:`)));
      return un.length === 4 ? un : false;
    }, 60_000, 'all four members refused once', 200);
    console.info(`[race] refused: ${refused.map((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).join(' | ')}`);

    const before = { timeouts: await metric('extender_gang_barrier_timeouts_total'), failed: await metric('extender_binds_total{result="held_timeout"}') };
    const t0 = Date.now();
    await core.deleteNamespacedPod({ name: 'blocker', namespace: 'default', gracePeriodSeconds: 0 });
    const bound = await waitFor(async () => {
      const pods = (await listPods(core, 'default')).filter((p) => p.metadata?.name?.startsWith(`${GANG}-`));
      return pods.length === 4 && pods.every((p) => p.spec?.nodeName) ? pods : false;
    }, 60_000, 'the gang bound after the deletion (without the call-back it waits for an unrelated event)', 100);
    const ms = Date.now() - t0;
    const requeued = bound.filter((p) => p.metadata?.annotations?.[ANNOTATION_REQUEUED_AT]).length;
    const patched = await metric('extender_gang_requeues_total{result="patched"}');
    console.info(`[race] all 4 bound ${ms} ms after the deletion (our watch ${LAG_MS} ms behind); ${requeued} members carry ${ANNOTATION_REQUEUED_AT}; requeue patches ${patched}`);
    proxy!.setDelayMs(0);

    // Our view saw the deletion LAG_MS late; from then on, backoff (1-2 s) plus one cycle.
    expect(ms).toBeLessThan(LAG_MS + 10_000);
    expect(requeued).toBeGreaterThanOrEqual(1);
    expect(patched).toBeGreaterThanOrEqual(1);
    expect(await metric('extender_gang_barrier_timeouts_total')).toBe(before.timeouts);
    expect(await metric('extender_binds_total{result="held_timeout"}')).toBe(before.failed);
    expect(new Set(bound.map((p) => p.spec?.nodeName))).toEqual(new Set(['race-0', 'race-1']));
  }, 240_000);
});
