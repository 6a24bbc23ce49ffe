import type { JsonSchema } from './registry.ts';

/**
 * TypeScript declarations of the contracts in libs/schemas/json, as `validateRequest` hands them to a
 * handler: one exported type per schema (by its name) and the `Contracts` map from name to type, which
 * the route spec uses to type `ctx.state.input`. Pure: `make contract-types` writes its output to
 * `src/contracts.generated.ts`, and a test fails when that file is stale.
 *
 * Only the keywords the contracts use are understood; any other keyword that would change the type
 * throws, so a new kind of schema is noticed here rather than typed wrongly.
 */

/** Keywords that constrain values without changing their TypeScript type. */
const VALUE_KEYWORDS = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'propertyNames',
  'default',
  'example',
  'examples',
]);

const TYPE_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  '$ref',
  'oneOf',
  'anyOf',
]);

const PRIMITIVES: Readonly<Record<string, string>> = {
  string: 'string',
  integer: 'number',
  number: 'number',
  boolean: 'boolean',
  null: 'null',
};

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

function asSchema(value: unknown, where: string): JsonSchema {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'not a schema object');
  return value as JsonSchema;
}

function literal(value: unknown, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null)
    return JSON.stringify(value);
  return fail(where, `enum/const value ${JSON.stringify(value)} is not a primitive`);
}

function union(members: readonly string[]): string {
  const unique = [...new Set(members)];
  return unique.join(' | ');
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function comment(text: unknown, indent: string): string {
  if (typeof text !== 'string' || text === '') return '';
  return `${indent}/** ${text.replaceAll('*/', '*\\/')} */\n`;
}

/**
 * The object's members. A property with a `default` is required here: validation fills it in before a
 * handler sees the value. Without `additionalProperties: false`, other properties may be present.
 */
function objectType(schema: JsonSchema, where: string, names: ReadonlySet<string>, indent: string): string {
  const properties =
    schema.properties === undefined ? {} : asSchema(schema.properties, `${where}.properties`);
  const required = new Set(Array.isArray(schema.required) ? (schema.required as unknown[]) : []);
  const inner = `${indent}  `;
  const members = Object.entries(properties).map(([name, value]) => {
    const property = asSchema(value, `${where}.${name}`);
    const optional = required.has(name) || property.default !== undefined ? '' : '?';
    return `${comment(property.description, inner)}${inner}${propertyKey(name)}${optional}: ${typeOf(property, `${where}.${name}`, names, inner)};`;
  });
  for (const name of required) {
    if (typeof name !== 'string' || !Object.hasOwn(properties, name))
      fail(where, `required names ${String(name)}, which it does not define`);
  }
  const extra = schema.additionalProperties;
  if (extra !== false && extra !== undefined && extra !== true) {
    const value = typeOf(asSchema(extra, `${where}.additionalProperties`), `${where}.*`, names, inner);
    if (members.length === 0) return `Record<string, ${value}>`;
    members.push(`${inner}[name: string]: ${value};`);
  } else if (extra !== false) {
    if (members.length === 0) return 'Record<string, unknown>';
    members.push(`${inner}[name: string]: unknown;`);
  } else if (members.length === 0) {
    return 'Record<string, never>';
  }
  return `{\n${members.join('\n')}\n${indent}}`;
}

function typeOf(schema: JsonSchema, where: string, names: ReadonlySet<string>, indent: string): string {
  for (const keyword of Object.keys(schema)) {
    if (!VALUE_KEYWORDS.has(keyword) && !TYPE_KEYWORDS.has(keyword))
      fail(where, `keyword ${keyword} is not supported`);
  }
  if (schema.$ref !== undefined) {
    const name = schema.$ref;
    if (typeof name !== 'string' || !names.has(name))
      fail(where, `$ref ${JSON.stringify(name)} names no contract`);
    return name;
  }
  if (schema.const !== undefined) return literal(schema.const, where);
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0)
      fail(where, 'enum must be a non-empty array');
    return union((schema.enum as unknown[]).map((value) => literal(value, where)));
  }
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives !== undefined) {
    if (!Array.isArray(alternatives) || alternatives.length === 0)
      fail(where, 'oneOf/anyOf must be a non-empty array');
    return union(
      (alternatives as unknown[]).map((alternative, index) =>
        typeOf(asSchema(alternative, `${where}[${index}]`), `${where}[${index}]`, names, indent),
      ),
    );
  }
  if (schema.type === undefined) {
    // No type: an object when it describes members, otherwise any value at all.
    const describesObject = ['properties', 'required', 'additionalProperties'].some((key) => key in schema);
    return describesObject ? objectType(schema, where, names, indent) : 'unknown';
  }
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  return union(
    types.map((type) => {
      if (type === 'object') return objectType(schema, where, names, indent);
      if (type === 'array') {
        const items = typeOf(asSchema(schema.items, `${where}.items`), `${where}[]`, names, indent);
        return /^[\w.]+$/.test(items) ? `${items}[]` : `Array<${items}>`;
      }
      if (typeof type === 'string' && Object.hasOwn(PRIMITIVES, type)) return PRIMITIVES[type]!;
      return fail(where, `type ${JSON.stringify(type)} is not supported`);
    }),
  );
}

/** The declarations of every contract, sorted by name, then the `Contracts` map. */
export function contractTypesSource(schemas: ReadonlyMap<string, JsonSchema>): string {
  const names = new Set(schemas.keys());
  const sorted = [...names].sort();
  const declarations = sorted.map((name) => {
    const schema = schemas.get(name)!;
    const type = typeOf(schema, name, names, '');
    const doc = comment(schema.description, '');
    return type.startsWith('{\n')
      ? `${doc}export interface ${name} ${type}\n`
      : `${doc}export type ${name} = ${type};\n`;
  });
  const map = sorted.map((name) => `  ${name}: ${name};`).join('\n');
  return [
    '// Generated by `make contract-types` from libs/schemas/json (src/contract-types.ts): do not edit.\n',
    ...declarations,
    `/** Every contract by its name: what \`validateRequest\` hands a handler for a spec naming it. */\nexport interface Contracts {\n${map}\n}\n`,
  ].join('\n');
}
