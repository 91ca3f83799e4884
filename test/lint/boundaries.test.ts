// The house's boundaries are lint rules (eslint.config.js); this checks that the rules bite: an import
// across a boundary, placed as if in the file named, is refused with the boundary's message.

import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

async function messagesFor(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint holds the boundaries', () => {
  it.each([
    ['src/core/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n", /core is pure: no Node APIs/],
    ['src/core/probe.ts', "import { LRUCache } from 'lru-cache';\nexport const x = LRUCache;\n", /core is pure: no packages/],
    ['src/core/gang/probe.ts', "import { ExtenderService } from '../../extender/service.js';\nexport const x = ExtenderService;\n", /core imports only core and wire/],
    ['src/core/probe.ts', "import { loadExtenderConfig } from '../config/extender.js';\nexport const x = loadExtenderConfig;\n", /core imports only core and wire/],
    ['src/wire/probe.ts', "import { ClusterState } from '../core/state.js';\nexport const x = ClusterState;\n", /wire is the bottom layer/],
    ['src/extender/probe.ts', "import { NodeAgent } from '../agent/agent.js';\nexport const x = NodeAgent;\n", /the extender imports neither the node agent/],
    ['src/extender/kube/probe.ts', "import { NodeAgent } from '../../agent/agent.js';\nexport const x = NodeAgent;\n", /the extender imports neither the node agent/],
    ['src/agent/probe.ts', "import { ExtenderService } from '../extender/service.js';\nexport const x = ExtenderService;\n", /the node agent imports neither the extender/],
    ['src/agent/adapters/probe.ts', "import { createExtenderApp } from '../../extender/assemble.js';\nexport const x = createExtenderApp;\n", /the node agent imports neither the extender/],
    ['src/extender/http/probe.ts', "import { CoreV1Api } from '@kubernetes/client-node';\nexport const x = CoreV1Api;\n", /HTTP routes import no Kubernetes client code/],
    ['src/extender/http/probe.ts', "import { startLiveCluster } from '../kube/cluster.js';\nexport const x = startLiveCluster;\n", /HTTP routes import no Kubernetes client code/],
    ['src/localcluster/probe.ts', "import { makePod } from '../../test/support/builders.js';\nexport const x = makePod;\n", /product code never imports tests/],
    ['src/cmd/probe.ts', "import { x as y } from '../../bench/extender.js';\nexport const x = y;\n", /product code never imports tests or benches/],
  ])('%s: refuses %j', async (file, code, message) => {
    const found = await messagesFor(file, code);
    expect(found.some((m) => message.test(m)), found.join('\n')).toBe(true);
  });

  it.each([
    ['src/extender/service.ts', "import { filterPod } from '../core/filter.js';\nimport { GANG_EVENTS } from '../wire/keys.js';\nexport const x = [filterPod, GANG_EVENTS];\n"],
    ['src/agent/assemble.ts', "import { createServer } from 'node:http';\nimport { parseCapacityReport } from '../wire/capacity.js';\nexport const x = [createServer, parseCapacityReport];\n"],
    ['src/localcluster/stack.ts', "import { createExtenderApp } from '../extender/assemble.js';\nexport const x = createExtenderApp;\n"],
  ])('%s: allows what the layer may import', async (file, code) => {
    const found = (await messagesFor(file, code)).filter((m) => m.startsWith('no-restricted-imports'));
    expect(found).toEqual([]);
  });

  it('refuses a file over 450 lines and a function over 80 lines under src/', async () => {
    const longFn = `export function f(): number {\n${'  let a = 1;\n'.repeat(85)}  return 1;\n}\n`;
    expect((await messagesFor('src/core/probe.ts', longFn)).some((m) => m.startsWith('max-lines-per-function'))).toBe(true);
    const longFile = `${'export const a = 1;\n'.repeat(460)}`.replace(/a = 1/g, (_m, i: number) => `a${i} = 1`);
    expect((await messagesFor('src/core/probe.ts', longFile)).some((m) => m.startsWith('max-lines:'))).toBe(true);
  });
});
