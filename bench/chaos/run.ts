// One chaos run: the cluster (cluster.ts), the churning workload (workload.ts), the invariant checker
// (invariants.ts) and the seeded fault schedule (schedule.ts, executed by faults.ts). After each burst
// of faults a canary (a gang of 2 and a plain pod; for node-agent faults also a fresh capacity report)
// measures the time until the cluster works again. When the time is up the faults stop, no new jobs
// are submitted, and every job still alive must run within the drain time.

import { cpSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { makePod } from '../../src/localcluster/builders.js';
import { ensureNamespace, isConflict } from '../../src/localcluster/objects.js';
import { ANNOTATION_VG_CAPACITY, DEFAULT_SCHEDULER_NAME } from '../../src/wire/keys.js';
import { AGENT_NODE, ChaosCluster, SECONDARY_SCHEDULER_NAME, type ChaosSetup } from './cluster.js';
import { strike, type StruckFault } from './faults.js';
import { percentile } from './report.js';
import { FAULT_GRACE_MS, InvariantChecker, reasonOf, type Violation } from './invariants.js';
import { AGENT_FAULTS, FAULT_KINDS, faultSchedule, streams, type FaultKind } from './schedule.js';
import { NAMESPACE, Workload, type WorkloadStats } from './workload.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const CANARY_NS = 'chaos-canary';
const RECOVERY_LIMIT_MS = 180_000;
const WARMUP_MS = 15_000;

export interface ChaosOptions {
  seed: number;
  /** Default: drawn from the seed (even: secondary, odd: default). */
  setup?: ChaosSetup;
  minutes: number;
  /** Default: every kind (the node agent's only as root). */
  kinds?: readonly FaultKind[];
  /** How long the jobs alive at the end get to run. Default 180 s. */
  drainMs?: number;
  log?: (line: string) => void;
}

export interface FaultRecord extends StruckFault {
  /** Time from the burst's last fault ending until the canary was bound (and the agent reported). */
  recoveryMs: number | null;
}

export interface ChaosResult {
  seed: number;
  setup: ChaosSetup;
  minutes: number;
  startedAt: string;
  wallS: number;
  agent: boolean;
  faults: FaultRecord[];
  byKind: Record<string, { count: number; recoveryP50Ms: number | null; recoveryP99Ms: number | null }>;
  recoveryP50Ms: number | null;
  recoveryP99Ms: number | null;
  violations: Violation[];
  workload: WorkloadStats & { aliveAtEnd: number; drainS: number };
  checker: { polls: number; pollsFailed: number; maxPartialS: number; maxVgShare: number; maxCpuShare: number };
  supervisorRestarts: Record<string, number>;
  provisionerRefusals: number;
  /** This run's loop devices still attached after it stopped (should be none). */
  leftLoopDevices: string[];
  /** Where the components' logs were copied when a run saw a violation. */
  keptLogs?: string;
  loadAverage: { start: number[]; end: number[] };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Creates a gang of 2 and a plain pod (retrying refusals) and waits until all three are bound. */
async function canary(core: CoreV1Api, n: number, since: number, scheduler: string): Promise<number | null> {
  const names = [`c${n}-gang-0`, `c${n}-gang-1`, `c${n}-plain`];
  const pods = [
    makePod(names[0] as string).ns(CANARY_NS).group(`c${n}`, 2).cpu('50m').scheduler(scheduler),
    makePod(names[1] as string).ns(CANARY_NS).group(`c${n}`, 2).cpu('50m').scheduler(scheduler),
    makePod(names[2] as string).ns(CANARY_NS).cpu('50m').scheduler(scheduler),
  ];
  const created = new Set<string>();
  const deadline = since + RECOVERY_LIMIT_MS;
  let boundAt: number | null = null;
  while (Date.now() < deadline) {
    for (const [i, p] of pods.entries()) {
      const name = names[i] as string;
      if (created.has(name)) continue;
      try {
        await core.createNamespacedPod({ namespace: CANARY_NS, body: p.manifest() });
        created.add(name);
      } catch (err) {
        if (isConflict(err)) created.add(name);
      }
    }
    if (created.size === names.length) {
      try {
        const list = (await core.listNamespacedPod({ namespace: CANARY_NS, timeoutSeconds: 5 })).items;
        if (names.every((x) => list.some((p) => p.metadata?.name === x && p.spec?.nodeName))) {
          boundAt = Date.now();
          break;
        }
      } catch {
        // kube-apiserver away
      }
    }
    await sleep(200);
  }
  for (const name of names) {
    await core.deleteNamespacedPod({ name, namespace: CANARY_NS, gracePeriodSeconds: 0 }).catch(() => undefined); // gone, or the API away: the namespace is the canaries' own
  }
  return boundAt === null ? null : boundAt - since;
}

/** Waits until the node agent's capacity report is newer than `since`. */
async function agentReported(core: CoreV1Api, since: number): Promise<number | null> {
  const deadline = since + RECOVERY_LIMIT_MS;
  while (Date.now() < deadline) {
    try {
      const node = await core.readNode({ name: AGENT_NODE });
      const text = node.metadata?.annotations?.[ANNOTATION_VG_CAPACITY];
      const at = text ? Date.parse((JSON.parse(text) as { updatedAt: string }).updatedAt) : NaN;
      if (at >= since) return Date.now() - since;
    } catch {
      // away
    }
    await sleep(250);
  }
  return null;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const agent = isRoot();
  const kinds = (opts.kinds ?? FAULT_KINDS).filter((k) => agent || !AGENT_FAULTS.includes(k));
  const schedule = faultSchedule({ seed: opts.seed, steps: 1000, kinds });
  const loadStart = loadavg();
  const t0 = Date.now();
  const setup: ChaosSetup = opts.setup ?? (opts.seed % 2 === 0 ? 'secondary' : 'default');
  const schedulerName = setup === 'secondary' ? SECONDARY_SCHEDULER_NAME : DEFAULT_SCHEDULER_NAME;
  log(`chaos: seed ${opts.seed}, ${setup} setup, ${opts.minutes} min, faults ${kinds.join(',')}${agent ? '' : ' (not root: no node agent)'}`);
  const cluster = await ChaosCluster.start({ setup, agent, log });
  const core = cluster.cp.kubeConfig.makeApiClient(CoreV1Api);
  const windows: { from: number; to: number }[] = [];
  let activeSince: number | undefined;
  const inFaultWindow = (now: number) => activeSince !== undefined || windows.some((w) => now >= w.from && now <= w.to);
  const workload = new Workload(core, streams(opts.seed).workload, schedulerName);
  const checker = new InvariantChecker({ core, cluster, seed: opts.seed, startedAt: t0, inFaultWindow, isDeleting: (j) => workload.isDeleting(j), log });
  const faults: FaultRecord[] = [];
  let ticking = true;
  const tickLoop = (async () => {
    while (ticking) {
      const t = Date.now();
      let pods: V1Pod[] | undefined;
      try {
        pods = (await core.listNamespacedPod({ namespace: NAMESPACE, timeoutSeconds: 5 })).items;
      } catch {
        // kube-apiserver away: creations are retried next tick
      }
      if (pods) await workload.tick(pods, Date.now()).catch((err: Error) => log(`workload: ${err.message}`));
      await sleep(Math.max(0, 1000 - (Date.now() - t)));
    }
  })();
  let drainS = 0;
  try {
    await workload.setUp();
    await ensureNamespace(core, CANARY_NS);
    await checker.start();
    await sleep(WARMUP_MS);
    const endAt = t0 + opts.minutes * 60_000;
    let burstStart: number | undefined;
    let burstFaults: FaultRecord[] = [];
    let canaries = 0;
    for (const step of schedule) {
      if (Date.now() >= endAt && burstFaults.length === 0) break;
      activeSince = Date.now();
      burstStart ??= activeSince;
      let struck: StruckFault;
      try {
        struck = await strike(cluster, step);
      } catch (err) {
        struck = { index: step.index, kind: step.kind, holdMs: step.holdMs, target: '?', struckAt: activeSince, endedAt: Date.now(), note: `strike failed: ${(err as Error).message.split('\n')[0]}` };
        log(`fault ${step.index} ${step.kind}: ${struck.note}`);
      }
      activeSince = undefined;
      const rec: FaultRecord = { ...struck, recoveryMs: null };
      faults.push(rec);
      burstFaults.push(rec);
      log(`fault ${step.index} ${step.kind} on ${struck.target}: down ${((struck.endedAt - struck.struckAt) / 1000).toFixed(1)} s${struck.note ? ` (${struck.note})` : ''}`);
      if (step.gapMs === 0) continue;
      // The burst is over: measure recovery from its end.
      const end = Date.now();
      const [c, a] = await Promise.all([
        canary(core, ++canaries, end, schedulerName),
        burstFaults.some((f) => AGENT_FAULTS.includes(f.kind)) ? agentReported(core, end) : Promise.resolve(0),
      ]);
      const recovery = c === null || a === null ? null : Math.max(c, a);
      for (const f of burstFaults) f.recoveryMs = recovery;
      windows.push({ from: burstStart, to: Date.now() + FAULT_GRACE_MS });
      if (recovery === null) {
        checker.add('no recovery', `after ${burstFaults.map((f) => f.kind).join(' + ')}: the canary ${c === null ? 'was not bound' : 'was bound'}${a === null ? ', the node agent did not report' : ''} within ${RECOVERY_LIMIT_MS / 1000} s`);
      } else {
        log(`  recovered in ${(recovery / 1000).toFixed(1)} s`);
      }
      burstFaults = [];
      burstStart = undefined;
      await sleep(step.gapMs);
    }
    // Drain: no new jobs; every job alive must run.
    workload.stopCreating();
    const drainStart = Date.now();
    const drainMs = opts.drainMs ?? 180_000;
    // Until every job ran and every pod is bound or says why (a pod not tried yet has no reason).
    let pods: V1Pod[] = [];
    while (Date.now() - drainStart < drainMs) {
      pods = await core.listNamespacedPod({ namespace: NAMESPACE }).then((l) => l.items, () => pods);
      if (workload.waiting().length === 0 && pods.every((p) => p.spec?.nodeName || reasonOf(p))) break;
      await sleep(1000);
    }
    drainS = (Date.now() - drainStart) / 1000;
    pods = (await core.listNamespacedPod({ namespace: NAMESPACE })).items;
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items;
    checker.checkEnd(workload.waiting(), pods, claims);
    await checker.checkDevicesNow();
  } finally {
    ticking = false;
    await tickLoop;
    checker.stop();
  }
  const provisionerRefusals = cluster.provisioner.failures.length;
  const supervisorRestarts: Record<string, number> = {};
  for (const r of cluster.restarts) supervisorRestarts[r.component] = (supervisorRestarts[r.component] ?? 0) + 1;
  let keptLogs: string | undefined;
  if (checker.violations.length > 0) {
    keptLogs = join(tmpdir(), `edge-gang-chaos-${opts.seed}-${Date.now()}`);
    cpSync(cluster.cp.logsDir, keptLogs, { recursive: true });
    log(`logs of every component kept in ${keptLogs}`);
  }
  await cluster.stop();
  if (cluster.leftLoopDevices.length > 0) log(`cleanup: loop devices ${cluster.leftLoopDevices.join(', ')} still attached`);
  const recoveries = faults.map((f) => f.recoveryMs).filter((x): x is number => x !== null);
  const byKind: ChaosResult['byKind'] = {};
  for (const k of kinds) {
    const fs = faults.filter((f) => f.kind === k);
    if (fs.length === 0) continue;
    const rs = fs.map((f) => f.recoveryMs).filter((x): x is number => x !== null);
    byKind[k] = { count: fs.length, recoveryP50Ms: percentile(rs, 50), recoveryP99Ms: percentile(rs, 99) };
  }
  return {
    seed: opts.seed,
    setup,
    minutes: opts.minutes,
    startedAt: new Date(t0).toISOString(),
    wallS: (Date.now() - t0) / 1000,
    agent,
    faults,
    byKind,
    recoveryP50Ms: percentile(recoveries, 50),
    recoveryP99Ms: percentile(recoveries, 99),
    violations: checker.violations,
    workload: { ...workload.stats, aliveAtEnd: workload.waiting().length, drainS },
    checker: { polls: checker.polls, pollsFailed: checker.pollsFailed, maxPartialS: checker.maxPartialMs / 1000, maxVgShare: checker.maxVgShare, maxCpuShare: checker.maxCpuShare },
    supervisorRestarts,
    provisionerRefusals,
    ...(keptLogs ? { keptLogs } : {}),
    leftLoopDevices: cluster.leftLoopDevices,
    loadAverage: { start: loadStart, end: loadavg() },
  };
}
