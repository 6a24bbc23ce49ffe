import { constants } from 'node:os';

/** What `mrpctl` exits with; the help text and the README list the same codes. */
export const EXIT = {
  /** The command did what it was asked: ready, forwarded, every step passed, lines found. */
  ok: 0,
  /** The check failed: not ready in time, a step failed, nothing matched, no gateway pod. */
  failed: 1,
  /** The command line is wrong: nothing was done. */
  usage: 2,
  /** Stopped by Ctrl-C (SIGINT): 128 + 2, as a shell reports a program a signal ended. */
  interrupted: 130,
} as const;

/**
 * The exit code of a command stopped by a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM), as
 * shells report it. Anything else that stopped it (a test's plain abort) counts as Ctrl-C.
 */
export function interruptedExitCode(reason: unknown): number {
  const number =
    typeof reason === 'string' ? (constants.signals as Readonly<Record<string, number>>)[reason] : undefined;
  return number === undefined ? EXIT.interrupted : 128 + number;
}
