// Executes one step of the fault schedule against the chaos cluster. Each fault names its target
// (which replica led at the strike) and returns when the component is back (restarted, continued,
// reconnected); recovery is measured after that by the runner.

import type { Component } from '../../src/localcluster/processes.js';
import { httpGet } from '../../src/localcluster/net.js';
import type { ChaosCluster, HeldComponent, Replica } from './cluster.js';
import type { FaultStep } from './schedule.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface StruckFault {
  index: number;
  kind: FaultStep['kind'];
  holdMs: number;
  target: string;
  /** Epoch ms: when the fault struck and when the component was back. */
  struckAt: number;
  endedAt: number;
  note?: string;
}

/** SIGSTOP for holdMs, then SIGCONT. */
async function frozen(c: Component, holdMs: number): Promise<void> {
  const pid = c.pid;
  if (pid === undefined) return;
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(holdMs);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/** Stops the components (the supervisor told to leave them down), waits holdMs, starts them again. */
async function downFor(cluster: ChaosCluster, keys: readonly HeldComponent[], cs: readonly Component[], signal: 'SIGKILL' | 'SIGTERM', holdMs: number): Promise<void> {
  for (const k of keys) cluster.held.add(k);
  try {
    await Promise.all(cs.map((c) => c.stop({ signal, graceMs: 10_000 })));
    await sleep(holdMs);
    for (const c of cs) c.start();
  } finally {
    for (const k of keys) cluster.held.delete(k);
  }
}

async function leaderOrAny(cluster: ChaosCluster): Promise<Replica> {
  return (await cluster.leader()) ?? (cluster.replicas[0] as Replica);
}

/** Waits (up to maxMs) until the replica's extender holds a gang member at its barrier. */
async function gangAtBarrier(r: Replica, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const res = await httpGet(`http://127.0.0.1:${r.extenderPort}/debug/gangs`, undefined, 1000);
    if (res.status === 200) {
      try {
        const gangs = (JSON.parse(res.body) as { gangs: { atBarrier: number; bound: number }[] }).gangs;
        if (gangs.some((g) => g.atBarrier > 0)) return true;
      } catch {
        // not JSON yet
      }
    }
    await sleep(100);
  }
  return false;
}

export async function strike(cluster: ChaosCluster, step: FaultStep): Promise<StruckFault> {
  const { kind, holdMs } = step;
  const base = { index: step.index, kind, holdMs };
  let struckAt = Date.now();
  const done = (target: string, note?: string): StruckFault => ({ ...base, target, struckAt, endedAt: Date.now(), ...(note ? { note } : {}) });
  switch (kind) {
    case 'extender-kill':
    case 'extender-restart':
    case 'extender-freeze':
    case 'scheduler-kill':
    case 'scheduler-freeze': {
      const r = await leaderOrAny(cluster);
      const extender = kind.startsWith('extender-');
      const c = extender ? r.extender : r.scheduler;
      const key = `${extender ? 'extender' : 'scheduler'}-${r.name}` as const;
      if (kind.endsWith('-freeze')) await frozen(c, holdMs);
      else {
        await downFor(cluster, [key], [c], kind === 'extender-restart' ? 'SIGTERM' : 'SIGKILL', holdMs);
        await cluster.waitReplicaReady(r);
      }
      return done(key);
    }
    case 'leader-kill-mid-gang': {
      const r = await leaderOrAny(cluster);
      const waited = await gangAtBarrier(r, 20_000);
      struckAt = Date.now();
      await downFor(cluster, [`scheduler-${r.name}`, `extender-${r.name}`], [r.scheduler, r.extender], 'SIGKILL', holdMs);
      await cluster.waitReplicaReady(r);
      return done(`replica-${r.name}`, waited ? 'a gang was at the barrier' : 'no gang reached the barrier within 20 s');
    }
    case 'apiserver-restart':
      await cluster.cp.restartApiServer({ signal: 'SIGTERM', graceMs: 10_000 });
      return done('kube-apiserver');
    case 'apiserver-kill':
      await cluster.cp.stopApiServer({ signal: 'SIGKILL' });
      await sleep(holdMs);
      await cluster.cp.startApiServer();
      return done('kube-apiserver');
    case 'etcd-kill':
      await cluster.cp.stopEtcd({ signal: 'SIGKILL' });
      await sleep(holdMs);
      await cluster.cp.startEtcd();
      return done('etcd');
    case 'etcd-freeze':
      cluster.cp.signal('etcd', 'SIGSTOP');
      await sleep(holdMs);
      cluster.cp.signal('etcd', 'SIGCONT');
      return done('etcd');
    case 'agent-kill':
    case 'agent-freeze': {
      const a = cluster.agent;
      if (!a) return done('node-resource-manager', 'no node agent (not root)');
      if (kind === 'agent-freeze') await frozen(a, holdMs);
      else await downFor(cluster, ['agent'], [a], 'SIGKILL', holdMs);
      return done('node-resource-manager');
    }
    case 'agent-cutoff':
      cluster.agentProxy.cut();
      await sleep(holdMs);
      cluster.agentProxy.restore();
      return done('node-resource-manager ↔ kube-apiserver');
    case 'webhook-cut':
      cluster.webhookProxy.cut();
      await sleep(holdMs);
      cluster.webhookProxy.restore();
      return done('webhook');
  }
}
