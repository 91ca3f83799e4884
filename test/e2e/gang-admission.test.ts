// The gang gate's admission (--gang-quorum-gate true, the default --gang-admission-window), on the
// real control plane: the webhook gates gang members at creation; a gang that does not fit as a
// whole keeps its gates (kube-scheduler never tries its members, so nothing is refused and retried
// at every cluster event) and says why with numbers in a GangUnschedulable Event; a smaller gang
// ranked after it that fits goes first; once room frees, the gated gang is admitted with its plan
// made, its gates removed together, and all members bound at once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { makeNode, makePod } from '../../src/localcluster/builders.js';
import { createNodes, createPods, listPods, waitFor } from '../../src/localcluster/objects.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';
import { SCHEDULING_GATE_GANG } from '../../src/wire/keys.js';
import { metricSum } from '../support/metrics.js';

let stack: Stack | undefined;

beforeAll(async () => {
  stack = await startStack({ extenderArgs: ['--gang-quorum-gate', 'true'], progress: (l) => console.info(`[stack] ${l}`) });
}, 600_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

const metric = (name: string): Promise<number> => metricSum(stack!.extenderUrl, name);

const of = (pods: V1Pod[], prefix: string) => pods.filter((p) => p.metadata?.name?.startsWith(prefix));
const scheduled = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'PodScheduled');

describe('the gang gate admits a gang when it fits as a whole', () => {
  it('keeps a gang too big for what is free gated (never tried, never refused) with the gap in numbers, and binds it at once when room frees', async () => {
    const { core } = stack!;
    await createNodes(core, [makeNode('adm-0').gpus(2), makeNode('adm-1').gpus(2), makeNode('adm-2').gpus(2)]);
    await waitFor(() => stack!.ext.state.nodes.size === 3, 30_000, 'extender sees the three nodes');
    // A small gang takes 2 of the 6 GPUs; then a wide gang needs all 6.
    await createPods(core, [0, 1].map((i) => makePod(`small-${i}`).gpu(1).group('small', 2)));
    const small = await waitFor(async () => {
      const pods = of(await listPods(core), 'small-');
      return pods.length === 2 && pods.every((p) => p.spec?.nodeName) ? pods : false;
    }, 30_000, 'the small gang bound', 100);
    expect(small.every((p) => !(p.spec?.schedulingGates ?? []).length)).toBe(true);

    const filtersBefore = await metric('extender_request_duration_seconds_count{verb="filter"}');
    await createPods(core, [0, 1, 2].map((i) => makePod(`wide-${i}`).gpu(2).group('wide', 3)));
    const event = await waitFor(async () => {
      const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'reason=GangUnschedulable' });
      return list.items.find((e) => e.involvedObject?.name?.startsWith('wide-')) ?? false;
    }, 30_000, 'a GangUnschedulable Event on a wide member', 200);
    expect(event.message).toBe('gang default/wide: needs 6 nvidia.com/gpu for 3 pods, 4 free');
    // Gated all along: kube-scheduler says SchedulingGated, never tried them, and our filter never saw them.
    for (let i = 0; i < 10; i++) {
      const wide = of(await listPods(core), 'wide-');
      expect(wide).toHaveLength(3);
      for (const p of wide) {
        expect(p.spec?.schedulingGates?.map((g) => g.name)).toEqual([SCHEDULING_GATE_GANG]);
        expect(p.spec?.nodeName).toBeFalsy();
        expect(scheduled(p)?.reason).toBe('SchedulingGated');
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await metric('extender_request_duration_seconds_count{verb="filter"}')).toBe(filtersBefore);
    const desc = await (await fetch(`${stack!.extenderUrl}/debug/gangs`)).json() as { gangs: { gang: string; phase: string; lastReason: string }[] };
    expect(desc.gangs.find((g) => g.gang === 'default/wide')).toMatchObject({ phase: 'unschedulable', lastReason: 'gang default/wide: needs 6 nvidia.com/gpu for 3 pods, 4 free' });

    // The small gang finishes: its pods are deleted, 6 GPUs free. The wide gang is admitted and binds at once.
    const timeouts = await metric('extender_gang_barrier_timeouts_total');
    const t0 = Date.now();
    for (const p of small) await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: 'default', gracePeriodSeconds: 0 });
    const wide = await waitFor(async () => {
      const pods = of(await listPods(core), 'wide-');
      return pods.every((p) => p.spec?.nodeName) ? pods : false;
    }, 30_000, 'the wide gang bound after the small one left', 100);
    const ms = Date.now() - t0;
    console.info(`[admission] wide gang bound ${ms} ms after the small gang's pods were deleted, on ${wide.map((p) => p.spec?.nodeName).join(', ')}`);
    expect(ms).toBeLessThan(10_000);
    expect(new Set(wide.map((p) => p.spec?.nodeName)).size).toBe(3);
    expect(wide.every((p) => !(p.spec?.schedulingGates ?? []).length)).toBe(true);
    expect(await metric('extender_gang_barrier_timeouts_total')).toBe(timeouts);
    expect(await metric('extender_gang_gates_removed_total{result="removed"}')).toBe(5);
    expect(await metric('extender_gang_gates_removed_total{result="failed"}')).toBe(0);
    const tl = await (await fetch(`${stack!.extenderUrl}/debug/gangs/timeline`)).json() as { gangs: { gang: string; admittedMs: number | null; plans: number; firstFilterMs: number | null; planMs: number | null }[] };
    const w = tl.gangs.find((g) => g.gang === 'default/wide')!;
    expect(w.plans).toBe(1);
    expect(w.admittedMs).not.toBeNull();
    expect(w.planMs).toBeLessThanOrEqual(w.firstFilterMs!);
  });
});
