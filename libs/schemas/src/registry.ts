import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parseKeysetCursor } from './keyset-cursor.ts';

/** Base of every schema `$id`; a schema refers to another by its bare name (`"$ref": "User"`). */
export const SCHEMA_BASE = 'https://mrp.example.com/schemas/';

/**
 * The package's json/ folder. This module runs from src/ in development and from dist/src/ in the images,
 * so the folder is found from the package root (the nearest package.json above), not by counting `..`.
 * (@mrp/platform's packageRoot does the same; this package sits below it.)
 */
function findSchemaDir(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'json');
    if (dirname(dir) === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
  }
}

const schemaDir = findSchemaDir();

export type JsonSchema = Readonly<Record<string, unknown>>;

function loadSchemas(): Map<string, JsonSchema> {
  const schemas = new Map<string, JsonSchema>();
  for (const file of readdirSync(schemaDir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.json')) continue;
    const schema = JSON.parse(readFileSync(join(schemaDir, file), 'utf8')) as JsonSchema;
    const id = schema.$id;
    if (typeof id !== 'string' || !id.startsWith(SCHEMA_BASE))
      throw new Error(`${file}: $id must start with ${SCHEMA_BASE}`);
    const name = id.slice(SCHEMA_BASE.length);
    if (schemas.has(name)) throw new Error(`${file}: duplicate schema name ${name}`);
    schemas.set(name, schema);
  }
  return schemas;
}

const schemas = loadSchemas();

// ajv-formats is CommonJS; under ESM its default export is the module object or the function itself.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** The one Ajv instance: every schema is added once and each validator compiled once, on first use. */
const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: true, coerceTypes: false });
addFormats(ajv);
// Stricter than ajv-formats where Postgres is: its `uuid` accepts a `urn:uuid:` prefix and its
// `date-time` the year 0000, and Postgres refuses both.
const dateTime = ajv.formats['date-time'] as { validate: (value: string) => boolean } | undefined;
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('date-time', {
  type: 'string',
  validate: (value: string) => !value.startsWith('0000') && (dateTime?.validate(value) ?? false),
});
// A list's `cursor`: the opaque `next_cursor` of a previous page, exactly as the API issues them.
ajv.addFormat('keyset-cursor', {
  type: 'string',
  validate: (value: string) => parseKeysetCursor(value) !== undefined,
});
ajv.addKeyword({ keyword: 'example' });
for (const schema of schemas.values()) ajv.addSchema(schema);

const validators = new Map<string, ValidateFunction>();

/** Names of every contract in libs/schemas/json. */
export function schemaNames(): string[] {
  return [...schemas.keys()].sort();
}

/** The raw JSON Schema of a contract. */
export function getSchema(name: string): JsonSchema {
  const schema = schemas.get(name);
  if (!schema) throw new Error(`unknown schema ${name}`);
  return schema;
}

/** The compiled validator of a contract (compiled on first use, then cached). */
export function getValidator<T = unknown>(name: string): ValidateFunction<T> {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.getSchema(SCHEMA_BASE + name);
    if (!validate) throw new Error(`unknown schema ${name}`);
    validators.set(name, validate);
  }
  return validate as ValidateFunction<T>;
}

export type { ErrorObject };
