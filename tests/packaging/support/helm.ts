import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { SERVICE_NAMES } from '@mrp/gateway';

const exec = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CHARTS = join(ROOT, 'charts');
export const UMBRELLA = join(CHARTS, 'platform');

/** A Kubernetes object as Helm rendered it (only what the tests read is typed). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: Record<string, unknown>;
  readonly data?: Readonly<Record<string, string>>;
  readonly [key: string]: unknown;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm (from PATH: the user's, or the toolchain's) and never throws for a non-zero exit. */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await exec('helm', [...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

let vendored: Promise<void> | undefined;

/** Vendors the charts' file:// dependencies once per test run (scripts/chart-deps.sh). */
export function vendorChartDependencies(): Promise<void> {
  vendored ??= exec('bash', [join(ROOT, 'scripts', 'chart-deps.sh')], { cwd: ROOT }).then(() => undefined);
  return vendored;
}

export interface RenderOptions {
  readonly chart?: string;
  readonly release?: string;
  readonly namespace?: string;
  /** Values files, relative to the repository root. */
  readonly valuesFiles?: readonly string[];
  /** `--set` pairs. */
  readonly set?: readonly string[];
}

/** `helm template` of a chart (the umbrella by default) into its objects; throws with Helm's error. */
export async function render(options: RenderOptions = {}): Promise<KubeObject[]> {
  const result = await helmTemplate(options);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

export function helmTemplate(options: RenderOptions = {}): Promise<HelmResult> {
  return helm([
    'template',
    options.release ?? 'mrp',
    options.chart ?? UMBRELLA,
    '--namespace',
    options.namespace ?? 'mrp',
    ...(options.valuesFiles ?? []).flatMap((file) => ['--values', join(ROOT, file)]),
    ...(options.set ?? []).flatMap((pair) => ['--set', pair]),
  ]);
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`bad YAML from helm: ${document.errors[0]!.message}`);
      return document.toJS() as KubeObject | null;
    })
    .filter((object): object is KubeObject => object !== null);
}

export const find = (objects: readonly KubeObject[], kind: string, name: string): KubeObject => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
};

/** The value sets the chart is tested with: its defaults, the CI sets under ci/, and the kind values. */
export const VALUE_SETS: readonly { readonly name: string; readonly files: readonly string[] }[] = [
  { name: 'defaults', files: ['charts/platform/ci/default-values.yaml'] },
  { name: 'external databases', files: ['charts/platform/ci/external-databases-values.yaml'] },
  { name: 'infrastructure off', files: ['charts/platform/ci/infrastructure-off-values.yaml'] },
  { name: 'HPAs on', files: ['charts/platform/ci/autoscaling-values.yaml'] },
  { name: 'kind (values-dev.yaml)', files: ['charts/platform/values-dev.yaml'] },
];

/** The platform's services (services/registry.json), which every chart test walks. */
export const PLATFORM_SERVICES: readonly string[] = SERVICE_NAMES;

const valueSetRenders = new Map<string, Promise<KubeObject[]>>();

/**
 * The umbrella chart rendered with one of VALUE_SETS (by name), once per test run whichever test file asks
 * first: the objects are only read.
 */
export function renderValueSet(name: string): Promise<KubeObject[]> {
  const set = VALUE_SETS.find((candidate) => candidate.name === name);
  if (!set) throw new Error(`no value set named ${name}`);
  let rendering = valueSetRenders.get(name);
  if (!rendering) {
    rendering = vendorChartDependencies().then(() => render({ valuesFiles: set.files }));
    valueSetRenders.set(name, rendering);
  }
  return rendering;
}

/** Writes objects to a temporary folder, one file each, and removes it after `use`. */
export async function withObjectFiles<T>(
  objects: readonly KubeObject[],
  use: (files: string[]) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mrp-objects-'));
  try {
    const files: string[] = [];
    for (const [index, object] of objects.entries()) {
      // JSON, which every YAML reader reads alike (a YAML 1.1 reader takes an unquoted `yes` for true).
      const file = join(dir, `${String(index).padStart(3, '0')}-${object.kind}-${object.metadata.name}.json`);
      await writeFile(file, JSON.stringify(object));
      files.push(file);
    }
    return await use(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
