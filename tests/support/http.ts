import { AssertionError } from 'chai';
import { getValidator, type ContractName, type Contracts } from '@mrp/schemas';

/** A response read whole: status, headers and the body parsed as JSON when it is JSON. */
export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly token?: string;
  readonly json?: unknown;
  /** A raw body, sent as is (with the content type given in headers). */
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** One HTTP call the way a client makes it, with no retries and nothing hidden. */
export async function request(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: options.method ?? 'GET', headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const parsed: unknown = /json/.test(type) && text ? JSON.parse(text) : undefined;
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/**
 * Asserts that a parsed JSON body matches the named contract (its JSON Schema in libs/schemas/json, with
 * the validator the services use) and returns it with the contract's generated type.
 */
export function contract<Name extends ContractName>(name: Name, body: unknown): Contracts[Name] {
  const validate = getValidator<Contracts[Name]>(name);
  if (!validate(body)) {
    const problems = (validate.errors ?? []).map(
      (error) => `${error.instancePath || '/'} ${error.message ?? ''}`,
    );
    throw new AssertionError(`expected a ${name}: ${problems.join('; ')}\n${JSON.stringify(body)}`);
  }
  return body;
}
