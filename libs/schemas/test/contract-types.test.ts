import { expect } from 'chai';
import { contractTypesSource } from '../src/contract-types.ts';
import type { JsonSchema } from '../src/registry.ts';

/** The generated source for these schemas, by name. */
const generate = (schemas: Record<string, JsonSchema>) =>
  contractTypesSource(new Map(Object.entries(schemas)));

/** The declaration of one contract in the generated source (up to the blank line after it). */
function declaration(source: string, name: string): string {
  const start = source.search(new RegExp(`^export (interface|type) ${name}\\b`, 'm'));
  expect(start, `no declaration of ${name}`).to.be.at.least(0);
  const end = source.indexOf('\n\n', start);
  return source.slice(start, end === -1 ? undefined : end);
}

describe('contract types generated from the JSON Schemas', () => {
  it('an object: required members plain, the others optional, a default counted as present', () => {
    const source = generate({
      Page: {
        type: 'object',
        additionalProperties: false,
        required: ['items'],
        properties: {
          items: { type: 'array', items: { type: 'string' } },
          limit: { type: 'integer', minimum: 1, default: 20 },
          cursor: { type: 'string', pattern: '^[a-z]+$' },
          ok: { type: 'boolean' },
          ratio: { type: 'number' },
        },
      },
    });
    expect(declaration(source, 'Page')).to.equal(
      'export interface Page {\n  items: string[];\n  limit: number;\n  cursor?: string;\n  ok?: boolean;\n  ratio?: number;\n}',
    );
  });

  it('without additionalProperties: false, any other member may be present', () => {
    const open = generate({ Form: { type: 'object', properties: { a: { type: 'string' } } } });
    expect(declaration(open, 'Form')).to.equal(
      'export interface Form {\n  a?: string;\n  [name: string]: unknown;\n}',
    );
    const typed = generate({
      Map: {
        type: 'object',
        propertyNames: { pattern: '^[a-z]+$' },
        additionalProperties: { type: 'number' },
      },
    });
    expect(declaration(typed, 'Map')).to.equal('export type Map = Record<string, number>;');
    const both = generate({
      Mixed: {
        type: 'object',
        properties: { a: { type: 'string' } },
        additionalProperties: { type: 'number' },
      },
    });
    expect(declaration(both, 'Mixed')).to.equal(
      'export interface Mixed {\n  a?: string;\n  [name: string]: number;\n}',
    );
    expect(declaration(generate({ Any: { type: 'object' } }), 'Any')).to.equal(
      'export type Any = Record<string, unknown>;',
    );
  });

  it('a $ref by bare name, enum, const, oneOf and anyOf, and a type list with null', () => {
    const source = generate({
      Band: { enum: ['low', 'high'] },
      Case: {
        type: 'object',
        additionalProperties: false,
        required: ['band', 'kind', 'score', 'note', 'value'],
        properties: {
          band: { $ref: 'Band' },
          kind: { const: 'case' },
          score: { oneOf: [{ $ref: 'Band' }, { type: 'null' }] },
          note: { type: ['string', 'null'] },
          value: { anyOf: [{ type: 'number' }, { type: 'boolean' }, { type: 'integer' }] },
          levels: { enum: [1, 2, true, null] },
        },
      },
    });
    expect(declaration(source, 'Band')).to.equal("export type Band = 'low' | 'high';".replaceAll("'", '"'));
    expect(declaration(source, 'Case')).to.equal(
      [
        'export interface Case {',
        '  band: Band;',
        '  kind: "case";',
        '  score: Band | null;',
        '  note: string | null;',
        '  value: number | boolean;',
        '  levels?: 1 | 2 | true | null;',
        '}',
      ].join('\n'),
    );
  });

  it('arrays of objects and of unions, names that need quotes, no type at all', () => {
    const source = generate({
      Keys: {
        type: 'object',
        additionalProperties: false,
        required: ['keys'],
        properties: {
          keys: {
            type: 'array',
            items: { type: 'object', additionalProperties: false, properties: { kid: { type: 'string' } } },
          },
          tags: { type: 'array', items: { type: ['string', 'null'] } },
          'content-type': { type: 'string' },
          ignored: { description: 'Any value; ignored.' },
        },
      },
    });
    expect(declaration(source, 'Keys')).to.equal(
      [
        'export interface Keys {',
        '  keys: Array<{',
        '    kid?: string;',
        '  }>;',
        '  tags?: Array<string | null>;',
        '  "content-type"?: string;',
        '  /** Any value; ignored. */',
        '  ignored?: unknown;',
        '}',
      ].join('\n'),
    );
  });

  it('descriptions become doc comments, a "*/" in one escaped', () => {
    const source = generate({
      Note: { description: 'A note; ends a comment with */ here.', type: 'string' },
      Empty: { description: '', type: 'string' },
    });
    expect(source).to.include('/** A note; ends a comment with *\\/ here. */\nexport type Note = string;');
    expect(source).to.include('\nexport type Empty = string;');
    expect(source).not.to.include('/**  */');
  });

  it('declares every contract sorted by name, then the Contracts map from name to type', () => {
    const source = generate({ Zed: { type: 'string' }, Alpha: { type: 'integer' } });
    expect(source.startsWith('// Generated by `make contract-types`')).to.equal(true);
    expect(source.indexOf('export type Alpha = number;')).to.be.lessThan(
      source.indexOf('export type Zed = string;'),
    );
    expect(source).to.include('export interface Contracts {\n  Alpha: Alpha;\n  Zed: Zed;\n}');
  });

  it('constraints that do not change the type leave it as it is', () => {
    const constraints: JsonSchema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://mrp.example.com/schemas/Bounded',
      title: 'Bounded',
      format: 'uuid',
      pattern: '^[a-z]+$',
      minLength: 1,
      maxLength: 2,
      minimum: 0,
      maximum: 9,
      minItems: 1,
      maxItems: 2,
      minProperties: 1,
      maxProperties: 2,
      propertyNames: { pattern: '^[a-z]+$' },
      example: 'a',
      examples: ['a'],
    };
    const plain = generate({ Bounded: { type: 'string' } });
    expect(generate({ Bounded: { type: 'string', ...constraints } })).to.equal(plain);
  });

  it('a schema without a type is an object when it names members, required ones or others', () => {
    expect(declaration(generate({ A: { required: [] } }), 'A')).to.equal(
      'export type A = Record<string, unknown>;',
    );
    expect(declaration(generate({ A: { additionalProperties: { type: 'string' } } }), 'A')).to.equal(
      'export type A = Record<string, string>;',
    );
    expect(declaration(generate({ A: { properties: { b: { type: 'string' } } } }), 'A')).to.equal(
      'export interface A {\n  b?: string;\n  [name: string]: unknown;\n}',
    );
    expect(
      declaration(generate({ A: { additionalProperties: true, properties: { b: { const: 1 } } } }), 'A'),
    ).to.equal('export interface A {\n  b?: 1;\n  [name: string]: unknown;\n}');
  });

  it("an object contract keeps its description as the interface's doc comment; one that allows no members is empty", () => {
    const source = generate({
      Box: {
        description: 'A box.',
        type: 'object',
        additionalProperties: false,
        properties: { a: { type: 'string' } },
      },
      Empty: { type: 'object', additionalProperties: false },
    });
    expect(source).to.include('/** A box. */\nexport interface Box {\n  a?: string;\n}');
    expect(source).to.include('export type Empty = Record<string, never>;');
  });

  it('refuses what it cannot type faithfully, naming where', () => {
    const cases: [Record<string, JsonSchema>, string][] = [
      [{ A: { type: 'string', if: { type: 'string' } } }, 'A: keyword if is not supported'],
      [{ A: { type: 'object', properties: { b: { allOf: [] } } } }, 'A.b: keyword allOf is not supported'],
      [{ A: { $ref: 'Missing' } }, 'A: $ref "Missing" names no contract'],
      [{ A: { type: 'object', required: ['b'], properties: {} } }, 'A: required names b'],
      [{ A: { enum: [{ b: 1 }] } }, 'A: enum/const value {"b":1} is not a primitive'],
      [{ A: { enum: [] } }, 'A: enum must be a non-empty array'],
      [{ A: { oneOf: [] } }, 'A: oneOf/anyOf must be a non-empty array'],
      [{ A: { type: 'date' } }, 'A: type "date" is not supported'],
      [{ A: { type: 'array' } }, 'A.items: not a schema object'],
      [{ A: { type: 'object', properties: { b: 'string' } } }, 'A.b: not a schema object'],
      [{ A: { type: 'object', properties: { b: null } } }, 'A.b: not a schema object'],
      [{ A: { type: 'object', properties: [] } }, 'A.properties: not a schema object'],
      [{ A: { type: 'object', additionalProperties: 'no' } }, 'A.additionalProperties: not a schema object'],
      [
        { A: { type: 'object', additionalProperties: { type: 'date' } } },
        'A.*: type "date" is not supported',
      ],
      [{ A: { type: 'object', required: [5], properties: {} } }, 'A: required names 5'],
      [{ A: { type: 'object', required: ['constructor'], properties: {} } }, 'A: required names constructor'],
      [{ A: { $ref: 5 } }, 'A: $ref 5 names no contract'],
      [{ A: { oneOf: [{ type: 'string' }, 'number'] } }, 'A[1]: not a schema object'],
      [{ A: { anyOf: [{ type: 'string' }, { type: 'date' }] } }, 'A[1]: type "date" is not supported'],
      [{ A: { type: 'array', items: { type: 'date' } } }, 'A[]: type "date" is not supported'],
      [{ A: { type: 'constructor' } }, 'A: type "constructor" is not supported'],
      [{ A: { type: ['string', 5] } }, 'A: type 5 is not supported'],
    ];
    for (const [schemas, message] of cases) {
      expect(() => generate(schemas), message).to.throw(message);
    }
  });
});
