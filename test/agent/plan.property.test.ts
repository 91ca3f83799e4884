// Safety properties of the planner over generated configurations, LVM states and device probes, including
// relative paths, '..', shell metacharacters, duplicates, symlinks to one device, and devices in other VGs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DesiredVg } from '../../src/agent/desired.js';
import type { DeviceProbe, ObservedLvm, ObservedPv } from '../../src/agent/model.js';
import { checkDevicePath } from '../../src/agent/paths.js';
import { MUTATING_VERBS, commandFor, planReconcile } from '../../src/agent/plan.js';

const CANONICAL = ['/dev/sda', '/dev/sdb', '/dev/sdc', '/dev/sdd', '/dev/loop0', '/dev/loop1', '/dev/nvme0n1'];
const VG_NAMES = ['volumegroup1', 'volumegroup2', 'vg3'];
const FORBIDDEN = ['vgremove', 'vgreduce', 'pvremove', 'lvremove', 'wipefs', 'dd', 'mkfs', '-f', '-ff', '-y', '--force', '--yes', '-a'];

const pathArb = fc.oneof(
  fc.constantFrom(...CANONICAL),
  fc.constantFrom(...CANONICAL).map((p) => `/dev/disk/by-id/${p.slice(5)}`),
  fc.constantFrom('sdb', 'dev/sdb', './sdb', '../dev/sdb', '/dev/../dev/sdb', '/dev/./sdb', '/dev//sdb', '/dev/sdb/'),
  fc.tuple(fc.constantFrom(...CANONICAL), fc.constantFrom(';', '&&', '|', '$(', '`', ' ', '\n', '>', '*', '\'', '"', '\\', '#'), fc.string({ maxLength: 8 }))
    .map(([p, m, s]) => `${p}${m}${s}`),
  fc.string({ maxLength: 20 }),
  fc.string({ maxLength: 20 }).map((s) => `/dev/${s}`),
);

const sigArb = fc.option(fc.record({
  type: fc.constantFrom(null, 'ext4', 'xfs', 'swap', 'LVM2_member', 'crypto_LUKS'),
  usage: fc.constantFrom(null, 'filesystem', 'raid', 'other'),
  ptType: fc.constantFrom(null, null, 'dos', 'gpt'),
  uuid: fc.constantFrom(null, 'uuid-a', 'uuid-b'),
  ambivalent: fc.boolean(),
}), { nil: null });

const probeArb: fc.Arbitrary<DeviceProbe> = fc.oneof(
  // Blank disks are weighted up, so that creating and extending is exercised as much as refusing.
  { arbitrary: fc.constantFrom(...CANONICAL).map((c): DeviceProbe => ({ kind: 'block', canonicalPath: c, deviceType: 'disk', sizeBytes: 1 << 30, signature: null, children: [], mountpoint: null })), weight: 4 },
  fc.constant<DeviceProbe>({ kind: 'missing', detail: '' }),
  fc.constant<DeviceProbe>({ kind: 'failed', detail: 'x' }),
  fc.constantFrom(...CANONICAL).map((c): DeviceProbe => ({ kind: 'notBlock', canonicalPath: c, detail: '' })),
  fc.record({
    canonicalPath: fc.constantFrom(...CANONICAL),
    deviceType: fc.constantFrom('disk', 'disk', 'loop', 'part', 'rom', 'lvm'),
    signature: sigArb,
    children: fc.array(fc.record({ name: fc.constantFrom('c1', 'c2'), type: fc.constantFrom('part', 'lvm', 'crypt') }), { maxLength: 2 }),
    mountpoint: fc.constantFrom(null, null, '/mnt'),
  }).map((b): DeviceProbe => ({ kind: 'block', sizeBytes: 1 << 30, ...b })),
);

const scenarioArb = fc.record({
  desired: fc.uniqueArray(
    fc.record({ name: fc.constantFrom(...VG_NAMES), devices: fc.array(pathArb, { maxLength: 6 }) }),
    { maxLength: 3, selector: (v) => v.name },
  ),
  pvs: fc.uniqueArray(
    fc.record({ canonicalName: fc.constantFrom(...CANONICAL), vgName: fc.constantFrom('', 'othervg', ...VG_NAMES), uuid: fc.constantFrom('', 'uuid-a', 'uuid-b') }),
    { maxLength: 5, selector: (p) => p.canonicalName },
  ),
  vgs: fc.subarray([...VG_NAMES, 'othervg']),
  probeFor: fc.func(probeArb),
  failed: fc.subarray(CANONICAL, { maxLength: 2 }),
});

