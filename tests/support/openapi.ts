import { expect } from 'chai';
import type { OpenApiDocument } from '@mrp/schemas';

/**
 * Asserts that a parsed body is an OpenAPI document as a service serves it (no contract in
 * libs/schemas/json describes one, so this checks the members the tests read) and returns it typed.
 */
export function openApiDocument(body: unknown): OpenApiDocument {
  expect(body, 'an OpenAPI document').to.be.an('object').that.is.not.an('array');
  const { openapi, paths, components } = body as Record<string, unknown>;
  expect(openapi, 'openapi').to.be.a('string');
  expect(paths, 'paths').to.be.an('object');
  for (const [path, operations] of Object.entries(paths as object))
    expect(operations, `paths ${path}`).to.be.an('object');
  expect(components, 'components').to.be.an('object');
  expect((components as Record<string, unknown>).schemas, 'components.schemas').to.be.an('object');
  return body as OpenApiDocument;
}
