/**
 * Memory and CPU time of every process of the platform, read from /proc (Linux): the dev runner and its
 * descendants, each named by its command line.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chartMemory } from './chart-memory.ts';
import { round } from './load.ts';
import { SERVICE_NAMES } from './settings.ts';

/** One process at one moment. */
export interface ProcessSnapshot {
  readonly pid: number;
  readonly name: string;
  readonly rss_mb: number;
  /** The most resident memory it ever had (VmHWM). */
  readonly peak_rss_mb: number;
  /** User plus system CPU time since it started. */
  readonly cpu_s: number;
}

/** One process over the run: at idle (ready, settled, before any load) and after the load. */
export interface ProcessFigures {
  readonly idle_rss_mb: number | null;
  readonly loaded_rss_mb: number | null;
  readonly peak_rss_mb: number | null;
  readonly cpu_s_idle: number | null;
  readonly cpu_s_after: number | null;
  /** A service's memory limit in its chart (MiB), and its peak RSS as a share of it. */
  readonly chart_limit_mib?: number | null;
  readonly peak_to_limit?: number | null;
}

export interface ProcessReport {
  readonly per_process: Readonly<Record<string, ProcessFigures & { readonly pid: number }>>;
  /** The five services and Envoy (not the dev runner, which only relays their output). */
  readonly total: ProcessFigures;
}

/** CPU times in /proc are in clock ticks; how many a second is a property of the kernel build. */
const CLOCK_TICKS = (() => {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(answer.stdout.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    // the process ended between the listing and the read
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Every process's children, from the parent pid (4th field of /proc/<pid>/stat) of each. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = Number(statFields(pid)?.[1]);
    if (!Number.isInteger(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  return children;
}

/** The process and its children, their children, and so on. */
export function processTree(rootPid: number): number[] {
  const children = childrenByParent();
  const tree: number[] = [];
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.shift()!;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * A service by the path of its entry file (services/<name>/src/main.ts, or dist/src/main.js when
 * compiled), Envoy by its binary.
 */
function nameOf(pid: number, rootPid: number): string {
  if (pid === rootPid) return 'dev-runner';
  const argv = (readProc(pid, 'cmdline') ?? '').split('\0');
  const service = argv.map((arg) => /services\/([^/]+)\/(?:dist\/)?src\//.exec(arg)?.[1]).find(Boolean);
  if (service) return service;
  const program = basename(argv[0] ?? '');
  return program === 'envoy' ? 'envoy' : `${program || 'process'}:${pid}`;
}

function statusKb(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
}

function snapshotOf(pid: number, rootPid: number): ProcessSnapshot | undefined {
  const status = readProc(pid, 'status');
  const fields = statFields(pid);
  if (status === undefined || fields === undefined) return undefined;
  // utime and stime are fields 14 and 15 of the whole line, 12th and 13th after the command name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    pid,
    name: nameOf(pid, rootPid),
    rss_mb: round(statusKb(status, 'VmRSS') / 1024),
    peak_rss_mb: round(statusKb(status, 'VmHWM') / 1024),
    cpu_s: round(ticks / CLOCK_TICKS, 2),
  };
}

/**
 * When a process started, in ms since the epoch: its start time in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), with the boot time taken from /proc/uptime (10 ms resolution, unlike the whole
 * seconds of /proc/stat's btime).
 */
export function processStartedAt(pid: number): number | undefined {
  const fields = statFields(pid);
  const uptime = readFileSync('/proc/uptime', 'utf8');
  if (fields === undefined) return undefined;
  const bootedAt = Date.now() - Number(uptime.split(' ')[0]) * 1000;
  // starttime is field 22 of the whole line, the 20th after the command name.
  return bootedAt + (Number(fields[19]) / CLOCK_TICKS) * 1000;
}

/** The pid of each named process of the platform (services by their entry file, Envoy by its binary). */
export function platformPids(runnerPid: number): Map<string, number> {
  return new Map(processTree(runnerPid).map((pid) => [nameOf(pid, runnerPid), pid]));
}

/** Every process of the platform now: the dev runner and all its descendants. */
export function snapshotPlatform(runnerPid: number): ProcessSnapshot[] {
  return processTree(runnerPid)
    .map((pid) => snapshotOf(pid, runnerPid))
    .filter((snapshot) => snapshot !== undefined);
}

function sum(values: readonly (number | null)[]): number | null {
  return values.length === 0 || values.includes(null)
    ? null
    : round(
        values.reduce<number>((total, value) => total + value!, 0),
        2,
      );
}

/** Both snapshots side by side, per process (matched by pid), with the services' and Envoy's total. */
export function processReport(
  idle: readonly ProcessSnapshot[],
  loaded: readonly ProcessSnapshot[],
): ProcessReport {
  const pids = [...new Set([...idle, ...loaded].map((snapshot) => snapshot.pid))];
  const rows = pids.map((pid) => {
    const before = idle.find((snapshot) => snapshot.pid === pid);
    const after = loaded.find((snapshot) => snapshot.pid === pid);
    const name = (before ?? after)!.name;
    const peak = after?.peak_rss_mb ?? before?.peak_rss_mb ?? null;
    const limit = SERVICE_NAMES.includes(name) ? chartMemory(name)?.limitMiB : undefined;
    const figures = {
      pid,
      idle_rss_mb: before?.rss_mb ?? null,
      loaded_rss_mb: after?.rss_mb ?? null,
      peak_rss_mb: peak,
      cpu_s_idle: before?.cpu_s ?? null,
      cpu_s_after: after?.cpu_s ?? null,
      // RSS is in MB of 2^20 bytes here (kB from /proc / 1024), the same unit as Mi.
      chart_limit_mib: limit ?? null,
      peak_to_limit: limit && peak !== null ? round(peak / limit, 2) : null,
    };
    return [name, figures] as const;
  });
  const counted = rows
    .filter(([name]) => name === 'envoy' || SERVICE_NAMES.includes(name))
    .map(([, figures]) => figures);
  return {
    per_process: Object.fromEntries(rows),
    total: {
      idle_rss_mb: sum(counted.map((figures) => figures.idle_rss_mb)),
      loaded_rss_mb: sum(counted.map((figures) => figures.loaded_rss_mb)),
      peak_rss_mb: sum(counted.map((figures) => figures.peak_rss_mb)),
      cpu_s_idle: sum(counted.map((figures) => figures.cpu_s_idle)),
      cpu_s_after: sum(counted.map((figures) => figures.cpu_s_after)),
    },
  };
}
