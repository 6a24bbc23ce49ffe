/**
 * Where a V8 CPU profile's samples went in a window of time, by category. Pure: it takes the parsed
 * .cpuprofile (the format `node --cpu-prof` writes) and a window on the same clock, and returns shares of
 * the window's samples.
 *
 * A sample's category is that of the first frame, walking its stack from the leaf towards the root, that
 * belongs to a category (by script URL or function name): a JSON.stringify called by pino is logging, a
 * pg parser called from a Koa handler is Postgres. A sample with no such frame is "other".
 */

/** The parts of a .cpuprofile this reads. */
export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  /** Microseconds, on the monotonic clock (the clock of process.hrtime). */
  readonly startTime: number;
  readonly endTime: number;
  /** The node id of each sample's leaf frame. */
  readonly samples: readonly number[];
  /** Microseconds from the previous sample (the first: from startTime). */
  readonly timeDeltas: readonly number[];
}

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    /** Zero-based. */
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

export const CATEGORIES = [
  'jwt',
  'validation',
  'postgres',
  'tracing',
  'logging',
  'metrics',
  'framework',
  'gc',
  'idle',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** A frame's category: the first rule that matches it wins. */
const RULES: readonly {
  readonly category: Exclude<Category, 'other'>;
  readonly matches: (frame: CpuProfileNode['callFrame']) => boolean;
}[] = [
  { category: 'idle', matches: (frame) => frame.functionName === '(idle)' },
  { category: 'gc', matches: (frame) => frame.functionName === '(garbage collector)' },
  {
    category: 'jwt',
    // jose verifies with WebCrypto: node:crypto's own frames, and jose's verify functions.
    matches: (frame) =>
      /\/node_modules\/jose\//.test(frame.url) ||
      /^node:(internal\/)?crypto\b/.test(frame.url) ||
      /^(jwtVerify|compactVerify|flattenedVerify|verify)$/.test(frame.functionName),
  },
  {
    category: 'validation',
    // Ajv's compiled validators have no URL (new Function) and are named validate<N>.
    matches: (frame) =>
      /\/node_modules\/(ajv|ajv-formats|fast-uri)\/|\/libs\/schemas\/|@mrp\/schemas\//.test(frame.url) ||
      /^validate\d*$/.test(frame.functionName),
  },
  {
    category: 'postgres',
    matches: (frame) => /\/node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-[a-z]+)\//.test(frame.url),
  },
  {
    category: 'tracing',
    matches: (frame) =>
      /\/node_modules\/(@opentelemetry\/|import-in-the-middle\/|require-in-the-middle\/)/.test(frame.url),
  },
  {
    category: 'logging',
    matches: (frame) => /\/node_modules\/(pino[^/]*|sonic-boom|thread-stream)\//.test(frame.url),
  },
  { category: 'metrics', matches: (frame) => /\/node_modules\/prom-client\//.test(frame.url) },
  {
    category: 'framework',
    matches: (frame) =>
      /\/node_modules\/(koa|koa-[a-z-]+|@koa\/[a-z-]+|co-body|raw-body)\//.test(frame.url) ||
      /^node:(http|_http_[a-z]+)$/.test(frame.url),
  },
];

export function frameCategory(frame: CpuProfileNode['callFrame']): Category | undefined {
  return RULES.find((rule) => rule.matches(frame))?.category;
}

/** A sample's leaf frame, named for a person: function, and where it is. */
export interface FrameShare {
  readonly function: string;
  readonly where: string;
  readonly pct: number;
}

export interface WindowSummary {
  readonly window: string;
  readonly from_us: number;
  readonly to_us: number;
  readonly samples: number;
  /** Share of the window's samples that were not (idle): low means the window and the profile do not line up. */
  readonly busy_pct: number;
  /** Whether the profile covers the whole window. */
  readonly covered: boolean;
  /** Share of the window's samples per category, percent. */
  readonly pct: Readonly<Record<Category, number>>;
  /** The leaf functions of the "other" samples with the most samples. */
  readonly top_other: readonly FrameShare[];
}

export interface ProfileWindow {
  readonly name: string;
  /** Microseconds on the profile's clock. */
  readonly fromUs: number;
  readonly toUs: number;
}

const percentOf = (count: number, total: number) =>
  total === 0 ? 0 : Math.round((count / total) * 1000) / 10;

/** Each node's category, memoised: its own frame's, else its parent's, else other. */
function categoriser(profile: CpuProfile): (id: number) => Category {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const known = new Map<number, Category>();
  const categoryOf = (id: number): Category => {
    const cached = known.get(id);
    if (cached) return cached;
    const node = byId.get(id);
    const parent = parentOf.get(id);
    const category =
      (node && frameCategory(node.callFrame)) ?? (parent === undefined ? 'other' : categoryOf(parent));
    known.set(id, category);
    return category;
  };
  return categoryOf;
}

/** The node ids of the samples taken inside the window. */
function samplesIn(profile: CpuProfile, window: ProfileWindow): number[] {
  const inside: number[] = [];
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (at >= window.fromUs && at < window.toUs) inside.push(id);
  });
  return inside;
}

/** A file URL made short: from node_modules/ on, or relative to `root` (a file:// URL ending in /). */
function shortUrl(url: string, root: string | undefined): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  if (root !== undefined && url.startsWith(root)) return url.slice(root.length);
  return url;
}

function topOther(
  profile: CpuProfile,
  ids: readonly number[],
  categoryOf: (id: number) => Category,
  root: string | undefined,
): FrameShare[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, { function: string; where: string; count: number }>();
  for (const id of ids) {
    if (categoryOf(id) !== 'other') continue;
    const frame = byId.get(id)?.callFrame;
    const name = frame?.functionName || '(anonymous)';
    const where = frame?.url ? `${shortUrl(frame.url, root)}:${frame.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = counts.get(key) ?? { function: name, where, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, 5)
    .map((entry) => ({
      function: entry.function,
      where: entry.where,
      pct: percentOf(entry.count, ids.length),
    }));
}

/**
 * The window's samples by category, in percent of its samples, and the top five leaf functions of the
 * "other" ones. `root` (a file:// URL) shortens the repository's own paths.
 */
export function summariseWindow(profile: CpuProfile, window: ProfileWindow, root?: string): WindowSummary {
  const categoryOf = categoriser(profile);
  const ids = samplesIn(profile, window);
  const counts = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number>;
  for (const id of ids) counts[categoryOf(id)] += 1;
  return {
    window: window.name,
    from_us: window.fromUs,
    to_us: window.toUs,
    samples: ids.length,
    busy_pct: percentOf(ids.length - counts.idle, ids.length),
    covered: profile.startTime <= window.fromUs && window.toUs <= profile.endTime,
    pct: Object.fromEntries(
      CATEGORIES.map((category) => [category, percentOf(counts[category], ids.length)]),
    ) as Record<Category, number>,
    top_other: topOther(profile, ids, categoryOf, root),
  };
}
