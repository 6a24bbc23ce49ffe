/**
 * A command-line mistake: the CLI prints one line naming it and one line saying where the usage is, and
 * exits 2 having done nothing.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose usage the hint points to; undefined: mrpctl's own. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/**
 * What a usage error prints on stderr: exactly two lines, the problem (folded onto one line) and where to
 * read the usage (the command's, when the mistake is in a command's options).
 */
export function usageErrorLines(error: UsageError, command = error.command): [string, string] {
  const problem = error.message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return [`mrpctl: ${problem}`, `run 'mrpctl ${command === undefined ? '' : `${command} `}--help' for usage`];
}
