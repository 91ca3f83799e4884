// A runner that records every command it passes on: for tests ("no LVM command ran") and for --dry-run reports.

import type { CommandResult, CommandRunner } from './runner.js';

export class RecordingRunner implements CommandRunner {
  readonly calls: CommandResult[] = [];

  constructor(private readonly inner: CommandRunner) {}

  async run(argv: readonly string[]): Promise<CommandResult> {
    const result = await this.inner.run(argv);
    this.calls.push(result);
    return result;
  }

  /** argv[0] of every call so far. */
  verbs(): string[] {
    return this.calls.map((c) => c.argv[0] ?? '');
  }
}
