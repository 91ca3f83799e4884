// The container image (issue 15): scripts/image/build.sh builds the Containerfile with podman (the FROM
// image is a local stand-in when no registry is reachable, scripts/image/build-base.sh) and exports it as
// an OCI archive; then, from that image:
//  - the extender, as the manifests run it (uid 65532, read-only root, no capabilities, host network),
//    against the local control plane with the shipped scheduler configuration: /readyz 200, the
//    scheduling-mark webhook served from the container, and a gang bound through its bind verb;
//  - node-resource-manager's offline mode (--once), unprivileged and in dry-run;
//  - node-resource-manager with the DaemonSet's settings (root, privileged, host PID namespace,
//    NRM_COMMAND_PREFIX=nsenter ...): it builds a VolumeGroup on a loop device of this host, with the
//    host's LVM;
//  - a clean stop on SIGTERM.
// Needs root, podman, runc, skopeo and mmdebstrap (the stand-in base); without them it fails and says
// what to install.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/localcluster/controlplane.js';
import { makeNode, makePod } from '../../src/localcluster/builders.js';
import { LAB_LVM_CONFIG, LoopLab, seedConfigMap } from '../../src/localcluster/loop-lab.js';
import { freePort } from '../../src/localcluster/net.js';
import { createNodes, createPods, listPods, waitFor } from '../../src/localcluster/objects.js';
import { SHIPPED_SCHEDULER_CONFIG } from '../../src/localcluster/paths.js';
import { registerLocalWebhook, waitForCaBundle } from '../../src/localcluster/webhook.js';
import { BUILD_SCRIPT, Container, REPO_ROOT, must, podman, requirePodman, run } from '../image/podman.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The name the manifests use (manifests/static-pods, overlays/secondary-scheduler, the node agent's DaemonSet). */
const IMAGE = `edge-gang-scheduler:${VERSION}`;
const EXTENDER_UID = 65532;
/** The DaemonSet's NRM_COMMAND_PREFIX (manifests/base/node-resource-manager/daemonset.yaml), for a target PID. */
const nsenterPrefix = (pid: number) => `nsenter --target ${pid} --mount --uts --ipc --net --pid --`;
const LABELS = 'kubernetes.io/storagetype=lvm';
const fileStart = Date.now();
const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
const notes: string[] = [];
const note = (line: string) => {
  notes.push(line);
  console.info(`[image] ${line}`);
};

let setupError: unknown = null;
let dir = '';
let archive = '';
let cp: ControlPlane | undefined;
let core: CoreV1Api;
let extender: Container | undefined;
let extenderUrl = '';

/** A copy of the admin kubeconfig the container's user can read (the original is root's, mode 0600). */
function kubeconfigFor(uid: number, path: string): string {
  const copy = join(dir, 'kubeconfig');
  copyFileSync(path, copy);
  chownSync(copy, uid, uid);
  chmodSync(copy, 0o600);
  return copy;
}

