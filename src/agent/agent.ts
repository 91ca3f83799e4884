// The running node agent: holds the last good topology configuration and the node's labels, reconciles on every
// trigger (start, configuration change, label change, timer), publishes the capacity report and events, and keeps
// working from its on-disk cache while the API server is unreachable (issue 5, edge autonomy).
//
// No Node APIs: the kube adapter, the disk cache, metrics and LVM come in as ports; cmd/ wires them.

import type { CapacityReport } from '../wire/capacity.js';
import { EVENT_REASON_TOPOLOGY_CONFIG_APPLIED, EVENT_REASON_TOPOLOGY_CONFIG_INVALID } from '../wire/keys.js';
import type { NodeLabels } from './desired.js';
import { passEvents, refusalKey, runPass, unlistedByVg, type AgentEvent, type PassResult } from './pass.js';
import type { LvmPort } from './reconcile.js';
import { reportContentKey } from './report.js';
import { parseTopologyConfig, type TopologyConfig } from './topology.js';

/** The pino subset the agent logs with. */
export interface AgentLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CachedState {
  /** The last good topology configuration, as text (the bare `volumegroup:` YAML). */
  readonly configText: string | null;
  readonly labels: NodeLabels | null;
}

/** The node's disk: where the last good configuration and labels survive restarts and API outages. */
export interface StateCachePort {
  load(): Promise<CachedState>;
  saveConfig(text: string): Promise<void>;
  saveLabels(labels: NodeLabels): Promise<void>;
}

/** The API server. Both methods throw when it cannot be reached; the agent retries. */
export interface PublisherPort {
  publishCapacity(report: CapacityReport): Promise<void>;
  recordEvent(event: AgentEvent): Promise<void>;
}

export interface MetricsPort {
  onPass(pass: PassResult | null, result: 'converged' | 'refused' | 'failed' | 'error'): void;
  onApiReachable(reachable: boolean): void;
  onConfigValid(valid: boolean): void;
}

export interface AgentSettings {
  readonly nodeName: string;
  readonly dryRun: boolean;
  /** Republish an unchanged report after this long (the extender treats old reports as stale). */
  readonly heartbeatIntervalMs: number;
  /** A device a command failed on is refused, not retried, for this long. */
  readonly failureRetryMs: number;
  /** Events kept while the API server is unreachable; older ones are dropped first. */
  readonly maxQueuedEvents: number;
}

export interface AgentPorts {
  readonly lvm: LvmPort;
  readonly cache: StateCachePort | null;
  readonly publisher: PublisherPort | null;
  readonly metrics: MetricsPort | null;
  readonly log: AgentLog;
  readonly now: () => Date;
}

export type ConfigSource = 'api' | 'file' | 'cache';
export type OfferResult = { kind: 'applied' } | { kind: 'unchanged' } | { kind: 'rejected'; errors: readonly string[] };

interface GoodConfig {
  readonly text: string;
  readonly config: TopologyConfig;
  readonly source: ConfigSource;
}

export class NodeAgent {
  private config: GoodConfig | null = null;
  private labels: NodeLabels | null = null;
  private lastRejectedText: string | null = null;
  private failures = new Map<string, { message: string; atMs: number }>();
  private previousRefusals = new Set<string>();
  private previousUnlisted = new Map<string, string>();
  private latestReport: CapacityReport | null = null;
  private published: { key: string; atMs: number } | null = null;
  private readonly events: AgentEvent[] = [];
  private droppedEvents = 0;
  private apiReachable: boolean | null = null;
  private running: Promise<PassResult | null> | null = null;
  private rerun: string | null = null;
  private lastPass: PassResult | null = null;
  private publishing: Promise<void> | null = null;
  private publishAgain = false;

  constructor(private readonly ports: AgentPorts, private readonly settings: AgentSettings) {}

  /** The configuration in force, or null before the first good one. */
  currentConfig(): { config: TopologyConfig; source: ConfigSource } | null {
    return this.config === null ? null : { config: this.config.config, source: this.config.source };
  }

  currentLabels(): NodeLabels | null {
    return this.labels;
  }

  lastResult(): PassResult | null {
    return this.lastPass;
  }

  queuedEvents(): readonly AgentEvent[] {
    return this.events;
  }

  isApiReachable(): boolean | null {
    return this.apiReachable;
  }

  /** Reads the cache (nothing is applied: see applyCacheFallback). A cache that cannot be read counts as empty. */
  async readCache(): Promise<CachedState> {
    if (this.ports.cache === null) return { configText: null, labels: null };
    try {
      return await this.ports.cache.load();
    } catch (err) {
      this.ports.log.warn({ err }, 'cannot read the state cache; going on without it');
      return { configText: null, labels: null };
    }
  }

