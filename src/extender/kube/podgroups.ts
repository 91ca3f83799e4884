// The scheduler-plugins gang dialect on a live cluster: PodGroups (scheduling.x-k8s.io/v1alpha1) are read
// only when the API server serves them. At start the API discovery of the group version is asked; no
// podgroups there (the CRD is not installed) turns the dialect off, said once in the log and in /readyz,
// and discovery is asked again every --podgroup-discovery-ms until they appear. Then a reflector of
// PodGroups feeds ClusterState, a reflector of finished members feeds the status counts, and the status
// writer runs (podgroup-status.ts). A CRD removed later turns the dialect off again.
//
// While it is off, ClusterState knows that no PodGroup can exist: pods naming one are refused with a
// reason saying the CRD is missing (core/dialects.ts), never placed one by one.

import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterState } from '../../core/state.js';
import type { PodGroupModel } from '../../core/model.js';
import { LABEL_SCHEDULER_PLUGINS_POD_GROUP, PODGROUP_API } from '../../wire/keys.js';
import { toPodGroup } from '../convert.js';
import { obj, str } from '../json.js';
import { Reflector, type ListPage, type Sink } from './reflector.js';
import { FinishedMembers, PodGroupStatusWriter } from './podgroup-status.js';

export interface PodGroupDialectOptions {
  discoveryMs: number;
  /** Status write interval per PodGroup; 0 = no write-back. */
  statusMs: number;
  servesScheduler: (schedulerName: string) => boolean;
  /** A PodGroup created or changed after the first list (its pending members may now be placeable). */
  onChange?: (key: string) => void;
}

export interface PodGroupDialect {
  /** ready: the PodGroups are listed (or the dialect is off); detail: what /readyz says about it. */
  readiness(): { ready: boolean; detail: string };
  stop(): void;
}

/** Pods that finished: the complement of the pod reflector's selector (pods are never created without a phase). */
const FINISHED = 'status.phase!=Pending,status.phase!=Running,status.phase!=Unknown';
const API = `${PODGROUP_API.group}/${PODGROUP_API.version}`;

type Discovery = { kind: 'served' } | { kind: 'absent'; why: string } | { kind: 'error'; why: string };

async function discover(api: CustomObjectsApi): Promise<Discovery> {
  try {
    const list = await api.getAPIResources({ group: PODGROUP_API.group, version: PODGROUP_API.version });
    if ((list.resources ?? []).some((r) => r.name === PODGROUP_API.plural)) return { kind: 'served' };
    return { kind: 'absent', why: `${API} is served without ${PODGROUP_API.plural}` };
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 404) return { kind: 'absent', why: `the API server does not serve ${API} (CRD ${PODGROUP_API.crd} not installed)` };
    if (code === 401 || code === 403) return { kind: 'absent', why: `API discovery of ${API} is forbidden (HTTP ${code})` };
    return { kind: 'error', why: `discovery of ${API}: ${(err as Error).message}` };
  }
}

function podGroupSink(state: ClusterState, writer: PodGroupStatusWriter | null, onChange: (key: string) => void): Sink {
  const known = new Set<string>();
  const set = (o: unknown, initial: boolean): void => {
    const m = toPodGroup(o);
    if (!m) return;
    const key = `${m.namespace}/${m.name}`;
    known.add(key);
    writer?.observe(o);
    if (state.setPodGroup(m) && !initial) onChange(key);
  };
  const del = (key: string): void => {
    known.delete(key);
    writer?.forget(key);
    const [ns, name] = key.split('/') as [string, string];
    state.deletePodGroup(ns, name);
  };
  let listed = false;
  return {
    replace(items) {
      const before = new Set(known);
      for (const it of items) set(it, !listed);
      const meta = (it: unknown) => obj(obj(it).metadata);
      const seen = new Set(items.map((it) => `${str(meta(it).namespace) || 'default'}/${str(meta(it).name)}`));
      for (const k of before) if (!seen.has(k)) del(k);
      listed = true;
    },
    upsert: (o) => set(o, false),
    remove(o) {
      const meta = obj(obj(o).metadata);
      del(`${str(meta.namespace) || 'default'}/${str(meta.name)}`);
    },
  };
}

const page = (p: Promise<unknown>): Promise<ListPage> => p as Promise<ListPage>;

/**
 * Watches PodGroups and finished members, and writes PodGroup status; created once the API serves PodGroups.
 * `onUnhealthy`: a watch started failing (the CRD may have been removed).
 */
