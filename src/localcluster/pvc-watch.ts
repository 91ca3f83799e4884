// List + watch of every PersistentVolumeClaim, restarted whenever the watch closes (a relist first,
// so nothing changed while it was down is missed).

import { Watch, type KubeConfig, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { sleep } from './processes.js';

export class PvcWatchLoop {
  private readonly watch: Watch;
  private abortWatch: AbortController | undefined;
  private stopped = false;
  /** Resolves when the loop has ended after abort(). */
  readonly done: Promise<void>;

  constructor(
    kubeConfig: KubeConfig,
    /** Lists the claims (and acts on them); returns the list's resourceVersion to watch from. */
    private readonly relist: () => Promise<string | undefined>,
    private readonly onChange: (pvc: V1PersistentVolumeClaim) => void,
    private readonly log: (msg: string) => void,
  ) {
    this.watch = new Watch(kubeConfig);
    this.done = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const resourceVersion = await this.relist();
        await this.watchUntilClosed(resourceVersion);
      } catch (err) {
        this.log(`watch: ${(err as Error).message}`);
      }
      if (!this.stopped) await sleep(300);
    }
  }

  private watchUntilClosed(resourceVersion: string | undefined): Promise<void> {
    return new Promise<void>((resolveClosed) => {
      this.watch
        .watch(
          '/api/v1/persistentvolumeclaims',
          { resourceVersion, allowWatchBookmarks: true },
          (phase: string, obj: V1PersistentVolumeClaim) => {
            if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') this.onChange(obj);
            else if (phase === 'ERROR') this.abortWatch?.abort(); // e.g. 410 Gone: relist
          },
          () => resolveClosed(),
        )
        .then(
          (ac) => {
            this.abortWatch = ac;
            if (this.stopped) ac.abort();
          },
          () => resolveClosed(),
        );
    });
  }

  /** Closes the watch and starts no other. */
  abort(): void {
    this.stopped = true;
    this.abortWatch?.abort();
  }
}
