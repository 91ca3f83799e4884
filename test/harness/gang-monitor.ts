// Watches a namespace for partly bound gangs (0 < bound < min-available) by polling its pods. A
// released barrier's binds are separate API writes issued together, so one poll can land between
// two of them: a single sighting is `transient` (printed); the same gang partly bound in two
// consecutive polls is `persistent`, a real violation.

import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { LABEL_POD_GROUP_MIN_AVAILABLE, LABEL_POD_GROUP_NAME } from '../../src/wire/keys.js';
import { listPods } from '../../src/localcluster/objects.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class GangMonitor {
  polls = 0;
  readonly transient: string[] = [];
  readonly persistent: string[] = [];
  /** First time each pod was seen with a node. */
  readonly firstSeenBound = new Map<string, number>();
  private readonly partialBefore = new Set<string>();
  private running = true;
  private readonly loop: Promise<void>;
  private readonly startedMs = Date.now();

  constructor(private readonly core: CoreV1Api, private readonly ns: string, intervalMs = 150) {
    this.loop = (async () => {
      while (this.running) {
        try {
          this.observe(await listPods(this.core, this.ns));
        } catch {
          // a failed poll observes nothing
        }
        await sleep(intervalMs);
      }
    })();
  }

  private observe(pods: V1Pod[]): void {
    this.polls++;
    const now = Date.now();
    const gangs = new Map<string, { min: number; bound: number }>();
    for (const p of pods) {
      const name = p.metadata?.labels?.[LABEL_POD_GROUP_NAME];
      if (p.spec?.nodeName && !this.firstSeenBound.has(p.metadata?.name ?? '')) this.firstSeenBound.set(p.metadata?.name ?? '', now);
      if (!name) continue;
      const g = gangs.get(name) ?? { min: Number(p.metadata?.labels?.[LABEL_POD_GROUP_MIN_AVAILABLE] ?? '0'), bound: 0 };
      if (p.spec?.nodeName) g.bound++;
      gangs.set(name, g);
    }
    for (const [name, g] of gangs) {
      if (g.bound > 0 && g.bound < g.min) {
        const what = `${name}: ${g.bound} of ${g.min} bound at +${now - this.startedMs} ms`;
        (this.partialBefore.has(name) ? this.persistent : this.transient).push(what);
        this.partialBefore.add(name);
      } else {
        this.partialBefore.delete(name);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  summary(): string {
    return `${this.polls} polls, transient partial sightings: ${this.transient.length ? this.transient.join('; ') : 'none'}`;
  }
}
