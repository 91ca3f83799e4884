// Runs the real extender entry point (src/cmd/extender.ts) as a child process on a free loopback
// port, as `npm start` would, and stops it. Node is spawned directly so the PID is the extender's.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const ADDRESS = /"address":"(https?:\/\/127\.0\.0\.1:\d+)"/;

export interface ExtenderProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  stop(): Promise<void>;
}

export async function startExtenderProcess(args: string[]): Promise<ExtenderProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/extender.ts', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 30_000;
  while (!ADDRESS.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`extender did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    base: ADDRESS.exec(out)![1]!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
