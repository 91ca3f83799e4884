// One reconcile pass with everything around it that is still pure data: desired VGs for the labels, the
// reconcile, the capacity report, and the events the pass gives rise to. Shared by the running agent and the
// offline `--once` mode.

import type { CapacityReport } from '../wire/capacity.js';
import {
  EVENT_REASON_LVM_COMMAND_FAILED,
  EVENT_REASON_PV_CREATED,
  EVENT_REASON_VG_CREATED,
  EVENT_REASON_VG_EXTENDED,
  EVENT_REASON_VG_UNLISTED_PVS,
} from '../wire/keys.js';
import { desiredVolumeGroups, type DesiredVg, type NodeLabels } from './desired.js';
import type { DeviceRefusal } from './model.js';
import { reconcileOnce, type ExecutedAction, type LvmPort, type ReconcileOutcome } from './reconcile.js';
import { buildCapacityReport } from './report.js';
import type { TopologyConfig } from './topology.js';

export interface AgentEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface PassResult {
  readonly desired: readonly DesiredVg[];
  readonly outcome: ReconcileOutcome;
  readonly report: CapacityReport;
  /** Every refusal of the pass (the report's `refused` list, with types). */
  readonly refusals: readonly DeviceRefusal[];
  readonly result: 'converged' | 'refused' | 'failed';
}

export interface PassOptions {
  readonly dryRun?: boolean;
  readonly failed?: ReadonlyMap<string, string>;
}

/** Runs one pass; throws only what LvmPort throws when LVM cannot be read. */
export async function runPass(
  lvm: LvmPort,
  node: string,
  now: () => Date,
  config: TopologyConfig,
  labels: NodeLabels,
  options: PassOptions = {},
): Promise<PassResult> {
  const desired = desiredVolumeGroups(config, labels);
  const outcome = await reconcileOnce(lvm, desired, options);
  const report = buildCapacityReport(node, now(), desired, outcome.lvm, outcome.refusals);
  const anyFailed = outcome.executed.some((e) => e.outcome.kind === 'failed');
  const result = anyFailed ? 'failed' : outcome.refusals.length > 0 ? 'refused' : 'converged';
  return { desired, outcome, report, refusals: outcome.refusals, result };
}

function describe(e: ExecutedAction): AgentEvent | null {
  const { action, outcome } = e;
  if (outcome.kind === 'skipped') return null;
  if (outcome.kind === 'failed') {
    return { type: 'Warning', reason: EVENT_REASON_LVM_COMMAND_FAILED, message: `${e.argv.join(' ')} failed for volume group ${action.vg}: ${outcome.message}` };
  }
  switch (action.verb) {
    case 'pvcreate': return { type: 'Normal', reason: EVENT_REASON_PV_CREATED, message: `created physical volume ${action.device} for volume group ${action.vg}` };
    case 'vgcreate': return { type: 'Normal', reason: EVENT_REASON_VG_CREATED, message: `created volume group ${action.vg} on ${action.device}` };
    case 'vgextend': return { type: 'Normal', reason: EVENT_REASON_VG_EXTENDED, message: `extended volume group ${action.vg} with ${action.device}` };
  }
}

export function refusalKey(r: DeviceRefusal): string {
  return `${r.vg}\u0000${r.device}\u0000${r.reason}`;
}

/**
 * The events of a pass: one per command run (Normal on success, Warning on failure), one Warning per refusal not
 * already refused for the same reason in the previous pass, one Warning per VG whose unlisted PVs changed.
 */
export function passEvents(pass: PassResult, previousRefusals: ReadonlySet<string>, previousUnlisted: ReadonlyMap<string, string>): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const e of pass.outcome.executed) {
    const ev = describe(e);
    if (ev !== null) events.push(ev);
  }
  for (const r of pass.refusals) {
    if (!previousRefusals.has(refusalKey(r))) {
      events.push({ type: 'Warning', reason: r.reason, message: `refused ${r.device} for volume group ${r.vg}: ${r.message}` });
    }
  }
  for (const vg of pass.outcome.plan.vgs) {
    const key = vg.unlistedPvs.join(',');
    if (vg.unlistedPvs.length > 0 && previousUnlisted.get(vg.name) !== key) {
      events.push({
        type: 'Warning',
        reason: EVENT_REASON_VG_UNLISTED_PVS,
        message: `volume group ${vg.name} has physical volumes the configuration does not list (${vg.unlistedPvs.join(', ')}); nothing is removed`,
      });
    }
  }
  return events;
}

export function unlistedByVg(pass: PassResult): Map<string, string> {
  return new Map(pass.outcome.plan.vgs.filter((v) => v.unlistedPvs.length > 0).map((v) => [v.name, v.unlistedPvs.join(',')]));
}
