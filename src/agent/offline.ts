// Offline mode (`--config-file FILE --node-name NAME --node-labels k=v --once`): one pass without an API server,
// and the JSON report it prints. The exit code is non-zero only for an internal error or an unusable
// configuration, never for refused devices (the report says so instead).

import type { CapacityReport } from '../wire/capacity.js';
import type { NodeLabels } from './desired.js';
import { runPass, type PassResult } from './pass.js';
import { commandFor } from './plan.js';
import type { LvmPort } from './reconcile.js';
import { parseTopologyConfig } from './topology.js';

export interface OfflineReport {
  /** True when the pass ran; false for an unusable configuration or an internal error. */
  readonly ok: boolean;
  readonly node: string;
  readonly configFile: string;
  readonly dryRun: boolean;
  readonly labels: NodeLabels;
  /** Configuration problems: errors (nothing ran) or warnings. */
  readonly configErrors: readonly string[];
  readonly configWarnings: readonly string[];
  /** Entries of the configuration that selected this node. */
  readonly matchedVolumeGroups: readonly { name: string; devices: readonly string[]; entryIndex: number }[];
  /** The capacity report as it would be published (VGs, PVs, refused devices). */
  readonly capacity: CapacityReport | null;
  readonly refusedCount: number;
  readonly commands: readonly { argv: readonly string[]; outcome: string; message?: string }[];
  /** With --dry-run: the commands that would run. */
  readonly planned: readonly (readonly string[])[];
  readonly unlistedPvs: Readonly<Record<string, readonly string[]>>;
  readonly error: string | null;
}

export type OfflineOutcome = { exitCode: 0 | 1 | 2; report: OfflineReport };

function base(node: string, configFile: string, dryRun: boolean, labels: NodeLabels): OfflineReport {
  return {
    ok: false, node, configFile, dryRun, labels, configErrors: [], configWarnings: [], matchedVolumeGroups: [],
    capacity: null, refusedCount: 0, commands: [], planned: [], unlistedPvs: {}, error: null,
  };
}

function fromPass(r: OfflineReport, pass: PassResult, warnings: readonly string[]): OfflineReport {
  return {
    ...r,
    ok: true,
    configWarnings: warnings,
    matchedVolumeGroups: pass.desired.map((d) => ({ name: d.name, devices: d.devices, entryIndex: d.entryIndex })),
    capacity: pass.report,
    refusedCount: pass.refusals.length,
    commands: pass.outcome.executed.map((e) => ({
      argv: e.argv,
      outcome: e.outcome.kind,
      ...(e.outcome.kind === 'ok' ? {} : { message: e.outcome.message }),
    })),
    planned: r.dryRun ? pass.outcome.plan.actions.map(commandFor) : [],
    unlistedPvs: Object.fromEntries(pass.outcome.plan.vgs.filter((v) => v.unlistedPvs.length > 0).map((v) => [v.name, v.unlistedPvs])),
  };
}

/** Runs the offline pass. Exit 0: the pass ran (devices may be refused); 2: the configuration is unusable, nothing ran; 1: internal error. */
export async function runOffline(
  lvm: LvmPort,
  input: { node: string; configFile: string; configText: string; labels: NodeLabels; dryRun: boolean; now: () => Date },
): Promise<OfflineOutcome> {
  const r = base(input.node, input.configFile, input.dryRun, input.labels);
  const parsed = parseTopologyConfig(input.configText);
  if (parsed.kind === 'invalid') return { exitCode: 2, report: { ...r, configErrors: parsed.errors } };
  try {
    const pass = await runPass(lvm, input.node, input.now, parsed.config, input.labels, { dryRun: input.dryRun });
    return { exitCode: 0, report: fromPass(r, pass, parsed.warnings) };
  } catch (err) {
    return { exitCode: 1, report: { ...r, configWarnings: parsed.warnings, error: (err as Error).message } };
  }
}
