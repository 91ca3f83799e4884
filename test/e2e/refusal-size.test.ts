// Issue 14: on the real control plane with 5,000 nodes of varied free space, a local-LVM pod that fits
// nowhere. kube-scheduler builds its FailedScheduling message and the pod's PodScheduled condition by
// joining every distinct reason with its node count; with one reason per node's own numbers that was
// thousands of parts. The extender now sends one reason per VolumeGroup and cause with the pod's need
// and the most any node has, so the message stays short and still says both.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GiB, MiB, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, waitFor } from '../../src/localcluster/objects.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';
import { LABEL_LOCAL_STORAGE } from '../../src/wire/keys.js';

const NODES = 5000;
let stack: Stack | undefined;

beforeAll(async () => {
  stack = await startStack({ progress: (l) => console.info(`[stack] ${l}`) });
}, 600_000);

afterAll(async () => {
  await stack?.stop();
}, 120_000);

describe('refusal messages at 5,000 nodes', () => {
  it('a local-LVM pod that fits none of 5,000 nodes gets a FailedScheduling message and PodScheduled condition under 2 KiB, with its need and the most free', async () => {
    const { core, storage, ext } = stack!;
    await ensureStorageClass(storage);
    // Free space from 10Mi to ~9.7Gi in 997 steps: every node's own numbers differ from its neighbours'.
    const nodes = Array.from({ length: NODES }, (_, i) => makeNode(`n-${String(i).padStart(5, '0')}`).label(LABEL_LOCAL_STORAGE, 'true')
      .capacityReport([{ sizeBytes: 100 * GiB, freeBytes: (1 + (i % 997)) * 10 * MiB }]));
    const t0 = Date.now();
    await createNodes(core, nodes, 100);
    await waitFor(() => ext.state.nodes.size >= NODES, 120_000, 'extender sees every node', 200);
    console.info(`[size] ${NODES} nodes created and cached in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await createPvc(core, makePvc('big').storage('60Gi'));
    await createPods(core, [makePod('big').pvc('big')]);
    const pod = await waitFor(async () => {
      const p = await core.readNamespacedPod({ name: 'big', namespace: 'default' });
      const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
      return c?.message?.includes('local-lvm') ? p : false;
    }, 120_000, 'PodScheduled=False with our reason', 250);
    const condition = pod.status?.conditions?.find((x) => x.type === 'PodScheduled')?.message ?? '';
    const event = await waitFor(async () => {
      const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=big,reason=FailedScheduling' });
      return list.items[0]?.message ?? false;
    }, 60_000, 'FailedScheduling Event', 250);
    console.info(`[size] condition ${condition.length} bytes: ${condition}`);
    console.info(`[size] FailedScheduling ${event.length} bytes`);
    for (const m of [condition, event]) {
      expect(Buffer.byteLength(m)).toBeLessThan(2048);
      expect(m).toMatch(/volumegroup1: requested 60Gi, the most free on a node [\d.]+Gi/);
    }
  }, 400_000);
});
