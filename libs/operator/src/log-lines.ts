/** One JSON log line that belongs to the request, and where it was read. */
export interface LogEntry {
  /** `<pod>/<container>`. */
  readonly source: string;
  /** Epoch milliseconds of its `time`; NaN when the line has no time that parses. */
  readonly time: number;
  readonly fields: Readonly<Record<string, unknown>>;
  /** The line as logged. */
  readonly line: string;
}

/** A line's JSON object, or undefined for anything else (plain text, a JSON array, a cut-off line). */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The epoch milliseconds of a log time: an ISO string (pino's isoTime, Envoy's START_TIME) or epoch ms. */
export function logTime(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Date.parse(value);
  return NaN;
}

/**
 * The lines of one container's log that carry this request ID (services' `request_id` and Envoy's access
 * log alike); lines that are not JSON objects are skipped.
 */
export function requestEntries(log: string, requestId: string, source: string): LogEntry[] {
  return log.split('\n').flatMap((line) => {
    const fields = parseJsonLine(line);
    if (fields?.request_id !== requestId) return [];
    return [{ source, time: logTime(fields.time), fields, line: line.trim() }];
  });
}

/**
 * All entries in time order; equal times keep the order they were read in, and lines without a time
 * come last (in the order read), so nothing is dropped.
 */
export function mergeByTime(entries: readonly LogEntry[]): LogEntry[] {
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => {
      const [x, y] = [a.entry.time, b.entry.time];
      if (Number.isNaN(x) || Number.isNaN(y)) {
        if (Number.isNaN(x) && Number.isNaN(y)) return a.index - b.index;
        return Number.isNaN(x) ? 1 : -1;
      }
      return x - y || a.index - b.index;
    })
    .map(({ entry }) => entry);
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

/** Column widths, so lines from different sources line up. */
export interface EntryWidths {
  readonly source: number;
  readonly service: number;
}

/** The widths that line up all these entries. */
export function entryWidths(entries: readonly LogEntry[]): EntryWidths {
  return {
    source: Math.max(0, ...entries.map((entry) => entry.source.length)),
    service: Math.max(0, ...entries.map((entry) => serviceOf(entry).length)),
  };
}

const serviceOf = (entry: LogEntry): string => text(entry.fields.service_name) ?? '?';

/**
 * One readable line: time, source, service and level, then the message and the request's method, path,
 * status and duration when the line has them (Envoy's access log has no message or level: "access").
 *
 *     2025-06-01T10:15:02.118Z  mrp-gateway-5d8f7c9b6-vn4zs/envoy  gateway  access  POST /v1/cases -> 201 (48 ms)
 */
export function formatEntry(entry: LogEntry, widths: EntryWidths = { source: 0, service: 0 }): string {
  const { fields } = entry;
  const time = Number.isNaN(entry.time) ? '(no time)'.padEnd(24) : new Date(entry.time).toISOString();
  const level =
    text(fields.level) ?? (fields.message === undefined && fields.msg === undefined ? 'access' : '-');
  const method = text(fields.method);
  const path = text(fields.path);
  const status = text(fields.status) ?? text(fields.status_code);
  const duration = text(fields.duration_ms);
  const error = fields.err as { message?: unknown } | undefined;
  const summary = [
    text(fields.message) ?? text(fields.msg),
    method && path ? `${method} ${path}` : undefined,
    status ? `-> ${status}` : undefined,
    duration ? `(${duration} ms)` : undefined,
    typeof error === 'object' && text(error.message) ? `error: ${text(error.message)!}` : undefined,
  ].filter((part): part is string => Boolean(part));
  return [
    time,
    entry.source.padEnd(widths.source),
    serviceOf(entry).padEnd(widths.service),
    level.padEnd(6),
    summary.join(' '),
  ]
    .join('  ')
    .trimEnd();
}