function startReflectors(kc: KubeConfig, state: ClusterState, logger: Logger, opts: PodGroupDialectOptions, onUnhealthy: () => void): { reflectors: Reflector[]; stop: () => void } {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const finished = new FinishedMembers();
  const writer = opts.statusMs > 0 ? new PodGroupStatusWriter(state, finished, {
    intervalMs: opts.statusMs, clock: Date.now, servesScheduler: opts.servesScheduler, logger,
    patch: (pg: PodGroupModel, body) => custom.patchNamespacedCustomObjectStatus(
      { group: PODGROUP_API.group, version: PODGROUP_API.version, namespace: pg.namespace, plural: PODGROUP_API.plural, name: pg.name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ) as Promise<unknown>,
  }) : null;
  const { group, version, plural } = PODGROUP_API;
  const reflectors = [
    new Reflector(kc, {
      name: 'podgroups', path: `/apis/${group}/${version}/${plural}`, logger, onHealth: (healthy) => { if (!healthy) onUnhealthy(); },
      list: ({ limit, continueToken }) => page(custom.listClusterCustomObject({ group, version, plural, limit, ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: podGroupSink(state, writer, opts.onChange ?? (() => undefined)),
    }),
    new Reflector(kc, {
      name: 'finished podgroup members', path: '/api/v1/pods', logger, fieldSelector: FINISHED, labelSelector: LABEL_SCHEDULER_PLUGINS_POD_GROUP,
      list: ({ limit, continueToken }) => page(core.listPodForAllNamespaces({ limit, fieldSelector: FINISHED, labelSelector: LABEL_SCHEDULER_PLUGINS_POD_GROUP, ...(continueToken ? { _continue: continueToken } : {}) })),
      sink: finished,
    }),
  ];
  for (const r of reflectors) r.start();
  const timer = writer ? setInterval(() => writer.tick(), opts.statusMs) : null;
  timer?.unref();
  return {
    reflectors,
    stop() {
      if (timer) clearInterval(timer);
      for (const r of reflectors) r.stop();
    },
  };
}

export function startPodGroupDialect(kc: KubeConfig, state: ClusterState, logger: Logger, opts: PodGroupDialectOptions): PodGroupDialect {
  const api = kc.makeApiClient(CustomObjectsApi);
  let phase: 'discovering' | 'off' | 'on' = 'discovering';
  let offWhy = '';
  let lastError = '';
  let running: ReturnType<typeof startReflectors> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const every = `re-checked every ${Math.round(opts.discoveryMs / 1000)}s`;

  const turnOff = (why: string): void => {
    running?.stop();
    running = null;
    state.setPodGroupsServed(false);
    if (phase !== 'off') logger.info({ dialect: 'scheduler-plugins' }, `PodGroup dialect off: ${why}; pods labelled ${LABEL_SCHEDULER_PLUGINS_POD_GROUP} are refused until it is served (${every})`);
    phase = 'off';
    offWhy = why;
  };
  const check = async (): Promise<void> => {
    if (stopped) return;
    // While on, discovery is asked again only if the PodGroup watch is failing (the CRD may be gone).
    if (phase === 'on' && running?.reflectors.every((r) => r.healthy)) return;
    const d = await discover(api);
    if (stopped) return;
    if (d.kind === 'error') {
      lastError = d.why;
      if (phase === 'discovering') logger.warn({ err: d.why }, 'PodGroup discovery failed; retrying');
      return;
    }
    lastError = '';
    if (d.kind === 'absent') {
      turnOff(d.why);
      return;
    }
    if (phase === 'on') return;
    state.setPodGroupsServed(true);
    running = startReflectors(kc, state, logger, opts, () => loop());
    phase = 'on';
    logger.info({ dialect: 'scheduler-plugins' }, `PodGroup dialect on: ${API} ${PODGROUP_API.plural} are watched`);
  };
  let checking = false;
  /** Asks discovery now (one question at a time), then again after the period. */
  const loop = (): void => {
    if (checking || stopped) return;
    checking = true;
    if (timer) clearTimeout(timer);
    void check().finally(() => {
      checking = false;
      if (stopped) return;
      // Until the first answer, retry soon: readiness waits for it.
      timer = setTimeout(loop, phase === 'discovering' ? 1000 : opts.discoveryMs);
      timer.unref();
    });
  };
  loop();

  return {
    readiness() {
      if (phase === 'discovering') return { ready: false, detail: `PodGroup discovery pending${lastError ? ` (${lastError})` : ''}` };
      if (phase === 'off') return { ready: true, detail: `PodGroup dialect off: ${offWhy} (${every})` };
      const rs = running?.reflectors ?? [];
      const notSynced = rs.filter((r) => !r.synced).map((r) => r.name);
      if (notSynced.length) return { ready: false, detail: `caches not synced: ${notSynced.join(', ')}` };
      const unhealthy = rs.filter((r) => !r.healthy);
      if (unhealthy.length) return { ready: false, detail: `caches stale: ${unhealthy.map((r) => r.lastError || 'watch down').join('; ')}` };
      return { ready: true, detail: `PodGroup dialect on (${API} ${PODGROUP_API.plural} watched)` };
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      running?.stop();
    },
  };
}
