/**
 * The real tools the compose checks run offline: the Compose specification's JSON Schema (as dclint ships
 * it) under Ajv, the dclint CLI, promtool and Envoy.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';

const require = createRequire(import.meta.url);
const dclintDir = dirname(require.resolve('dclint/package.json'));

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  /** stdout and stderr together, for failure messages. */
  readonly output: string;
}

/** Runs a program to completion; a missing program is an error that says how to get it. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new Error(`${command} is not on PATH: run the tests through ./scripts/toolchain.sh (see README)`),
          );
          return;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, output: `${stdout}${stderr}` });
      },
    );
  });
}

/**
 * Validates `document` against the Compose specification schema shipped with dclint. The schema is
 * draft-07 (Ajv's default class) but names its meta-schema by an https URL, so the draft-07 meta-schema is
 * registered under that id too and the schema itself is still checked against it. Strict mode stays on,
 * except strictTypes: that one lints how a schema is written (`additionalProperties` beside a `oneOf`
 * without `type: object`), which the specification's own schema does not follow; union types are
 * draft-07 and allowed.
 */
export function composeSpecErrors(document: unknown): ErrorObject[] {
  const schema = JSON.parse(readFileSync(join(dclintDir, 'schemas', 'compose.schema.json'), 'utf8')) as {
    $schema: string;
  };
  const draft07 = JSON.parse(
    readFileSync(require.resolve('ajv/dist/refs/json-schema-draft-07.json'), 'utf8'),
  ) as object;
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
  const validate = ajv.compile(schema);
  return validate(document) ? [] : [...(validate.errors ?? [])];
}

/**
 * dclint's rules as this project applies them; every change from the defaults is a deliberate choice of
 * docker-compose.yml.
 */
export const DCLINT_CONFIG = {
  rules: {
    // Services are grouped by layer (stores, the five services, the gateway, observability), in start
    // order, which tells more than alphabetical order.
    'services-alphabetical-order': 0,
    // The default list minus `dev`: mrp/<service>:dev is built from the checkout (pull_policy: build) and
    // never pulled, so the tag names what it is. Every pulled image still needs a version.
    'service-image-require-explicit-tag': [
      2,
      { prohibitedTags: ['latest', 'stable', 'edge', 'test', 'nightly', 'beta', 'canary', 'lts'] },
    ],
    // The default order, with the merge of the shared defaults (<<) first, so each service reads as
    // "the defaults, plus", and pull_policy beside build.
    'service-keys-order': [
      1,
      {
        groups: {
          'Shared defaults': ['<<'],
          'Core Definitions': ['image', 'build', 'pull_policy', 'container_name'],
        },
        groupOrder: [
          'Shared defaults',
          'Core Definitions',
          'Service Dependencies',
          'Data Management and Configuration',
          'Environment Configuration',
          'Networking',
          'Runtime Behavior',
          'Operational Metadata',
          'Security and Execution Context',
          'Other',
        ],
      },
    ],
  },
};

export interface DclintMessage {
  readonly rule: string;
  readonly type: 'error' | 'warning';
  readonly message: string;
  readonly line: number;
}

/** Runs the dclint CLI on `file` with DCLINT_CONFIG and returns its messages (JSON formatter). */
export async function dclint(
  file: string,
): Promise<{ code: number; messages: DclintMessage[]; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mrp-dclint-'));
  try {
    const config = join(dir, '.dclintrc.json');
    await writeFile(config, JSON.stringify(DCLINT_CONFIG));
    const result = await run(process.execPath, [
      join(dclintDir, 'bin', 'dclint.cjs'),
      file,
      '--config',
      config,
      '--formatter',
      'json',
      '--max-warnings',
      '0',
    ]);
    let reports: { messages: DclintMessage[] }[];
    try {
      reports = JSON.parse(result.stdout) as { messages: DclintMessage[] }[];
    } catch {
      throw new Error(`dclint did not answer JSON:\n${result.output}`);
    }
    return {
      code: result.code,
      messages: reports.flatMap((report) => report.messages),
      output: result.output,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
