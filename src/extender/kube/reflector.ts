// List-then-watch of one resource into a sink, with resume from the last resourceVersion, relist on
// 410 Gone, and back-off on errors. Written on @kubernetes/client-node's Watch instead of its
// informer because the informer keeps every full object in its own cache: at 150,000 pods that is
// gigabytes, while the sink keeps only the compact model the core needs.

import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface ListPage {
  items: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
}

export interface Sink {
  /** Replace everything with this full list (after a list or relist). */
  replace(items: unknown[]): void;
  upsert(obj: unknown): void;
  remove(obj: unknown): void;
}

export interface ReflectorOptions {
  name: string;
  /** Watch path, e.g. /api/v1/pods. */
  path: string;
  list: (opts: { limit: number; continueToken?: string }) => Promise<ListPage>;
  fieldSelector?: string;
  /** Passed to the watch as is; the list function applies its own. */
  labelSelector?: string;
  pageSize?: number;
  sink: Sink;
  logger: Logger;
  /** Called whenever health changes. */
  onHealth?: (healthy: boolean) => void;
}

export class Reflector {
  synced = false;
  healthy = false;
  lastError = '';
  private resourceVersion = '';
  private abort: AbortController | null = null;
  private stopped = false;
  private backoffMs = 500;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly kc: KubeConfig, private readonly opts: ReflectorOptions) {}

  get name(): string {
    return this.opts.name;
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  private setHealth(h: boolean, err = ''): void {
    this.lastError = err;
    if (h !== this.healthy) {
      this.healthy = h;
      this.opts.onHealth?.(h);
    }
  }

  private retry(fn: () => void): void {
    if (this.stopped) return;
    const delay = this.backoffMs;
    // Capped low: while a watch is down the extender is not ready, and that stops all scheduling.
    this.backoffMs = Math.min(this.backoffMs * 2, 5_000);
    this.timer = setTimeout(fn, delay);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const items: unknown[] = [];
      let cont: string | undefined;
      let rv = '';
      do {
        const page = await this.opts.list({ limit: this.opts.pageSize ?? 2000, ...(cont ? { continueToken: cont } : {}) });
        items.push(...page.items);
        rv = page.metadata?.resourceVersion ?? rv;
        cont = page.metadata?._continue || page.metadata?.continue || undefined;
      } while (cont);
      if (this.stopped) return;
      this.opts.sink.replace(items);
      this.resourceVersion = rv;
      this.synced = true;
      this.backoffMs = 500;
      this.opts.logger.debug({ reflector: this.opts.name, count: items.length, rv }, 'listed');
      await this.watch();
    } catch (err) {
      this.setHealth(false, `list ${this.opts.name}: ${(err as Error).message}`);
      this.opts.logger.warn({ reflector: this.opts.name, err: (err as Error).message }, 'list failed; retrying');
      this.retry(() => void this.relist());
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const w = new Watch(this.kc);
    let gone = false;
    let ended = false;
    const params: Record<string, string | boolean> = { allowWatchBookmarks: true, resourceVersion: this.resourceVersion };
    if (this.opts.fieldSelector) params.fieldSelector = this.opts.fieldSelector;
    if (this.opts.labelSelector) params.labelSelector = this.opts.labelSelector;
    try {
      this.abort = await w.watch(
        this.opts.path,
        params,
        (phase, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
          if (phase === 'ERROR') {
            if (obj?.code === 410) gone = true;
            return;
          }
          const rv = obj?.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (phase === 'ADDED' || phase === 'MODIFIED') this.opts.sink.upsert(obj);
          else if (phase === 'DELETED') this.opts.sink.remove(obj);
        },
        (err: unknown) => {
          ended = true;
          if (this.stopped) return;
          if (gone || (err as { statusCode?: number })?.statusCode === 410) {
            this.opts.logger.info({ reflector: this.opts.name }, 'watch expired (410); relisting');
            this.setHealth(false, `${this.opts.name}: watch expired`);
            void this.relist();
            return;
          }
          if (err) {
            this.setHealth(false, `watch ${this.opts.name}: ${(err as Error).message ?? String(err)}`);
            this.opts.logger.warn({ reflector: this.opts.name, err: (err as Error).message }, 'watch ended with error; relisting');
            this.retry(() => void this.relist());
          } else {
            // The server closed a healthy watch (timeout): resume from the last version.
            void this.watch();
          }
        },
      );
      // Watch.watch() resolves even when the request failed (refused, non-200): it has then already
      // called `done` above, which marked us unhealthy and scheduled a relist. Only a running watch is healthy.
      if (!ended) this.setHealth(true);
    } catch (err) {
      this.setHealth(false, `watch ${this.opts.name}: ${(err as Error).message}`);
      this.retry(() => void this.relist());
    }
  }
}
