/**
 * Cleanup: every resource registers how to release it; they are released in reverse order, once, whether
 * the run succeeds, fails, is interrupted or runs out of time. Also the run's console voice.
 */
import type { ChildProcess } from 'node:child_process';

export const say = (text: string) => {
  process.stdout.write(`[bench] ${text}\n`);
};

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const releases: { name: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
/** Set once cleanup starts: no new load or wait begins after it. */
let stopping = false;
/** The load in progress, stopped first when the run ends early. */
let currentLoad: { stop: () => void } | undefined;
/** Every process group this run started (the dev runner's, the ceilings' Koa and Envoy). */
const groups = new Set<ChildProcess>();

export function onRelease(name: string, run: () => Promise<void>): void {
  releases.push({ name, run });
}

export function isStopping(): boolean {
  return stopping;
}

export function checkNotStopping(): void {
  if (stopping) throw new Error('stopping');
}

/** Announces the next phase, unless the run is stopping. */
export function phase(text: string): void {
  checkNotStopping();
  say(text);
}

export function setCurrentLoad(load: { stop: () => void } | undefined): void {
  currentLoad = load;
}

/** A child started with `detached: true` (its own process group), killed as a group if the run dies. */
export function trackGroup(child: ChildProcess): void {
  groups.add(child);
  child.once('exit', () => {
    groups.delete(child);
  });
}

export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is empty: everything stopped
  }
}

export async function cleanup(): Promise<void> {
  stopping = true;
  cleaning ??= (async () => {
    currentLoad?.stop();
    for (const step of releases.reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`[bench] cleanup: ${step.name} failed: ${message(error)}\n`);
      }
    }
  })();
  return cleaning;
}

export async function finish(exitCode: number): Promise<never> {
  await cleanup();
  process.exit(exitCode);
}

// A last resort if the process exits without cleanup (an uncaught error): no process it started outlives it.
process.once('exit', () => {
  for (const child of groups) {
    if (child.exitCode === null && child.signalCode === null) killGroup(child);
  }
});

/** The platform library's deadline (one for the whole repository), for the bench's steps. */
export { withDeadline } from '@mrp/platform';
