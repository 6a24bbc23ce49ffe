/**
 * BENCH_PROFILE=1: case-service runs with `--cpu-prof` (given to it alone through dev.ts's
 * DEV_NODE_FLAGS_CASE_SERVICE) and writes one .cpuprofile when it exits on the runner's SIGTERM; the
 * baseline's and the create load's windows are cut out of it and summarised.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TimedLoad } from './load.ts';
import { message } from './lifecycle.ts';
import { summariseWindow, type CpuProfile, type WindowSummary } from './profile-summary.ts';
import { ROOT } from './settings.ts';

export interface ProfileFigures {
  /** The .cpuprofile, kept after the run to open in a viewer (Chrome DevTools, speedscope). */
  readonly file: string | null;
  readonly windows: { readonly baseline?: WindowSummary; readonly create?: WindowSummary };
  /** Why there is no summary, or why it should not be trusted. */
  readonly notes: readonly string[];
}

/** A fresh directory for one platform's profile, and the environment that makes case-service write it. */
export function profileSetup(run: string): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), `mrp-bench-profile-${run}-`));
  return { dir, env: { DEV_NODE_FLAGS_CASE_SERVICE: `--cpu-prof --cpu-prof-dir=${dir}` } };
}

function isCpuProfile(value: unknown): value is CpuProfile {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    Array.isArray(candidate.nodes) &&
    Array.isArray(candidate.samples) &&
    Array.isArray(candidate.timeDeltas) &&
    typeof candidate.startTime === 'number' &&
    typeof candidate.endTime === 'number'
  );
}

function readProfile(dir: string): { file: string; profile: CpuProfile } {
  // Each thread writes its own profile (a loader-hook worker, for example): the main thread's, which
  // served the load, is the largest.
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(dir, name))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir} (did case-service exit cleanly?)`);
  const file = files[0]!;
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isCpuProfile(parsed)) throw new Error(`${file} is not a V8 CPU profile`);
  return { file, profile: parsed };
}

/** process.hrtime.bigint() (ns) and the profile's timestamps (µs) are the same monotonic clock. */
function windowOf(name: string, load: TimedLoad) {
  return { name, fromUs: Number(load.fromNs / 1000n), toUs: Number(load.toNs / 1000n) };
}

function alignmentNotes(summary: WindowSummary): string[] {
  const notes: string[] = [];
  if (!summary.covered) notes.push(`${summary.window}: the profile does not cover the whole load window`);
  if (summary.samples === 0) notes.push(`${summary.window}: no samples in the load window`);
  else if (summary.busy_pct < 50)
    notes.push(
      `${summary.window}: only ${summary.busy_pct} % of the window's samples are busy: the window and the profile may not line up`,
    );
  return notes;
}

/** Reads the profile case-service wrote into `dir` and summarises the two load windows. */
export function summariseProfile(dir: string, baseline: TimedLoad, create: TimedLoad): ProfileFigures {
  let read: { file: string; profile: CpuProfile };
  try {
    read = readProfile(dir);
  } catch (error) {
    return { file: null, windows: {}, notes: [message(error)] };
  }
  const root = `${pathToFileURL(ROOT).href}/`;
  const windows = {
    baseline: summariseWindow(read.profile, windowOf('baseline', baseline), root),
    create: summariseWindow(read.profile, windowOf('create', create), root),
  };
  return {
    file: read.file,
    windows,
    notes: [...alignmentNotes(windows.baseline), ...alignmentNotes(windows.create)],
  };
}
