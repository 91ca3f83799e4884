// Acceptance 1 and 3 (issue 5) on real LVM: the seed's ConfigMap creates PVs and the VG from blank devices, a
// second run changes nothing, a device added later extends the VG, a removed entry leaves its VG intact.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runOffline } from '../../src/agent/offline.js';
import { LvmClient } from '../../src/agent/adapters/lvm/client.js';
import { RecordingRunner } from '../../src/agent/adapters/lvm/recording-runner.js';
import { ExecRunner } from '../../src/agent/adapters/lvm/runner.js';
import { LoopLab, seedConfigMap } from '../../src/localcluster/loop-lab.js';

const LABELS = { 'kubernetes.io/storagetype': 'lvm' };
const MUTATING = ['pvcreate', 'vgcreate', 'vgextend'];
/** A 64 MiB loop device makes a 60 MiB PV once in a VG (metadata and 4 MiB extents; lvm-anchors 5.1). */
const PV_BYTES = 62914560;

const lab = new LoopLab();
let d: string[] = [];

beforeAll(async () => {
  await lab.start(async () => {
    d = [lab.loop('a'), lab.loop('b'), lab.loop('c'), lab.loop('d'), lab.loop('e')];
  });
});

beforeEach(() => {
  lab.assertReady();
});

afterAll(async () => {
  await lab.tearDown();
});

function run(config: string, client = lab.client()) {
  return runOffline(client.client, { node: 'edge-1', configFile: 'test', configText: config, labels: LABELS, dryRun: false, now: () => new Date() })
    .then((o) => ({ ...o, recorder: client.recorder }));
}

describe('real LVM: create and extend', () => {
  it('creates the PVs and the VG from the seed ConfigMap with three blank devices', async () => {
    const vg = lab.vg('volumegroup1');
    const { exitCode, report, recorder } = await run(seedConfigMap(vg, d.slice(0, 3)));
    expect(exitCode).toBe(0);
    expect(report.refusedCount).toBe(0);
    expect(report.commands.map((c) => `${c.argv.join(' ')} ${c.outcome}`)).toEqual([
      `pvcreate -- ${d[0]} ok`, `pvcreate -- ${d[1]} ok`, `pvcreate -- ${d[2]} ok`,
      `vgcreate -- ${vg} ${d[0]} ok`, `vgextend -- ${vg} ${d[1]} ok`, `vgextend -- ${vg} ${d[2]} ok`,
    ]);
    // Every command ran with stdin closed and as an argv (no shell): the recorder saw exactly these argvs.
    expect(recorder.calls.every((c) => c.exitCode === 0 || c.argv[0] === 'blkid')).toBe(true);
    const state = await lab.state();
    expect(state.vgs.get(vg)).toEqual({ sizeBytes: 3 * PV_BYTES, freeBytes: 3 * PV_BYTES });
    expect([...state.pvs.entries()].filter(([, v]) => v === vg).map(([p]) => p).sort()).toEqual(d.slice(0, 3).sort());
    expect(report.capacity?.vgs).toEqual([{ name: vg, sizeBytes: 3 * PV_BYTES, freeBytes: 3 * PV_BYTES, pvs: d.slice(0, 3).map((name) => ({ name, sizeBytes: PV_BYTES, freeBytes: PV_BYTES })).sort((x, y) => x.name.localeCompare(y.name)) }]);
  });

  it('changes nothing on a second run', async () => {
    const vg = lab.vg('volumegroup1');
    const before = await lab.state();
    const { report, recorder } = await run(seedConfigMap(vg, d.slice(0, 3)));
    expect(report.commands).toEqual([]);
    expect(recorder.verbs().filter((v) => MUTATING.includes(v))).toEqual([]);
    expect(await lab.state()).toEqual(before);
  });

  it('extends the VG with a device added to the entry later', async () => {
    const vg = lab.vg('volumegroup1');
    const { report } = await run(seedConfigMap(vg, d.slice(0, 4)));
    expect(report.commands.map((c) => c.argv.join(' '))).toEqual([`pvcreate -- ${d[3]}`, `vgextend -- ${vg} ${d[3]}`]);
    expect((await lab.state()).vgs.get(vg)?.sizeBytes).toBe(4 * PV_BYTES);
  });

  it('leaves the VG intact when its entry is removed from the ConfigMap, and warns about devices it no longer lists', async () => {
    const vg = lab.vg('volumegroup1');
    const before = await lab.state();
    const other = lab.vg('volumegroup2');
    const { report, recorder } = await run(seedConfigMap(other, [d[4] as string]));
    expect(recorder.verbs().filter((v) => MUTATING.includes(v))).toEqual(['pvcreate', 'vgcreate']);
    const after = await lab.state();
    expect(after.vgs.get(vg)).toEqual(before.vgs.get(vg));
    expect(report.capacity?.vgs.map((v) => v.name)).toEqual([other]);
    // Shrinking the entry of an existing VG removes nothing either.
    const shrunk = await run(seedConfigMap(vg, d.slice(0, 2)));
    expect(shrunk.recorder.verbs().filter((v) => MUTATING.includes(v) || v.endsWith('remove') || v === 'vgreduce')).toEqual([]);
    expect(shrunk.report.unlistedPvs[vg]?.slice().sort()).toEqual(d.slice(2, 4).sort());
    expect((await lab.state()).vgs.get(vg)?.sizeBytes).toBe(4 * PV_BYTES);
  });

  it('works with the documented no-udev LVM setting passed as --config', async () => {
    const recorder = new RecordingRunner(new ExecRunner({ prefix: [], timeoutMs: 60_000 }));
    const client = new LvmClient(recorder, { lvmConfig: 'activation {udev_sync=0 udev_rules=0} devices {obtain_device_list_from_udev=0}' });
    const vg = lab.vg('volumegroup1');
    const { report } = await runOffline(client, { node: 'edge-1', configFile: 'test', configText: seedConfigMap(vg, d.slice(0, 4)), labels: LABELS, dryRun: false, now: () => new Date() });
    expect(report.ok).toBe(true);
    expect(report.capacity?.vgs[0]?.pvs).toHaveLength(4);
    expect(recorder.calls.filter((c) => c.argv[0] === 'vgs')[0]?.argv.slice(0, 2)).toEqual(['vgs', '--config']);
  });
});
