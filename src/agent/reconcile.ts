// One reconcile: observe LVM and the configured devices, plan, run the planned commands, observe again.
// No Node APIs here: LVM is reached through the LvmPort that agent/adapters/lvm implements.

import type { DesiredVg } from './desired.js';
import type { DeviceProbe, DeviceRefusal, ObservedLvm, ObservedPv, ObservedVg } from './model.js';
import { checkDevicePath } from './paths.js';
import { commandFor, planReconcile, type LvmAction, type ReconcilePlan } from './plan.js';

export type ActionOutcome = { kind: 'ok' } | { kind: 'failed'; message: string };

export interface LvmPort {
  listPvs(): Promise<ObservedPv[]>;
  listVgs(): Promise<ObservedVg[]>;
  /** Probes one configured path; only ever called with paths that passed checkDevicePath. */
  probe(path: string): Promise<DeviceProbe>;
  /** Runs one planned command (argv from commandFor). A non-zero exit is an outcome, not a throw. */
  apply(argv: readonly string[]): Promise<ActionOutcome>;
}

export interface ExecutedAction {
  readonly action: LvmAction;
  readonly argv: readonly string[];
  readonly outcome: ActionOutcome | { kind: 'skipped'; message: string };
}

export interface ReconcileOutcome {
  /** The last plan made (after the last round of commands, what is still to do is in its actions). */
  readonly plan: ReconcilePlan;
  readonly executed: readonly ExecutedAction[];
  /** Refusals of the last plan. */
  readonly refusals: readonly DeviceRefusal[];
  /** LVM as observed at the end. */
  readonly lvm: ObservedLvm;
  /** Canonical device path -> message, for every device a command failed on (input plus new ones). */
  readonly failed: ReadonlyMap<string, string>;
  readonly rounds: number;
}

export interface ReconcileOptions {
  /** Plan and report, run nothing that changes LVM. */
  readonly dryRun?: boolean;
  /** Failures remembered from earlier passes (canonical path -> message). */
  readonly failed?: ReadonlyMap<string, string>;
  /** Bound on plan-run-observe rounds in one reconcile (a failing command makes another round useful). */
  readonly maxRounds?: number;
}

async function observe(lvm: LvmPort, desired: readonly DesiredVg[]): Promise<{ state: ObservedLvm; probes: Map<string, DeviceProbe> }> {
  const [pvs, vgs] = [await lvm.listPvs(), await lvm.listVgs()];
  const probes = new Map<string, DeviceProbe>();
  for (const vg of desired) {
    for (const path of vg.devices) {
      // An unsafe path never reaches any command, not even a read-only probe.
      if (probes.has(path) || checkDevicePath(path).kind !== 'ok') continue;
      probes.set(path, await lvm.probe(path));
    }
  }
  return { state: { pvs, vgs }, probes };
}

function canonicalOf(probes: ReadonlyMap<string, DeviceProbe>, path: string): string {
  const p = probes.get(path);
  return p !== undefined && (p.kind === 'block' || p.kind === 'notBlock') ? p.canonicalPath : path;
}

/**
 * Reconciles LVM towards `desired`. Throws only when LVM cannot be read at all (an internal error: the adapter's
 * LvmError); a failing pvcreate/vgcreate/vgextend becomes a DeviceCommandFailed refusal of that device.
 */
export async function reconcileOnce(lvm: LvmPort, desired: readonly DesiredVg[], options: ReconcileOptions = {}): Promise<ReconcileOutcome> {
  const maxRounds = options.maxRounds ?? 4;
  const failed = new Map(options.failed ?? []);
  const executed: ExecutedAction[] = [];
  let observed = await observe(lvm, desired);
  let plan = planReconcile(desired, observed.state, observed.probes, failed);
  let rounds = 0;
  while (!options.dryRun && plan.actions.length > 0 && rounds < maxRounds) {
    rounds += 1;
    let anyFailed = false;
    const stoppedVgs = new Map<string, string>();
    for (const action of plan.actions) {
      const argv = commandFor(action);
      const stop = stoppedVgs.get(action.vg);
      if (stop !== undefined) {
        executed.push({ action, argv, outcome: { kind: 'skipped', message: stop } });
        continue;
      }
      const outcome = await lvm.apply(argv);
      executed.push({ action, argv, outcome });
      if (outcome.kind === 'failed') {
        anyFailed = true;
        failed.set(canonicalOf(observed.probes, action.device), `${action.verb} failed: ${outcome.message}`);
        // The rest of this VG's commands wait for the next round, planned on what LVM then reports.
        stoppedVgs.set(action.vg, `an earlier command for volume group ${action.vg} failed`);
      }
    }
    observed = await observe(lvm, desired);
    plan = planReconcile(desired, observed.state, observed.probes, failed);
    if (!anyFailed) break;
  }
  return { plan, executed, refusals: plan.refusals, lvm: observed.state, failed, rounds };
}
