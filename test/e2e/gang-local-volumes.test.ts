// Gang × local volumes on the real control plane (etcd + kube-apiserver + kube-scheduler with the
// shipped configuration, the webhook registered as the stack does, the extender in-process, the
// stand-in CSI provisioner): kube-scheduler's VolumeBinding PreBind runs before our bind verb, so a
// member that reaches the barrier has already had its WaitForFirstConsumer claim provisioned and bound
// to a PV pinned to its node. When the barrier then fails, the claim stays pinned. This file measures
// that (claims, bytes, how long), and checks that the gang still binds once its missing member is
// fixed, with every pinned member on its claim's node and no VolumeGroup over-committed.
//
// The missing member has a required podAffinity to a label no pod has: kube-scheduler's InterPodAffinity
// refuses it on every node, so our filter never sees it (the extender does not model pod affinity) and
// it never reaches bind. It is created with a scheduling gate, removed once the other two members are at
// the barrier, so kube-scheduler refuses it only after the gang's plan exists. Without the gate the
// scheduler may refuse it before the plan, and a barrier that waits while "every missing member is
// pending and was not refused since the plan" would treat that older, unchanged refusal as a member still
// on its way; with the gate the refusal is observed with either barrier behaviour (fixed timeout or
// patient barrier), and the test waits up to 60 s for it instead of assuming the 6 s annotation.

import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_BARRIER_TIMEOUT_SECONDS, DEFAULT_VG_NAME, LABEL_LOCAL_STORAGE } from '../../src/wire/keys.js';
import { GiB, makeNode, makePod, makePvc } from '../../src/localcluster/builders.js';
import { createNodes, createPods, createPvc, ensureStorageClass, isConflict, isNotFound, listPods, waitFor } from '../../src/localcluster/objects.js';
import { mergePatch } from '../../src/localcluster/provisioner-objects.js';
import { startStack, type Stack } from '../../src/localcluster/stack.js';
import { GangMonitor } from '../harness/gang-monitor.js';
import { claimPin, debugGang, isPinned, metric, podEvents, podScheduled, pvBytesByNode, removeScenario, type ClaimPin } from '../support/gang-volumes.js';

const CASE_LABEL = 'e2e.edge-gang.io/gang-volumes';
const GANG = 'trainer';
const BARRIER_TIMEOUT_SECONDS = '6';
/** A label no pod in the cluster carries: the podAffinity that can never be satisfied. */
const NOBODY_LABEL = 'e2e.edge-gang.io/nobody-has-this';
const GATE = 'e2e.edge-gang.io/after-plan';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

let stack: Stack | undefined;
const S = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};

interface NodeSpec {
  name: string;
  cpu: number;
  vgGi: number;
}
interface MemberSpec {
  name: 'm1' | 'm2' | 'm3';
  cpu: string;
  claimGi: number;
}
interface CaseSpec {
  ns: string;
  nodes: NodeSpec[];
  /** m1 and m2 reach the barrier; m3 never arrives until it is recreated. */
  members: MemberSpec[];
  /** How long to watch the pinned claims while the gang keeps failing, before m3 is fixed. */
  observeMs: number;
}
interface Measured {
  pins: ClaimPin[];
  pinnedBytes: number;
  arrivalToRefusalMs: number;
  refusalToBoundMs: number;
  fixToBoundMs: number;
  /** From the first pinned PV's creation to the gang bound: bytes allocated and used by no pod. */
  pinnedUnusedMs: number;
  barrierTimeouts: number;
  replans: number;
  finalNodes: Record<string, string>;
  m3Message: string;
}

const claimOf = (member: string) => `${member}-data`;
const nodeName = (ns: string, n: string) => `${ns}-${n}`;

