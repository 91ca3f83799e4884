// Which VolumeGroups this node should have: the topology entries whose label selector matches the node's
// labels (ACK NodeFilter semantics, lvm-anchors 2.1). Pure.

import type { TopologyConfig, VolumeGroupEntry } from './topology.js';

export type NodeLabels = Readonly<Record<string, string>>;

export interface DesiredVg {
  readonly name: string;
  /** Device paths as written in the winning entry. */
  readonly devices: readonly string[];
  /** Index of the entry that defines it. */
  readonly entryIndex: number;
}

/**
 * Whether one entry selects a node with these labels. In: label present and equal; NotIn: label absent or
 * different; Exists: label present (value ignored); DoesNotExist: label absent.
 */
export function entryMatches(entry: Pick<VolumeGroupEntry, 'key' | 'operator' | 'value'>, labels: NodeLabels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, entry.key);
  const value = has ? labels[entry.key] : undefined;
  switch (entry.operator) {
    case 'In': return has && value === entry.value;
    case 'NotIn': return !has || value !== entry.value;
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
  }
}

/** Desired VGs in first-appearance order; of several matching entries with one name the last one wins. */
export function desiredVolumeGroups(config: TopologyConfig, labels: NodeLabels): DesiredVg[] {
  const byName = new Map<string, DesiredVg>();
  for (const entry of config.entries) {
    if (!entryMatches(entry, labels)) continue;
    // Map.set on an existing key keeps the first insertion position: order stays stable across relabels.
    byName.set(entry.name, { name: entry.name, devices: entry.devices, entryIndex: entry.index });
  }
  return [...byName.values()];
}
