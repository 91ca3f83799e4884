// A small stand-in for kube-scheduler that calls the extender's HTTP verbs the way the real one
// does: one pod at a time through in-tree checks (its own cache, with assumed pods), filter,
// prioritize, assume, then bind asynchronously while later pods are filtered; a failed bind
// forgets the assumed pod and requeues it with back-off. Time is virtual: `step` advances it.

import { placementVerdict, resourceVerdict, addResources } from '../../src/core/fit.js';
import { toNode, toPod } from '../../src/extender/convert.js';
import type { NodeModel, PodModel, Resources } from '../../src/core/model.js';
import type { TestExtender } from './extender.js';
import { post } from './extender.js';

export interface SimPod {
  obj: Record<string, any>;
  model: PodModel;
  /** Virtual time before which the pod is in back-off. */
  notBeforeMs: number;
  assumedOn: string;
  boundOn: string;
  attempts: number;
}

export interface SimOptions {
  httpTimeoutMs: number;
  stepMs: number;
  backoffMs: number;
}

export class SchedulerSim {
  readonly pods = new Map<string, SimPod>();
  readonly nodes = new Map<string, NodeModel>();
  readonly log: string[] = [];
  private queue: string[] = [];
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly ext: TestExtender, nodes: Record<string, unknown>[], private readonly opts: SimOptions) {
    for (const n of nodes) {
      const m = toNode(n)!;
      this.nodes.set(m.name, m);
    }
  }

  addPod(obj: Record<string, any>): void {
    const model = toPod(obj)!;
    this.pods.set(model.uid, { obj, model, notBeforeMs: 0, assumedOn: '', boundOn: '', attempts: 0 });
    this.queue.push(model.uid);
    this.ext.state.setPod(model);
  }

  deletePod(uid: string): void {
    this.pods.delete(uid);
    this.queue = this.queue.filter((u) => u !== uid);
    this.ext.state.deletePod(uid);
    // A deleted pod is a cluster event: everything unschedulable gets another try.
    for (const p of this.pods.values()) p.notBeforeMs = 0;
  }

  /** What the scheduler's cache counts on a node: bound and assumed pods. */
  private usedOn(node: string): Resources {
    const used: Resources = {};
    for (const p of this.pods.values()) {
      const on = p.boundOn || p.assumedOn;
      if (on === node) {
        addResources(used, p.model.requests, 1);
        used.pods = (used.pods ?? 0) + 1;
      }
    }
    return used;
  }

  /** One scheduling cycle for the next ready pod in the queue, if any. */
  async cycle(nowMs: number): Promise<void> {
    const idx = this.queue.findIndex((u) => (this.pods.get(u)?.notBeforeMs ?? Infinity) <= nowMs);
    if (idx < 0) return;
    const uid = this.queue.splice(idx, 1)[0] as string;
    const p = this.pods.get(uid);
    if (!p) return;
    p.attempts++;
    const feasible = [...this.nodes.values()].filter((n) => placementVerdict(p.model, n).kind === 'fits'
      && resourceVerdict(p.model.requests, n.allocatable, this.usedOn(n.name)).kind === 'fits').map((n) => n.name);
    if (feasible.length === 0) return this.requeue(p, nowMs);
    this.ext.now.ms = nowMs;
    const f = await post(this.ext, 'filter', { Pod: p.obj, Nodes: null, NodeNames: feasible });
    if (f.json.Error || !Array.isArray(f.json.NodeNames) || f.json.NodeNames.length === 0) return this.requeue(p, nowMs);
    for (const n of f.json.NodeNames) if (!feasible.includes(n)) throw new Error(`extender returned ${n}, not in its input`);
    let host = f.json.NodeNames[0] as string;
    if (f.json.NodeNames.length > 1) {
      const pr = await post(this.ext, 'prioritize', { Pod: p.obj, Nodes: null, NodeNames: f.json.NodeNames });
      const best = [...pr.json].sort((a: any, b: any) => b.Score - a.Score || (a.Host < b.Host ? -1 : 1))[0];
      host = best.Host;
    }
    p.assumedOn = host;
    const deadline = nowMs + this.opts.httpTimeoutMs;
    const bind = post(this.ext, 'bind', { PodName: p.model.name, PodNamespace: p.model.namespace, PodUID: p.model.uid, Node: host }).then((r) => {
      const cur = this.pods.get(uid);
      if (!cur) return;
      if (this.ext.now.ms > deadline) {
        // The scheduler gave up on this call; if it was bound anyway it sees nodeName and keeps it.
        if (!r.json.Error) cur.boundOn = host;
        cur.assumedOn = '';
        if (!cur.boundOn) this.requeue(cur, this.ext.now.ms);
        return;
      }
      if (r.json.Error) {
        this.log.push(`bind ${cur.model.name} failed: ${r.json.Error}`);
        cur.assumedOn = '';
        this.requeue(cur, this.ext.now.ms);
      } else {
        cur.boundOn = host;
        cur.assumedOn = '';
      }
    });
    const tracked = bind.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private requeue(p: SimPod, nowMs: number): void {
    p.notBeforeMs = nowMs + Math.min(this.opts.backoffMs * 2 ** Math.min(p.attempts, 4), 10 * this.opts.backoffMs);
    if (!this.queue.includes(p.model.uid)) this.queue.push(p.model.uid);
  }

  /** Lets held binds settle (they resolve on later events or the sweep). */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }

  inflightCount(): number {
    return this.inflight.size;
  }
}