function member(ns: string, m: MemberSpec, opts: { neverArrives?: boolean; gated?: boolean } = {}): V1Pod {
  const pod = makePod(m.name).ns(ns).cpu(m.cpu).group(GANG, 3).pvc(claimOf(m.name)).nodeSelector({ [CASE_LABEL]: ns })
    .annotate(ANNOTATION_BARRIER_TIMEOUT_SECONDS, BARRIER_TIMEOUT_SECONDS).manifest();
  const spec = pod.spec as NonNullable<V1Pod['spec']>;
  if (opts.neverArrives) {
    spec.affinity = {
      podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { [NOBODY_LABEL]: 'present' } }, topologyKey: 'kubernetes.io/hostname' }] },
    };
  }
  if (opts.gated) spec.schedulingGates = [{ name: GATE }];
  return pod;
}

async function readPod(ns: string, name: string): Promise<V1Pod> {
  return S().core.readNamespacedPod({ name, namespace: ns });
}

/** Why the gang did not bind, for a failure message: the extender's line and each pod's last refusal. */
async function diagnose(ns: string): Promise<string> {
  const { core, extenderUrl } = S();
  const g = await debugGang(extenderUrl, `${ns}/${GANG}`).catch(() => undefined);
  const pods = await listPods(core, ns);
  const lines = pods.map((p) => `${p.metadata?.name}: node=${p.spec?.nodeName ?? ''} PodScheduled=${podScheduled(p)?.status}/${podScheduled(p)?.reason}: ${podScheduled(p)?.message ?? ''}`);
  const claims = await Promise.all(pods.map((p) => claimPin(core, ns, claimOf(p.metadata?.name ?? '')).catch(() => undefined)));
  const pinned = claims.filter((c) => c !== undefined).map((c) => `${c.claim}: selected-node=${c.selectedNode || '-'} pv=${c.volumeName || '-'} on ${c.pvNode || '-'}`);
  const failed = (await podEvents(core, ns, 'FailedScheduling')).slice(-6).map((e) => `${e.pod} x${e.count}: ${e.message}`);
  return [`gang: ${JSON.stringify(g)}`, ...lines, ...pinned, 'last FailedScheduling events:', ...failed].join('\n  ');
}

