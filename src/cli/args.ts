// Argument helpers shared by the CLI's commands.

/** Bad arguments: the entry point prints the message and the usage, and exits 2. */
export class UsageError extends Error {}

/** Removes `--name value` or `--name=value` from args and returns the value. */
export function takeFlag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i] as string;
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
  args.splice(i, a.includes('=') ? 1 : 2);
  return v;
}