  /**
   * Puts the cached configuration and labels in force where no live (or earlier) one is: at start when the API
   * server has not answered in time, or in place of a live configuration that is invalid.
   */
  applyCacheFallback(state: CachedState): void {
    if (state.configText !== null && this.config === null) this.offerConfig(state.configText, 'cache');
    if (state.labels !== null && this.labels === null) this.offerLabels(state.labels, 'cache');
  }

  /**
   * Offers a configuration text (null: the ConfigMap or its key is absent, i.e. nothing to manage). A valid one
   * replaces the configuration in force and triggers a reconcile; an invalid one is reported and changes nothing.
   */
  offerConfig(text: string | null, source: ConfigSource): OfferResult {
    const effective = text ?? '';
    if (this.config !== null && this.config.text === effective) {
      if (source !== 'cache' && this.config.source === 'cache') this.config = { ...this.config, source };
      return { kind: 'unchanged' };
    }
    const parsed = parseTopologyConfig(effective);
    if (parsed.kind === 'invalid') {
      this.ports.metrics?.onConfigValid(false);
      if (this.lastRejectedText !== effective) {
        this.lastRejectedText = effective;
        this.ports.log.error({ source, errors: parsed.errors, inForce: this.config?.source ?? null }, 'topology configuration rejected; the last good one stays in force');
        this.queueEvent({
          type: 'Warning',
          reason: EVENT_REASON_TOPOLOGY_CONFIG_INVALID,
          message: `topology configuration from ${source} rejected (${this.config === null ? 'no configuration in force' : 'the last good one stays in force'}): ${parsed.errors.slice(0, 5).join('; ')}`,
        });
      }
      return { kind: 'rejected', errors: parsed.errors };
    }
    this.ports.metrics?.onConfigValid(true);
    this.lastRejectedText = null;
    const changed = this.config !== null;
    this.config = { text: effective, config: parsed.config, source };
    this.failures.clear();
    for (const w of parsed.warnings) this.ports.log.warn({ source }, w);
    this.ports.log.info({ source, entries: parsed.config.entries.length }, 'topology configuration in force');
    if (source !== 'cache') {
      if (changed) {
        this.queueEvent({ type: 'Normal', reason: EVENT_REASON_TOPOLOGY_CONFIG_APPLIED, message: `topology configuration from ${source} applied: ${parsed.config.entries.length} entries` });
      }
      if (source === 'api') this.saveConfig(effective);
    }
    void this.requestReconcile(`config from ${source}`);
    return { kind: 'applied' };
  }

  /** Offers the node's labels; a change triggers a reconcile. */
  offerLabels(labels: NodeLabels, source: ConfigSource): boolean {
    const next = Object.freeze({ ...labels });
    if (this.labels !== null && sameLabels(this.labels, next)) return false;
    this.labels = next;
    this.ports.log.info({ source }, 'node labels in force');
    if (source === 'api' && this.ports.cache !== null) {
      this.ports.cache.saveLabels(next).catch((err: unknown) => this.ports.log.warn({ err }, 'cannot cache node labels'));
    }
    void this.requestReconcile(`labels from ${source}`);
    return true;
  }

  private saveConfig(text: string): void {
    if (this.ports.cache === null) return;
    this.ports.cache.saveConfig(text).catch((err: unknown) => this.ports.log.warn({ err }, 'cannot cache the topology configuration'));
  }

  /**
   * Runs a pass now, or once more after the one running (triggers arriving meanwhile coalesce into one).
   * Resolves with that pass, or null when there is no configuration or no labels yet.
   */
  requestReconcile(trigger: string): Promise<PassResult | null> {
    if (this.running !== null) {
      this.rerun = trigger;
      return this.running;
    }
    this.running = this.loop(trigger);
    return this.running;
  }

  private async loop(trigger: string): Promise<PassResult | null> {
    let result: PassResult | null = null;
    let next: string | null = trigger;
    try {
      while (next !== null) {
        this.rerun = null;
        try {
          result = await this.pass(next);
        } catch (err) {
          this.ports.log.error({ err, trigger: next }, 'reconcile pass failed unexpectedly');
          result = null;
        }
        next = this.rerun;
      }
    } finally {
      // Synchronously after the last check of `rerun`: a trigger arriving later starts a new loop.
      this.running = null;
    }
    return result;
  }