async function startExtenderContainer(controlPlane: ControlPlane): Promise<void> {
  const port = await freePort();
  extenderUrl = `http://127.0.0.1:${port}`;
  const webhook = await registerLocalWebhook(controlPlane.kubeConfig);
  const kc = kubeconfigFor(EXTENDER_UID, controlPlane.kubeconfigPath);
  // The static pod's securityContext: the image's non-root user, read-only root, no capabilities.
  extender = await Container.start(`edge-gang-image-test-${process.pid}`, [
    '--init', '--network', 'host', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '-v', `${kc}:/etc/edge-gang/kubeconfig:ro`,
    IMAGE, 'node', 'dist/cmd/extender.js', '--kubeconfig', '/etc/edge-gang/kubeconfig', '--host', '127.0.0.1', '--port', String(port), ...webhook.extenderArgs,
  ]);
  const ext = extender;
  await waitFor(async () => {
    if (!(await ext.running())) throw new Error(`the extender container exited during start-up:\n${(await ext.logs()).slice(-3000)}`);
    const r = await fetch(`${extenderUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    return r?.status === 200;
  }, 90_000, `the extender in the container ready (GET ${extenderUrl}/readyz 200)`, 250);
}

beforeAll(async () => {
  try {
    requirePodman();
    dir = await mkdtemp(join(tmpdir(), 'edge-gang-image-'));
    archive = join(dir, `edge-gang-scheduler-${VERSION}.oci.tar`);
    let t = Date.now();
    const built = await run('bash', [BUILD_SCRIPT, '--save', archive], 900_000);
    if (built.code !== 0) throw new Error(`scripts/image/build.sh failed (exit ${built.code}):\n${built.stderr.slice(-4000)}`);
    for (const line of built.stderr.split('\n').filter((l) => /^build(-base)?: /.test(l))) note(line);
    note(`image build and OCI export: ${since(t)}`);
    t = Date.now();
    cp = await startControlPlane({});
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await startExtenderContainer(cp);
    await waitForCaBundle(cp.kubeConfig);
    await cp.startScheduler({ configPath: SHIPPED_SCHEDULER_CONFIG, extenderAddress: new URL(extenderUrl).host });
    note(`control plane + extender container + kube-scheduler up in ${since(t)}`);
  } catch (err) {
    setupError = err;
  }
}, 1_200_000);

beforeEach(() => {
  if (setupError !== null) throw setupError;
});

afterAll(async () => {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      console.warn(`[image] stop ${what}: ${(err as Error).message}`);
    }
  };
  if (cp) await step('kube-scheduler', () => (cp as ControlPlane).stopScheduler({ graceMs: 2000 }));
  if (extender) await step('extender container', () => (extender as Container).remove());
  if (cp) await step('control plane', () => (cp as ControlPlane).stop());
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  console.info(['[image] summary:', ...notes.map((n) => `  ${n}`), `  file total: ${since(fileStart)}`].join('\n'));
}, 120_000);

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${extenderUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

interface NrmReport {
  ok: boolean;
  capacity: { vgs: { name: string; pvs: { name: string }[] }[]; refused: { device: string; reason: string }[] } | null;
  commands: { argv: string[]; outcome: string; message?: string }[];
  planned: string[][];
}

/**
 * The process whose namespaces stand for the host's: PID 1, as in the DaemonSet, when this machine lets
 * root enter its namespaces; else this test process, which runs in the same host namespaces (on some
 * sandboxed machines PID 1 is a supervisor whose /proc/1/ns cannot be opened even by root).
 */
function hostTargetPid(): number {
  const ok = spawnSync('nsenter', ['--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--', 'true'], { stdio: 'ignore' }).status === 0;
  if (!ok) note(`nsenter into PID 1 is not permitted on this machine; the agent enters the host namespaces through PID ${process.pid} (this test) instead`);
  return ok ? 1 : process.pid;
}

/** node-resource-manager --once from the image, with the topology file mounted; the parsed JSON report. */
async function nrmOnce(runArgs: string[], topology: string, extra: string[] = []): Promise<NrmReport> {
  const topo = join(dir, `topo-${Date.now()}.yaml`);
  writeFileSync(topo, topology);
  const r = await podman([
    'run', '--rm', ...runArgs, '-v', `${topo}:/etc/edge-gang/topo.yaml:ro`, IMAGE,
    'node', 'dist/cmd/node-resource-manager.js', '--config-file', '/etc/edge-gang/topo.yaml', '--node-name', 'edge-1', '--node-labels', LABELS, '--once', '--state-dir', 'none', ...extra,
  ]);
  if (r.code !== 0) throw new Error(`node-resource-manager in the container exited ${r.code}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-3000)}`);
  return JSON.parse(r.stdout) as NrmReport;
}

describe('the container image (issue 15)', () => {
  it('is one OCI image for both programs: compiled dist/, production dependencies only, the extender as a non-root user, lvm2 and nsenter', async () => {
    const sizeMB = statSync(archive).size / 1e6;
    note(`OCI archive ${archive.split('/').pop()}: ${sizeMB.toFixed(1)} MB`);
    const config = JSON.parse(await must('skopeo', ['inspect', '--config', `oci-archive:${archive}`])) as { config: { User?: string; WorkingDir?: string; Cmd?: string[] } };
    expect(config.config.User).toBe(`${EXTENDER_UID}:${EXTENDER_UID}`);
    expect(config.config.WorkingDir).toBe('/app');
    expect(config.config.Cmd).toEqual(['node', 'dist/cmd/extender.js']);
    expect(sizeMB).toBeLessThan(400);
    const inside = await must('podman', ['run', '--rm', '--user', '0', IMAGE, 'sh', '-c', [
      'node --version', 'command -v nsenter', 'command -v lvm',
      'test -f dist/cmd/extender.js && test -f dist/cmd/node-resource-manager.js && echo dist',
      'for p in typescript vitest eslint; do test ! -e node_modules/$p || echo "dev dependency $p in the image"; done',
    ].join('; ')]);
    expect(inside.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^v20\./), expect.stringMatching(/nsenter$/), expect.stringMatching(/lvm$/), 'dist']);
  });

  it('runs the extender against the control plane: /readyz 200 and a gang bound through its bind verb', async () => {
    const t = Date.now();
    expect((await fetch(`${extenderUrl}/readyz`)).status).toBe(200);
    const before = await metric('extender_binds_total{result="bound"}');
    await createNodes(core, [makeNode('image-n0').cpu(4), makeNode('image-n1').cpu(4)]);
    await createPods(core, [0, 1, 2, 3].map((i) => makePod(`image-gang-${i}`).cpu('2').group('image-gang', 4)));
    const bound = await waitFor(async () => {
      const pods = (await listPods(core, 'default')).filter((p) => p.metadata?.name?.startsWith('image-gang-'));
      return pods.length === 4 && pods.every((p) => p.spec?.nodeName) ? pods : false;
    }, 60_000, 'the 4 members of gang image-gang bound', 200);
    note(`gang of 4 bound through the containerised extender in ${since(t)}`);
    expect(new Set(bound.map((p) => p.spec?.nodeName))).toEqual(new Set(['image-n0', 'image-n1']));
    // Bound by the extender's bind verb (the webhook in the container marked them, so they reached it).
    expect((await metric('extender_binds_total{result="bound"}')) - before).toBe(4);
  });

  it('runs node-resource-manager offline (--once --dry-run), unprivileged: a missing device is refused, nothing runs', async () => {
    const report = await nrmOnce(['--user', '0', '--network', 'none'], seedConfigMap('imagevg', ['/dev/edge-gang-image-test-missing']), ['--dry-run']);
    expect(report.ok).toBe(true);
    expect(report.capacity?.refused).toEqual([expect.objectContaining({ device: '/dev/edge-gang-image-test-missing', reason: 'DeviceNotFound' })]);
    expect(report.commands).toEqual([]);
  });

  it('runs node-resource-manager with the DaemonSet settings: LVM in the host through nsenter builds a VolumeGroup on a host loop device', async () => {
    const lab = new LoopLab();
    await lab.start();
    lab.assertReady();
    try {
      const dev = lab.loop('a');
      const vg = lab.vg('image');
      const t = Date.now();
      const report = await nrmOnce([
        // The image's own lvm2 hidden (an empty /usr/sbin; /sbin links to it): only the host's, through nsenter, can run.
        '--user', '0', '--privileged', '--pid', 'host', '--tmpfs', '/usr/sbin:notmpcopyup', '-e', `NRM_COMMAND_PREFIX=${nsenterPrefix(hostTargetPid())}`,
        ...(LAB_LVM_CONFIG === '' ? [] : ['-e', `NRM_LVM_CONFIG=${LAB_LVM_CONFIG}`]),
      ], seedConfigMap(vg, [dev]));
      note(`node-resource-manager (nsenter into the host) built VG ${vg} on ${dev} in ${since(t)}`);
      expect(report.commands.map((c) => `${c.argv.join(' ')} ${c.outcome}`)).toEqual([`pvcreate -- ${dev} ok`, `vgcreate -- ${vg} ${dev} ok`]);
      expect(report.capacity?.vgs.map((v) => [v.name, v.pvs.map((p) => p.name)])).toEqual([[vg, [dev]]]);
      // The host's own LVM sees it.
      expect((await lab.state()).pvs.get(dev)).toBe(vg);
    } finally {
      await lab.tearDown();
    }
  });

  it('stops cleanly on SIGTERM (podman stop), well within the grace period', async () => {
    const stopped = await (extender as Container).stop(20);
    note(`extender container stopped in ${stopped.ms} ms, exit code ${stopped.exitCode}`);
    expect(stopped.exitCode).toBe(0);
    expect(stopped.ms).toBeLessThan(10_000);
  });
});
