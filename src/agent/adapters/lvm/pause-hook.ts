// Test hook (issue 5, acceptance 7): pause after every successful pvcreate so a test can SIGKILL the agent between
// pvcreate and vgcreate. Enabled only by NRM_TEST_PAUSE_AFTER_PVCREATE_MS (src/config/node-resource-manager.ts).

import type { CommandResult, CommandRunner } from './runner.js';

export class PauseAfterPvcreateRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly pauseMs: number,
    /** Told before the pause, e.g. a line on stderr the test waits for. */
    private readonly notify: (line: string) => void,
  ) {}

  async run(argv: readonly string[]): Promise<CommandResult> {
    const result = await this.inner.run(argv);
    if (argv[0] === 'pvcreate' && result.exitCode === 0 && this.pauseMs > 0) {
      this.notify(`nrm-test-hook: paused after pvcreate ${argv[argv.length - 1] ?? ''}`);
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    return result;
  }
}
