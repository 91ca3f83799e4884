// The one typed error of the LVM adapter (STYLE.md: LVM failures carry the command, exit code and stderr).

export type LvmErrorCode = 'CommandFailed' | 'Timeout' | 'SpawnFailed' | 'ParseFailed';

export class LvmError extends Error {
  override readonly name = 'LvmError';

  constructor(
    readonly code: LvmErrorCode,
    message: string,
    /** The command as run, without the host-namespace prefix. */
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${message}: ${argv.join(' ')}${exitCode !== null ? ` (exit ${exitCode})` : ''}${stderr.trim() ? `: ${firstLines(stderr)}` : ''}`);
  }
}

/** The first few non-noise lines of stderr, for messages and events. */
export function firstLines(stderr: string, max = 4): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^File descriptor \d+ .* leaked on /.test(l))
    .slice(0, max)
    .join(' | ');
}
