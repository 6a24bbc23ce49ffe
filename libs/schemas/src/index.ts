export { getSchema, getValidator, schemaNames, SCHEMA_BASE, type JsonSchema } from './registry.ts';
export { contractTypesSource } from './contract-types.ts';
export type {
  RouteSpec,
  ResponseSpec,
  HttpMethod,
  BodyMediaType,
  ContractName,
  TypedInput,
} from './route-spec.ts';
export {
  validateRequest,
  RequestValidationError,
  type RequestFieldError,
  type ValidatedInput,
} from './validate-request.ts';
export { buildOpenApiDocument, toOpenApiPath, type OpenApiDocument, type OpenApiInfo } from './openapi.ts';
export * from './types.ts';
export {
  SERVICE_CLIENT_SCOPES,
  SERVICE_SCOPES,
  scopesOfClient,
  type ServiceScope,
} from './service-scopes.ts';
export {
  encodeKeysetCursor,
  isPostgresTimestamp,
  parseKeysetCursor,
  type KeysetPosition,
} from './keyset-cursor.ts';