describe('planReconcile properties', () => {
  it('only runs pvcreate/vgcreate/vgextend, with no option but "--", on listed safe absolute paths of that VG, each device added once and only if usable', () => {
    const seen = { pvcreate: 0, vgcreate: 0, vgextend: 0, refusals: 0 };
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const desired: DesiredVg[] = s.desired.map((d, i) => ({ name: d.name, devices: d.devices, entryIndex: i }));
        const pvs: ObservedPv[] = s.pvs.map((p) => ({ name: p.canonicalName, canonicalName: p.canonicalName, vgName: p.vgName, uuid: p.uuid, sizeBytes: 1, freeBytes: 1 }));
        const lvm: ObservedLvm = { pvs, vgs: s.vgs.map((name) => ({ name, uuid: '', sizeBytes: 1, freeBytes: 1, pvCount: 1 })) };
        const probes = new Map<string, DeviceProbe>();
        for (const d of desired) for (const p of d.devices) probes.set(p, s.probeFor(p));
        const plan = planReconcile(desired, lvm, probes, new Map(s.failed.map((f) => [f, 'failed before'])));

        for (const a of plan.actions) seen[a.verb] += 1;
        seen.refusals += plan.refusals.length;
        const added = new Map<string, string>();
        const pvcreated = new Set<string>();
        const created = new Set<string>();
        for (const action of plan.actions) {
          const argv = commandFor(action);
          // 1. verbs and flags
          expect(MUTATING_VERBS).toContain(argv[0]);
          expect(argv[1]).toBe('--');
          for (const token of argv) expect(FORBIDDEN).not.toContain(token);
          expect(argv.slice(2).every((t) => !t.startsWith('-'))).toBe(true);
          // 2. the device is a listed, safe, absolute path of that VG's entry
          const entry = desired.find((d) => d.name === action.vg);
          expect(entry?.devices).toContain(action.device);
          expect(checkDevicePath(action.device).kind).toBe('ok');
          expect(action.device.startsWith('/')).toBe(true);
          const p = probes.get(action.device);
          expect(p?.kind).toBe('block');
          if (p?.kind !== 'block') continue;
          const pv = pvs.find((x) => x.canonicalName === p.canonicalPath) ?? (p.signature?.type === 'LVM2_member' && p.signature.uuid ? pvs.find((x) => x.uuid === p.signature?.uuid) : undefined);
          // 3. never a device in another VG, never one that failed before
          expect(pv === undefined || pv.vgName === '').toBe(true);
          expect(s.failed).not.toContain(p.canonicalPath);
          if (action.verb === 'pvcreate') {
            // 4. pvcreate only on a device with no signature, partition, holder or mount
            // (blkid exit 0 with no TYPE/USAGE/PTTYPE, e.g. only PART_ENTRY_* of a blank partition, is blank)
            const sig = p.signature;
            expect(sig === null || (sig.type === null && sig.usage === null && sig.ptType === null && !sig.ambivalent)).toBe(true);
            expect(p.children).toEqual([]);
            expect(p.mountpoint).toBeNull();
            expect(pv).toBeUndefined();
            expect(pvcreated.has(p.canonicalPath)).toBe(false);
            pvcreated.add(p.canonicalPath);
          } else {
            // 5. a device joins one VG once; a blank one only after its pvcreate; vgcreate once, for a VG that does not exist
            expect(added.has(p.canonicalPath)).toBe(false);
            added.set(p.canonicalPath, action.vg);
            expect(pv !== undefined || pvcreated.has(p.canonicalPath)).toBe(true);
            if (action.verb === 'vgcreate') {
              expect(s.vgs).not.toContain(action.vg);
              expect(created.has(action.vg)).toBe(false);
              created.add(action.vg);
            } else {
              expect(s.vgs.includes(action.vg) || created.has(action.vg)).toBe(true);
            }
          }
        }
        // 6. every refusal names a listed device of its VG; every listed device is a member, added or refused
        for (const r of plan.refusals) expect(desired.find((d) => d.name === r.vg)?.devices).toContain(r.device);
        for (const d of desired) {
          const vp = plan.vgs.find((v) => v.name === d.name);
          for (const path of d.devices) {
            const accounted = (vp?.members.includes(path) ?? false) || (vp?.adds.includes(path) ?? false)
              || plan.refusals.some((r) => r.vg === d.name && r.device === path);
            expect(accounted).toBe(true);
          }
        }
      }),
      { numRuns: Number(process.env.NRM_PROPERTY_RUNS ?? 2000) },
    );
    // The property is not vacuous: the generated scenarios do plan every kind of command, and refuse.
    expect(Math.min(seen.pvcreate, seen.vgcreate, seen.vgextend, seen.refusals)).toBeGreaterThan(20);
  });
});
