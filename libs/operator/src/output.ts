/** Where a command writes: process.stdout and process.stderr in the CLI, a buffer in tests. */
export interface Writer {
  write(text: string): unknown;
}

/** The two streams every command writes to, and the signal that stops a long-running one. */
export interface CommandIo {
  /** Results: progress lines, PASS/FAIL lines, matched log lines. */
  readonly stdout: Writer;
  /** Why a command failed, and warnings that do not fail it. */
  readonly stderr: Writer;
  /** Aborted on SIGINT/SIGTERM; commands stop waiting and clean up. */
  readonly signal: AbortSignal;
}

/** Writes one line (the newline added). */
export function writeLine(writer: Writer, line = ''): void {
  writer.write(`${line}\n`);
}

/** A duration for people: 850ms, 12s, 5m, 1h30m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  return [hours ? `${hours}h` : '', minutes ? `${minutes}m` : '', rest ? `${rest}s` : ''].join('');
}
