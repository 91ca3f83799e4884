import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingRunner } from '../../../../src/agent/adapters/lvm/recording-runner.js';
import { ExecRunner } from '../../../../src/agent/adapters/lvm/runner.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nrm-runner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ExecRunner', () => {
  it('passes arguments as argv: shell metacharacters are not interpreted', async () => {
    const marker = join(dir, 'pwned');
    const r = await new ExecRunner({ prefix: [], timeoutMs: 5_000 }).run(['echo', `x; touch ${marker}`, '$(id)', '`id`']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`x; touch ${marker} $(id) \`id\`\n`);
    await expect(writeFile(marker, '', { flag: 'wx' })).resolves.toBeUndefined();
  });

  it('closes stdin, so a command reading it sees end of file at once', async () => {
    const r = await new ExecRunner({ prefix: [], timeoutMs: 5_000 }).run(['cat']);
    expect(r).toMatchObject({ exitCode: 0, stdout: '', timedOut: false });
  });

  it('runs with LC_ALL=C and LVM_SUPPRESS_FD_WARNINGS=1 and nothing inherited', async () => {
    process.env.NRM_RUNNER_TEST_LEAK = 'leak';
    const r = await new ExecRunner({ prefix: [], timeoutMs: 5_000 }).run(['env']);
    delete process.env.NRM_RUNNER_TEST_LEAK;
    expect(r.stdout).toContain('LC_ALL=C');
    expect(r.stdout).toContain('LVM_SUPPRESS_FD_WARNINGS=1');
    expect(r.stdout).not.toContain('NRM_RUNNER_TEST_LEAK');
  });

  it('puts the prefix before the command', async () => {
    const r = await new ExecRunner({ prefix: ['env', 'NRM_PREFIXED=1'], timeoutMs: 5_000 }).run(['env']);
    expect(r.stdout).toContain('NRM_PREFIXED=1');
    expect(r.argv).toEqual(['env']);
  });

  it('kills a command that outlives its time limit and says so', async () => {
    const r = await new ExecRunner({ prefix: [], timeoutMs: 200, killGraceMs: 200 }).run(['sleep', '30']);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.durationMs).toBeLessThan(5_000);
  });

  it('reports a command that cannot be started instead of throwing', async () => {
    const r = await new ExecRunner({ prefix: [], timeoutMs: 5_000 }).run(['/nonexistent/nrm-no-such-binary']);
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toMatch(/ENOENT/);
  });

  it('returns the exit code and stderr of a failing command', async () => {
    const r = await new ExecRunner({ prefix: [], timeoutMs: 5_000 }).run(['ls', join(dir, 'missing')]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/No such file or directory/);
  });
});

describe('RecordingRunner', () => {
  it('records every command it passes on, in order', async () => {
    const rec = new RecordingRunner(new ExecRunner({ prefix: [], timeoutMs: 5_000 }));
    await rec.run(['true']);
    await rec.run(['echo', 'a']);
    expect(rec.verbs()).toEqual(['true', 'echo']);
    expect(rec.calls[1]?.stdout).toBe('a\n');
  });
});
