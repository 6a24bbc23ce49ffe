/**
 * Reads and sends a request collection in the `.http` format of the VS Code REST Client (the subset the
 * repository's collections use): file variables (`@name = value`), requests separated by `###` lines, a
 * request named by `# @name <name>`, headers up to a blank line and then the body, and `{{...}}` references
 * to a variable, to `$timestamp`, or to an earlier response (`{{login.response.body.access_token}}`,
 * `{{case.response.headers.x-request-id}}`).
 */
export interface HttpFileRequest {
  readonly name: string | undefined;
  /** The `###` line's text: what the request is for. */
  readonly title: string;
  readonly method: string;
  readonly url: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string | undefined;
}

export interface HttpFile {
  readonly variables: ReadonlyMap<string, string>;
  readonly requests: readonly HttpFileRequest[];
}

const COMMENT = /^\s*(#|\/\/)/;

/** Parses a collection; throws on a request line it cannot read. Pure. */
export function parseHttpFile(text: string): HttpFile {
  const variables = new Map<string, string>();
  const requests: HttpFileRequest[] = [];
  const blocks: { title: string; lines: string[] }[] = [{ title: '', lines: [] }];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('###')) blocks.push({ title: line.slice(3).trim(), lines: [] });
    else blocks.at(-1)!.lines.push(line);
  }
  for (const [index, block] of blocks.entries()) {
    let name: string | undefined;
    let requestLine: string | undefined;
    const headers: [string, string][] = [];
    const body: string[] = [];
    let part: 'start' | 'headers' | 'body' = 'start';
    for (const line of block.lines) {
      if (part === 'start') {
        const named = /^\s*(?:#|\/\/)\s*@name\s+(\S+)/.exec(line);
        if (named) name = named[1];
        const variable = /^@([\w-]+)\s*=\s*(.*)$/.exec(line);
        if (variable) variables.set(variable[1]!, variable[2]!.trim());
        if (named || variable || COMMENT.test(line) || line.trim() === '') continue;
        requestLine = line.trim();
        part = 'headers';
      } else if (part === 'headers') {
        if (line.trim() === '') {
          part = 'body';
          continue;
        }
        if (COMMENT.test(line)) continue;
        const colon = line.indexOf(':');
        if (colon <= 0) throw new Error(`request ${index}: not a header: ${line}`);
        headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
      } else body.push(line);
    }
    if (requestLine === undefined) {
      if (index > 0) throw new Error(`request ${index} (${block.title}) has no request line`);
      continue;
    }
    const match = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\S+)(\s+HTTP\/[\d.]+)?$/.exec(requestLine);
    if (!match) throw new Error(`request ${index}: not a request line: ${requestLine}`);
    const text = body.join('\n').trim();
    requests.push({
      name,
      title: block.title,
      method: match[1]!,
      url: match[2]!,
      headers,
      body: text === '' ? undefined : text,
    });
  }
  return { variables, requests };
}

export interface SentResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: unknown;
}

/** What one request of the collection got. */
export interface SentRequest {
  readonly request: HttpFileRequest;
  readonly url: string;
  readonly response: SentResponse;
}

function lookup(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Sends the collection's requests in order, each `{{...}}` resolved from the variables (`overrides` win,
 * e.g. the gateway of a test platform) and the responses so far. Throws on a reference it cannot resolve.
 */
export async function sendHttpFile(
  file: HttpFile,
  overrides: Readonly<Record<string, string>> = {},
): Promise<SentRequest[]> {
  const responses = new Map<string, SentResponse>();
  const timestamp = String(Math.floor(Date.now() / 1000));
  const resolve = (text: string, depth = 0): string =>
    text.replace(/\{\{\s*([^}]+?)\s*\}\}/g, (_, reference: string) => {
      if (depth > 10) throw new Error(`variables refer to each other: ${reference}`);
      if (reference === '$timestamp') return timestamp;
      if (reference in overrides) return overrides[reference]!;
      const variable = file.variables.get(reference);
      if (variable !== undefined) return resolve(variable, depth + 1);
      const [name, kind, part, ...path] = reference.split('.');
      const response = name === undefined ? undefined : responses.get(name);
      if (response && kind === 'response' && part === 'body') {
        const found = lookup(response.body, path[0] === '$' ? path.slice(1) : path);
        if (typeof found === 'string' || typeof found === 'number') return String(found);
      }
      if (response && kind === 'response' && part === 'headers' && path.length === 1) {
        const found = response.headers.get(path[0]!);
        if (found !== null) return found;
      }
      throw new Error(`cannot resolve {{${reference}}}`);
    });
  const sent: SentRequest[] = [];
  for (const request of file.requests) {
    const url = resolve(request.url);
    const answer = await fetch(url, {
      method: request.method,
      headers: request.headers.map(([name, value]) => [name, resolve(value)] as [string, string]),
      body: request.body === undefined ? undefined : resolve(request.body),
    });
    const text = await answer.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const response = { status: answer.status, headers: answer.headers, text, body };
    if (request.name) responses.set(request.name, response);
    sent.push({ request, url, response });
  }
  return sent;
}
