// A one-worker queue keyed by string (a controller's workqueue in miniature): a key queued while it
// waits is queued once, keys are handled one at a time in arrival order, and a failed key is retried.

export class KeyedQueue {
  private readonly keys = new Set<string>();
  private inFlight = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private workerDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly onRetry: (key: string, err: Error) => void,
    private readonly retryMs = 500,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.keys.add(key);
    if (!this.inFlight) this.workerDone = this.work();
  }

  private async work(): Promise<void> {
    this.inFlight = true;
    while (this.keys.size > 0 && !this.stopped) {
      const key = this.keys.values().next().value as string;
      this.keys.delete(key);
      try {
        await this.handle(key);
      } catch (err) {
        this.onRetry(key, err as Error);
        setTimeout(() => this.add(key), this.retryMs).unref();
      }
    }
    this.inFlight = false;
    for (const w of this.idleWaiters) w();
    this.idleWaiters = [];
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    return this.inFlight || this.keys.size > 0 ? new Promise<void>((r) => this.idleWaiters.push(r)) : Promise.resolve();
  }

  /** Takes no more keys (at once) and resolves when the key in flight is done. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.workerDone;
  }
}