/** The whole story for one cluster shape; returns the numbers. Asserts along the way. */
async function runCase(c: CaseSpec): Promise<Measured> {
  const { core, provisioner, extenderUrl } = S();
  const { ns } = c;
  const key = `${ns}/${GANG}`;
  const vgBytes = new Map(c.nodes.map((n) => [nodeName(ns, n.name), n.vgGi * GiB]));
  await createNodes(core, c.nodes.map((n) => makeNode(nodeName(ns, n.name)).label(CASE_LABEL, ns).label(LABEL_LOCAL_STORAGE, 'true').cpu(n.cpu).capacityReport([{ sizeBytes: n.vgGi * GiB }])));
  for (const m of c.members) await createPvc(core, makePvc(claimOf(m.name)).ns(ns).storage(`${m.claimGi}Gi`));
  const spec = (name: string) => c.members.find((m) => m.name === name) as MemberSpec;
  const timeoutsBefore = await metric(extenderUrl, 'extender_gang_barrier_timeouts_total');
  const replansBefore = await metric(extenderUrl, 'extender_gang_replans_total');
  const failuresBefore = provisioner.failures.length;

  // Over-commit watch, all along: the provisioner's ledger and the PVs in the API, per node.
  const overCommit: string[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const byNode = await pvBytesByNode(core);
        for (const [n, size] of vgBytes) {
          const ledger = provisioner.usedBytes(n, DEFAULT_VG_NAME);
          if (ledger > size) overCommit.push(`ledger ${n}: ${ledger} bytes on a ${size}-byte VG`);
          if ((byNode.get(n) ?? 0) > size) overCommit.push(`PVs ${n}: ${byNode.get(n)} bytes on a ${size}-byte VG`);
        }
      } catch {
        // a failed sample observes nothing
      }
      await sleep(250);
    }
  })();
  const monitor = new GangMonitor(core, ns, 200);
  let finished = false;
  try {
    // m3 first (so the quorum exists when m1 and m2 are filtered), gated: kube-scheduler tries it only later.
    await createPods(core, [member(ns, spec('m3'), { neverArrives: true, gated: true })]);
    await createPods(core, [member(ns, spec('m1')), member(ns, spec('m2'))]);

    // 1. m1 and m2 at the barrier: VolumeBinding PreBind ran, their claims are provisioned and bound.
    const tCreated = Date.now();
    const arrived = await waitFor(async () => {
      const g = await debugGang(extenderUrl, key);
      if (!g || g.atBarrier < 2) return undefined;
      const pins = [await claimPin(core, ns, claimOf('m1')), await claimPin(core, ns, claimOf('m2'))];
      return pins.every(isPinned) ? { g, pins, at: Date.now() } : undefined;
    }, 120_000, 'm1 and m2 at the bind barrier with their claims provisioned on their nodes', 100);
    console.info(`[${ns}] m1, m2 at the barrier ${secs(arrived.at - tCreated)} after creation: ${JSON.stringify(arrived.g)}; claims ${arrived.pins.map((p) => `${p.claim}->${p.pvNode}`).join(', ')}`);
    expect(arrived.g.planned).toBe(3); // the plan includes m3: the extender cannot see its pod affinity
    for (const n of ['m1', 'm2']) expect((await readPod(ns, n)).spec?.nodeName ?? '').toBe(''); // held, not bound
    expect(podScheduled(await readPod(ns, 'm3'))?.reason).toBe('SchedulingGated');

    // 2. m3 let go: kube-scheduler's InterPodAffinity refuses it on every node, before any extender call.
    await core.patchNamespacedPod({ name: 'm3', namespace: ns, body: { spec: { schedulingGates: null } } }, mergePatch);
    const m3Refused = await waitFor(async () => {
      const cond = podScheduled(await readPod(ns, 'm3'));
      return cond?.status === 'False' && cond.reason === 'Unschedulable' ? cond : undefined;
    }, 30_000, 'm3 refused by kube-scheduler');
    console.info(`[${ns}] m3 PodScheduled=False/${m3Refused.reason}: ${m3Refused.message}`);
    expect(m3Refused.message).toMatch(/didn't match pod affinity rules/);
    expect(m3Refused.message).not.toContain(`gang ${key}`); // not one of our reasons: our filter never saw it

    // 3. The barrier gives up (6 s annotation, or later with a patient barrier) and both are refused back.
    const refused = await waitFor(async () => {
      if ((await metric(extenderUrl, 'extender_gang_barrier_timeouts_total')) <= timeoutsBefore) return undefined;
      const pods = await Promise.all(['m1', 'm2'].map((n) => readPod(ns, n)));
      return pods.every((p) => !p.spec?.nodeName) ? Date.now() : undefined;
    }, 60_000, 'the barrier to fail m1 and m2', 100);
    const timeoutEvent = (await podEvents(core, ns, 'GangBarrierTimeout'))[0];
    console.info(`[${ns}] barrier failed ${secs(refused - arrived.at)} after m1 and m2 were seen at it: ${timeoutEvent?.message ?? '(no GangBarrierTimeout event yet)'}`);

    // 4. Their claims stay pinned, and stay pinned while the gang keeps failing.
    const pins = [await claimPin(core, ns, claimOf('m1')), await claimPin(core, ns, claimOf('m2'))];
    expect(pins.map((p) => [p.claim, isPinned(p), p.pvNode])).toEqual(arrived.pins.map((p) => [p.claim, true, p.pvNode]));
    const pinnedBytes = pins.reduce((s, p) => s + p.bytes, 0);
    for (const until = Date.now() + c.observeMs; Date.now() < until; await sleep(500)) {
      for (const n of ['m1', 'm2']) expect((await readPod(ns, n)).spec?.nodeName ?? '', `${n} while m3 cannot arrive`).toBe('');
      for (const p of pins) expect(isPinned(await claimPin(core, ns, p.claim)), `${p.claim} stays pinned`).toBe(true);
    }
    const timeoutsWhileBroken = (await metric(extenderUrl, 'extender_gang_barrier_timeouts_total')) - timeoutsBefore;
    console.info(`[${ns}] PINNED: ${pins.length} claims, ${pinnedBytes} bytes (${(pinnedBytes / GiB).toFixed(1)} GiB) on ${pins.map((p) => p.pvNode).join(', ')}; ` +
      `${secs(Date.now() - refused)} after the first barrier failure, ${timeoutsWhileBroken} barrier failure(s) so far, both members unbound`);

    // 5. The user fixes m3 (deletes it, creates it without the affinity): the gang binds, pinned members on their claims' nodes.
    await core.deleteNamespacedPod({ name: 'm3', namespace: ns, gracePeriodSeconds: 0 });
    await waitFor(async () => {
      try {
        await readPod(ns, 'm3');
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    }, 30_000, 'the old m3 gone');
    const tFix = Date.now();
    await createPods(core, [member(ns, spec('m3'))]);
    let all: V1Pod[];
    try {
      all = await waitFor(async () => {
        const ps = await listPods(core, ns);
        return ps.length === 3 && ps.every((p) => p.spec?.nodeName) ? ps : undefined;
      }, 150_000, 'the whole gang bound after m3 was fixed', 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n  ${await diagnose(ns)}`);
    }
    const tBound = Date.now();
    const finalNodes = Object.fromEntries(all.map((p) => [p.metadata?.name ?? '', p.spec?.nodeName ?? '']));
    for (const p of pins) expect(finalNodes[p.claim.replace(/-data$/, '')], `${p.claim}'s pod on its claim's node`).toBe(p.pvNode);
    const m3Pin = await waitFor(async () => {
      const p = await claimPin(core, ns, claimOf('m3'));
      return isPinned(p) ? p : undefined;
    }, 30_000, "m3's claim provisioned");
    expect(finalNodes.m3).toBe(m3Pin.pvNode);
    for (const p of pins) expect((await claimPin(core, ns, p.claim)).volumeName).toBe(p.volumeName); // the same PVs, not new ones
    await sleep(1000);
    const firstPv = Math.min(...pins.map((p) => p.pvCreatedMs));
    const m: Measured = {
      pins,
      pinnedBytes,
      arrivalToRefusalMs: refused - arrived.at,
      refusalToBoundMs: tBound - refused,
      fixToBoundMs: tBound - tFix,
      pinnedUnusedMs: tBound - firstPv,
      barrierTimeouts: (await metric(extenderUrl, 'extender_gang_barrier_timeouts_total')) - timeoutsBefore,
      replans: (await metric(extenderUrl, 'extender_gang_replans_total')) - replansBefore,
      finalNodes,
      m3Message: m3Refused.message ?? '',
    };
    console.info(`[${ns}] MEASURED: gang bound ${secs(m.fixToBoundMs)} after m3 was fixed, ${secs(m.refusalToBoundMs)} after the first barrier failure; ` +
      `claims pinned and unused for ${secs(m.pinnedUnusedMs)} (first PV created -> gang bound); ${m.barrierTimeouts} barrier failure(s), ` +
      `${m.replans} member re-plan(s) (planned node not offered); final nodes ${JSON.stringify(finalNodes)}`);
    finished = true;
    return m;
  } finally {
    sampling = false;
    await sampler;
    await monitor.stop();
    const byNode = await pvBytesByNode(core);
    const provisioningFailures = provisioner.failures.slice(failuresBefore).filter((f) => f.namespace === ns);
    console.info(`[${ns}] PV bytes per node at the end: ${JSON.stringify(Object.fromEntries([...vgBytes.keys()].map((n) => [n, byNode.get(n) ?? 0])))}; ` +
      `over-commit samples: ${overCommit.length ? overCommit.slice(0, 3).join('; ') : 'none'}; ${monitor.polls} polls, partial binds seen: transient ${monitor.transient.length}, persistent ${monitor.persistent.length}`);
    // Asserted only when the story got through (a failure above keeps its own message).
    if (finished) {
      // No VolumeGroup over-committed, ever, and none at the end; no provisioning refused; never part of the gang bound.
      expect(overCommit).toEqual([]);
      for (const [n, size] of vgBytes) expect(byNode.get(n) ?? 0, `PV bytes on ${n}`).toBeLessThanOrEqual(size);
      expect(provisioningFailures).toEqual([]);
      expect(monitor.persistent).toEqual([]);
    }
  }
}

async function inNamespace<T>(ns: string, body: () => Promise<T>): Promise<T> {
  try {
    await S().core.createNamespace({ body: { metadata: { name: ns } } });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const t = Date.now();
  try {
    return await body();
  } finally {
    await removeScenario(S(), ns, CASE_LABEL).catch((err: Error) => console.warn(`[${ns}] cleanup: ${err.message}`));
    console.info(`[${ns}] ${secs(Date.now() - t)}`);
  }
}

describe('gang × local volumes: claims provisioned in PreBind before a barrier that fails', () => {
  beforeAll(async () => {
    stack = await startStack({ extenderLogLevel: process.env.E2E_EXTENDER_LOG_LEVEL ?? 'warn', progress: (l) => console.info(`[stack] ${l}`) });
    console.info(`[stack] up in ${secs(stack.timings.totalMs)}`);
    await ensureStorageClass(stack.storage);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('1. the last member never arrives: two claims stay pinned after the barrier fails; once it is fixed the gang binds on the pinned nodes', async () => {
    // Three nodes, one 1 GiB VG each, one 1 GiB claim per member: every member has its own node.
    const m = await inNamespace('gv1-pinned', () => runCase({
      ns: 'gv1-pinned',
      nodes: [0, 1, 2].map((i) => ({ name: `n${i}`, cpu: 4, vgGi: 1 })),
      members: [{ name: 'm1', cpu: '1', claimGi: 1 }, { name: 'm2', cpu: '1', claimGi: 1 }, { name: 'm3', cpu: '1', claimGi: 1 }],
      observeMs: 10_000,
    }));
    expect(m.pins).toHaveLength(2);
    expect(new Set(m.pins.map((p) => p.pvNode)).size).toBe(2);
    expect(m.pinnedBytes).toBe(2 * GiB);
    expect(m.barrierTimeouts).toBeGreaterThanOrEqual(1);
    // m3 takes the one VG left with room.
    const left = ['n0', 'n1', 'n2'].map((n) => nodeName('gv1-pinned', n)).find((n) => !m.pins.some((p) => p.pvNode === n));
    expect(m.finalNodes.m3).toBe(left);
  });

  it('2. a re-plan tempted to move a pinned member: the only room left for the new member is off the pinned node', async () => {
    // n0: 2 CPUs, 1 GiB VG; n1: 3 CPUs, 4 GiB VG. m2 (2 CPUs, 2 GiB) only fits n1's VG, m1 follows it
    // there (tightest), m3 goes to n0: m1 and m2 are pinned on n1, which their 3 CPUs fill. After the
    // fix the only placement is m3 on n0; a plan that ignores the pins puts m2 on n0 (its tightest
    // fit by CPU) and m3 on n1, where m2's claim forces it back and no longer fits.
    const ns = 'gv2-tempted';
    const m = await inNamespace(ns, () => runCase({
      ns,
      nodes: [{ name: 'n0', cpu: 2, vgGi: 1 }, { name: 'n1', cpu: 3, vgGi: 4 }],
      members: [{ name: 'm1', cpu: '1', claimGi: 1 }, { name: 'm2', cpu: '2', claimGi: 2 }, { name: 'm3', cpu: '1', claimGi: 1 }],
      observeMs: 3_000,
    }));
    expect(m.pins.map((p) => p.pvNode)).toEqual([nodeName(ns, 'n1'), nodeName(ns, 'n1')]);
    expect(m.pinnedBytes).toBe(3 * GiB);
    expect(m.finalNodes).toEqual({ m1: nodeName(ns, 'n1'), m2: nodeName(ns, 'n1'), m3: nodeName(ns, 'n0') });
  });
});
