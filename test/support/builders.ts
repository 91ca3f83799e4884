// Fluent builders of Kubernetes JSON for unit tests: makePod('w-0').group('tf', 5).gpu(2).
// They are the local cluster's builders (src/localcluster/builders.ts); here build() is typed as loose
// JSON, since unit tests hand the objects to the decoders as JSON and read them field by field, and
// makePvc keeps the one-call form (name, size, options) of the unit tests.

import * as lc from '../../src/localcluster/builders.js';

type Obj = Record<string, any>;

export { GiB, MiB } from '../../src/localcluster/builders.js';

export class PodBuilder extends lc.PodBuilder {
  override build(): Obj {
    return super.build() as Obj;
  }
  /** The object as built so far (a copy). */
  get obj(): Obj {
    return this.build();
  }
}
export const makePod = (name: string) => new PodBuilder(name);

export class NodeBuilder extends lc.NodeBuilder {
  override build(): Obj {
    return super.build() as Obj;
  }
}
export const makeNode = (name: string) => new NodeBuilder(name);

export function makePvc(name: string, storage: string, opts: { ns?: string; sc?: string; selectedNode?: string; volumeName?: string } = {}): Obj {
  const b = lc.makePvc(name, storage);
  if (opts.ns !== undefined) b.ns(opts.ns);
  if (opts.sc !== undefined) b.storageClass(opts.sc);
  if (opts.selectedNode) b.selectedNode(opts.selectedNode);
  if (opts.volumeName) b.volumeName(opts.volumeName);
  return b.build() as Obj;
}

export const makePv = (...args: Parameters<typeof lc.makePv>): Obj => lc.makePv(...args) as Obj;

export const makeLocalStorageClass = (...args: Parameters<typeof lc.makeLocalStorageClass>): Obj => lc.makeLocalStorageClass(...args) as Obj;

export const makePodGroup = (...args: Parameters<typeof lc.makePodGroup>): Obj => lc.makePodGroup(...args) as Obj;