  /** Waits until no pass is running. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private activeFailures(nowMs: number): Map<string, string> {
    const out = new Map<string, string>();
    for (const [device, f] of this.failures) {
      if (nowMs - f.atMs < this.settings.failureRetryMs) out.set(device, f.message);
      else this.failures.delete(device);
    }
    return out;
  }

  private async pass(trigger: string): Promise<PassResult | null> {
    const { log } = this.ports;
    if (this.config === null || this.labels === null) {
      log.debug({ trigger, haveConfig: this.config !== null, haveLabels: this.labels !== null }, 'not reconciling yet: waiting for configuration and node labels');
      return null;
    }
    const nowMs = this.ports.now().getTime();
    let pass: PassResult;
    try {
      pass = await runPass(this.ports.lvm, this.settings.nodeName, this.ports.now, this.config.config, this.labels, {
        dryRun: this.settings.dryRun,
        failed: this.activeFailures(nowMs),
      });
    } catch (err) {
      log.error({ err, trigger }, 'reconcile failed: LVM could not be read');
      this.ports.metrics?.onPass(null, 'error');
      return null;
    }
    for (const [device, message] of pass.outcome.failed) {
      if (!this.failures.has(device)) this.failures.set(device, { message, atMs: nowMs });
    }
    for (const ev of passEvents(pass, this.previousRefusals, this.previousUnlisted)) this.queueEvent(ev);
    this.previousRefusals = new Set(pass.refusals.map(refusalKey));
    this.previousUnlisted = unlistedByVg(pass);
    this.lastPass = pass;
    this.latestReport = pass.report;
    this.ports.metrics?.onPass(pass, pass.result);
    log.info({
      trigger,
      result: pass.result,
      configSource: this.config.source,
      vgs: pass.report.vgs.map((v) => ({ name: v.name, sizeBytes: v.sizeBytes, freeBytes: v.freeBytes, pvs: v.pvs.length })),
      refused: pass.refusals.map((r) => `${r.vg}:${r.device}:${r.reason}`),
      commands: pass.outcome.executed.map((e) => `${e.argv.join(' ')} => ${e.outcome.kind}`),
      planned: this.settings.dryRun ? pass.outcome.plan.actions.length : undefined,
    }, 'reconciled');
    await this.publish();
    return pass;
  }

  private queueEvent(ev: AgentEvent): void {
    if (ev.type === 'Warning') this.ports.log.warn({ reason: ev.reason }, ev.message);
    else this.ports.log.info({ reason: ev.reason }, ev.message);
    this.events.push(ev);
    while (this.events.length > this.settings.maxQueuedEvents) {
      this.events.shift();
      this.droppedEvents += 1;
    }
  }

  private setReachable(reachable: boolean, err?: unknown): void {
    if (this.apiReachable === reachable) return;
    this.apiReachable = reachable;
    this.ports.metrics?.onApiReachable(reachable);
    if (reachable) this.ports.log.info({}, 'API server reachable: publishing');
    else this.ports.log.warn({ err }, 'API server unreachable: reconciling from the cached configuration; will publish when it is back');
  }

  /** Tells the agent the API server answered (e.g. a watch reconnected): publish what is pending now. */
  async apiIsBack(): Promise<void> {
    this.setReachable(true);
    await this.publish();
  }

  /** True when a report or events wait to be published. */
  hasPending(): boolean {
    return this.events.length > 0 || this.capacityDue();
  }

  private capacityDue(): boolean {
    if (this.latestReport === null) return false;
    if (this.published === null) return true;
    if (this.published.key !== reportContentKey(this.latestReport)) return true;
    return this.ports.now().getTime() - this.published.atMs >= this.settings.heartbeatIntervalMs;
  }

  /**
   * Publishes queued events, then the capacity report if it changed or the heartbeat is due. Stops at the first
   * failure (the API server is then taken as unreachable; what is unsent stays queued). One publish at a time:
   * a call during one waits for it and then publishes once more.
   */
  publish(): Promise<void> {
    if (this.publishing !== null) {
      this.publishAgain = true;
      return this.publishing;
    }
    this.publishing = (async () => {
      try {
        do {
          this.publishAgain = false;
          await this.publishOnce();
        } while (this.publishAgain);
      } finally {
        this.publishing = null;
      }
    })();
    return this.publishing;
  }

  private async publishOnce(): Promise<void> {
    const publisher = this.ports.publisher;
    if (publisher === null) {
      this.events.length = 0;
      return;
    }
    if (this.droppedEvents > 0) {
      this.ports.log.warn({ dropped: this.droppedEvents }, 'events dropped while the API server was unreachable');
      this.droppedEvents = 0;
    }
    while (this.events.length > 0) {
      const ev = this.events[0] as AgentEvent;
      try {
        await publisher.recordEvent(ev);
      } catch (err) {
        this.setReachable(false, err);
        return;
      }
      this.events.shift();
      this.setReachable(true);
    }
    if (!this.capacityDue() || this.latestReport === null) return;
    const report = this.latestReport;
    try {
      await publisher.publishCapacity(report);
    } catch (err) {
      this.setReachable(false, err);
      return;
    }
    this.setReachable(true);
    this.published = { key: reportContentKey(report), atMs: this.ports.now().getTime() };
    this.ports.log.debug({ updatedAt: report.updatedAt }, 'capacity report published');
  }
}

function sameLabels(a: NodeLabels, b: NodeLabels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}
