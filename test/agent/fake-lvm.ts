// An in-memory LVM for agent tests: block devices with content, PVs, VGs; applies pvcreate/vgcreate/vgextend with
// LVM's refusals (signature, already in a VG) and records every command.

import type { DeviceProbe, ObservedPv, ObservedVg } from '../../src/agent/model.js';
import type { ActionOutcome, LvmPort } from '../../src/agent/reconcile.js';

export type Content = 'blank' | 'ext4' | 'dos';

const DEVICE_BYTES = 64 * 1024 * 1024;
const PV_BYTES = 60 * 1024 * 1024;

export class FakeLvm implements LvmPort {
  readonly devices = new Map<string, Content>();
  readonly links = new Map<string, string>();
  readonly pvs = new Map<string, { vg: string; uuid: string }>();
  readonly commands: string[][] = [];
  /** Return a message to make a command fail. */
  failWith: (argv: readonly string[]) => string | null = () => null;
  /** Throw from listPvs (LVM unreadable). */
  broken = false;
  private uuids = 0;

  addDevice(path: string, content: Content = 'blank'): this {
    this.devices.set(path, content);
    return this;
  }

  link(from: string, to: string): this {
    this.links.set(from, to);
    return this;
  }

  vgNames(): string[] {
    return [...new Set([...this.pvs.values()].map((p) => p.vg).filter((v) => v !== ''))].sort();
  }

  vgMembers(vg: string): string[] {
    return [...this.pvs.entries()].filter(([, p]) => p.vg === vg).map(([d]) => d).sort();
  }

  mutations(): string[][] {
    return this.commands.filter((c) => ['pvcreate', 'vgcreate', 'vgextend'].includes(c[0] ?? ''));
  }

  async listPvs(): Promise<ObservedPv[]> {
    if (this.broken) throw new Error('pvs: cannot run');
    this.commands.push(['pvs']);
    return [...this.pvs.entries()].map(([name, p]) => ({ name, canonicalName: name, vgName: p.vg, uuid: p.uuid, sizeBytes: p.vg === '' ? DEVICE_BYTES : PV_BYTES, freeBytes: p.vg === '' ? DEVICE_BYTES : PV_BYTES }));
  }

  async listVgs(): Promise<ObservedVg[]> {
    this.commands.push(['vgs']);
    return this.vgNames().map((name) => {
      const n = this.vgMembers(name).length;
      return { name, uuid: `vg-${name}`, sizeBytes: n * PV_BYTES, freeBytes: n * PV_BYTES, pvCount: n };
    });
  }

  async probe(path: string): Promise<DeviceProbe> {
    this.commands.push(['probe', path]);
    const canonical = this.links.get(path) ?? path;
    const content = this.devices.get(canonical);
    if (content === undefined) return { kind: 'missing', detail: '' };
    const pv = this.pvs.get(canonical);
    const signature = pv !== undefined
      ? { type: 'LVM2_member', usage: 'raid', ptType: null, uuid: pv.uuid, ambivalent: false }
      : content === 'ext4' ? { type: 'ext4', usage: 'filesystem', ptType: null, uuid: 'fs-uuid', ambivalent: false }
        : content === 'dos' ? { type: null, usage: null, ptType: 'dos', uuid: null, ambivalent: false } : null;
    return { kind: 'block', canonicalPath: canonical, deviceType: 'disk', sizeBytes: DEVICE_BYTES, signature, children: [], mountpoint: null };
  }

  async apply(argv: readonly string[]): Promise<ActionOutcome> {
    this.commands.push([...argv]);
    const forced = this.failWith(argv);
    if (forced !== null) return { kind: 'failed', message: forced };
    const [verb, , a, b] = argv;
    const dev = (verb === 'pvcreate' ? a : b) ?? '';
    const canonical = this.links.get(dev) ?? dev;
    const content = this.devices.get(canonical);
    if (content === undefined) return { kind: 'failed', message: `Cannot use ${dev}: device not found` };
    const pv = this.pvs.get(canonical);
    if (pv !== undefined && pv.vg !== '') return { kind: 'failed', message: `Physical volume '${dev}' is already in volume group '${pv.vg}'` };
    if (pv === undefined && content !== 'blank') return { kind: 'failed', message: `WARNING: ${content} signature detected on ${dev}. Wipe it? [y/n]: [n]` };
    const vg = a ?? '';
    if (verb === 'vgcreate' && this.vgNames().includes(vg)) return { kind: 'failed', message: `A volume group called ${vg} already exists.` };
    if (verb === 'vgextend' && !this.vgNames().includes(vg)) return { kind: 'failed', message: `Volume group "${vg}" not found` };
    this.uuids += 1;
    const uuid = pv?.uuid ?? `pv-uuid-${this.uuids}`;
    this.pvs.set(canonical, { vg: verb === 'pvcreate' ? '' : vg, uuid });
    return { kind: 'ok' };
  }
}
