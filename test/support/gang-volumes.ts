// Helpers for test/e2e/gang-local-volumes.test.ts: where a claim is pinned (selected-node, bound PV and
// the PV's node affinity), the bytes of PVs per node, one extender metric, one /debug/gangs line, a
// pod's PodScheduled condition, and the removal of one scenario's objects.

import type { CoreV1Api, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import type { GangDescription } from '../../src/core/gang/types.js';
import { ANNOTATION_SELECTED_NODE } from '../../src/wire/keys.js';
import { forceDeletePods, inBatches, isNotFound, listPods, waitFor } from '../../src/localcluster/objects.js';
import { parseQuantityBytes } from '../../src/localcluster/quantity.js';
import type { Stack } from '../../src/localcluster/stack.js';

/** What pins a claim to a node: the scheduler's selected-node, the bound PV and the node its affinity names. */
export interface ClaimPin {
  claim: string;
  selectedNode: string;
  volumeName: string;
  /** The node the bound PV's required node affinity names ('' while unbound). */
  pvNode: string;
  /** PV capacity in bytes (0 while unbound). */
  bytes: number;
  /** The PV's creationTimestamp (ms), NaN while unbound. */
  pvCreatedMs: number;
}

const pvNodeOf = (pv: { spec?: { nodeAffinity?: { required?: { nodeSelectorTerms?: { matchExpressions?: { values?: string[] }[] }[] } } } }) =>
  pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0] ?? '';

export async function claimPin(core: CoreV1Api, namespace: string, claim: string): Promise<ClaimPin> {
  const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace });
  const out: ClaimPin = {
    claim,
    selectedNode: pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE] ?? '',
    volumeName: pvc.spec?.volumeName ?? '',
    pvNode: '',
    bytes: 0,
    pvCreatedMs: NaN,
  };
  if (!out.volumeName) return out;
  try {
    const pv = await core.readPersistentVolume({ name: out.volumeName });
    const ref = pv.spec?.claimRef;
    if (ref?.namespace !== namespace || ref?.name !== claim || pv.status?.phase !== 'Bound') return out;
    out.pvNode = pvNodeOf(pv);
    out.bytes = parseQuantityBytes(pv.spec?.capacity?.storage ?? '0');
    out.pvCreatedMs = pv.metadata?.creationTimestamp ? new Date(pv.metadata.creationTimestamp).getTime() : NaN;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return out;
}

/** Pinned: selected-node set, and a Bound PV whose node affinity names that same node. */
export const isPinned = (p: ClaimPin) => p.selectedNode !== '' && p.volumeName !== '' && p.pvNode === p.selectedNode && p.bytes > 0;

/** Bytes of PVs per node, from the API (the PV's node affinity names the node). */
export async function pvBytesByNode(core: CoreV1Api): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pv of (await core.listPersistentVolume()).items) {
    const n = pvNodeOf(pv);
    out.set(n, (out.get(n) ?? 0) + parseQuantityBytes(pv.spec?.capacity?.storage ?? '0'));
  }
  return out;
}

/** One unlabelled counter of the extender's /metrics (0 when absent). */
export async function metric(extenderUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${extenderUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A /debug/gangs line: the planner's own description. */
export type GangLine = Pick<GangDescription, 'gang' | 'phase' | 'members' | 'planned' | 'atBarrier' | 'bound' | 'minAvailable' | 'lastReason'>;

export async function debugGang(extenderUrl: string, key: string): Promise<GangLine | undefined> {
  const r = await fetch(`${extenderUrl}/debug/gangs`);
  if (r.status !== 200) throw new Error(`GET /debug/gangs: ${r.status}`);
  return ((await r.json()) as { gangs: GangLine[] }).gangs.find((g) => g.gang === key);
}

export const podScheduled = (p: V1Pod): V1PodCondition | undefined => p.status?.conditions?.find((c) => c.type === 'PodScheduled');

/** Pod Events of one reason in a namespace, oldest first. */
export async function podEvents(core: CoreV1Api, namespace: string, reason: string): Promise<{ pod: string; message: string; count: number }[]> {
  const list = await core.listNamespacedEvent({ namespace });
  return list.items
    .filter((e) => e.reason === reason && e.involvedObject.kind === 'Pod')
    .map((e) => ({ pod: e.involvedObject.name ?? '', message: e.message ?? '', count: e.count ?? 1 }));
}

/**
 * Pending pods first (so deleting the bound ones frees no room the scheduler would hand them), then
 * the rest, then claims (the provisioner returns their bytes while the node still exists), then the
 * scenario's nodes (selected by `nodeLabel`=namespace).
 */
export async function removeScenario(stack: Stack, namespace: string, nodeLabel: string): Promise<void> {
  const { core, provisioner } = stack;
  const pods = await listPods(core, namespace);
  await inBatches(pods.filter((p) => !p.spec?.nodeName), 20, async (p) => {
    try {
      await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  await forceDeletePods(core, namespace);
  for (const c of (await core.listNamespacedPersistentVolumeClaim({ namespace })).items) {
    try {
      await core.deleteNamespacedPersistentVolumeClaim({ name: c.metadata?.name ?? '', namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await waitFor(() => ![...provisioner.provisioned.keys()].some((k) => k.startsWith(`${namespace}/`)), 30_000, `volumes of ${namespace} released`);
  for (const n of (await core.listNode({ labelSelector: `${nodeLabel}=${namespace}` })).items) {
    try {
      await core.deleteNode({ name: n.metadata?.name ?? '' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
