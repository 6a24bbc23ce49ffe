import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createUnzip } from 'node:zlib';
import type { Middleware } from 'koa';

declare module 'koa' {
  interface Request {
    /** The parsed body (see bodyParser); undefined when none was read. */
    body?: unknown;
  }
}

/** Methods whose bodies are read; a body on any other method is ignored, as HTTP allows. */
const PARSED_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const JSON_TYPES = [
  'application/json',
  'application/json-patch+json',
  'application/vnd.api+json',
  'application/csp-report',
  'application/reports+json',
];

/** A failure to read or parse a body: `status` is the answer's, `type` says which. */
export interface BodyError extends Error {
  readonly status: number;
  readonly type: string;
}

export interface BodyParserOptions {
  /** Largest accepted body after decompression, e.g. "100kb" (b, kb, mb or gb, 1024-based). */
  readonly limit: string;
  /** Turns a read or parse failure into the error to throw. */
  readonly onError: (error: BodyError) => Error;
}

function bodyError(status: number, type: string, message: string): BodyError {
  return Object.assign(new Error(message), { status, type });
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** "100kb" -> 102400. Throws on anything else, so a bad HTTP_BODY_LIMIT stops the service at start-up. */
export function parseByteSize(size: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(size);
  const unit = UNITS[(match?.[2] ?? 'b').toLowerCase()];
  if (!match?.[1] || unit === undefined)
    throw new Error(`"${size}" is not a size: a number of bytes, or with kb, mb or gb`);
  return Math.floor(Number(match[1]) * unit);
}

/** What decompresses the body as `Content-Encoding` says (gzip, deflate or br); null for identity. */
function inflaterFor(req: IncomingMessage): Transform | null {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return null;
  if (encoding === 'gzip' || encoding === 'deflate') return createUnzip();
  if (encoding === 'br') return createBrotliDecompress();
  throw bodyError(415, 'encoding.unsupported', `unsupported content encoding "${encoding}"`);
}

/**
 * Reads the whole body as UTF-8 text (a byte order mark dropped), refusing more than `limit` bytes: at
 * once when `Content-Length` says so, else as soon as the decompressed bytes pass it. On a failure the
 * request is unpiped and paused, not destroyed, so the problem can still be answered on its connection.
 */
async function readText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit && !req.headers['content-encoding']) {
    throw bodyError(413, 'entity.too.large', 'request entity too large');
  }
  const inflater = inflaterFor(req);
  const stream: Readable = inflater ? req.pipe(inflater) : req;
  return await new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const settle = (error: BodyError | null) => {
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      req.off('close', onClose);
      if (error === null) {
        const text = Buffer.concat(chunks, received).toString('utf8');
        resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
        return;
      }
      if (inflater) {
        req.unpipe(inflater);
        inflater.destroy();
      }
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) settle(bodyError(413, 'entity.too.large', 'request entity too large'));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      settle(null);
    };
    const aborted = () => bodyError(400, 'request.aborted', 'request aborted');
    // The request's own stream fails when the client goes away mid-body (ECONNRESET); zlib's when the bytes
    // do not inflate.
    const onError = (error: NodeJS.ErrnoException) => {
      settle(
        error.code === 'ECONNRESET'
          ? aborted()
          : bodyError(400, 'entity.parse.failed', 'the body cannot be decompressed'),
      );
    };
    // The client went away before the end of its body (with an inflater, the request's error stays there).
    const onClose = () => {
      if (!req.complete) settle(aborted());
    };
    stream.on('data', onData).on('end', onEnd).on('error', onError);
    req.on('close', onClose);
  });
}

/** A key that could reach an object's prototype when the parsed body is later assigned or merged. */
const SUSPECT_KEY =
  /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"|"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"/;

/**
 * Strict JSON: an object or an array (empty text is `{}`), with no `__proto__` key and no `constructor`
 * key holding a `prototype`, anywhere.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  if (!/^[ \t\n\r]*[[{]/.test(text)) {
    throw bodyError(400, 'entity.parse.failed', 'invalid JSON, only supports object and array');
  }
  try {
    if (!SUSPECT_KEY.test(text)) return JSON.parse(text) as unknown;
    return JSON.parse(text, (key, value: unknown) => {
      if (
        key === '__proto__' ||
        (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)
      ) {
        throw bodyError(400, 'entity.parse.failed', 'the body sets an object prototype');
      }
      return value;
    }) as unknown;
  } catch (error) {
    if ((error as Partial<BodyError>).type) throw error;
    throw bodyError(400, 'entity.parse.failed', 'invalid JSON');
  }
}

/** `a=1&b=2` as `{ a: '1', b: '2' }`; a name given more than once has the array of its values. */
export function parseFormBody(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = fields[name];
    fields[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  // A plain object for the validator and handlers, its own "__proto__" field (if sent) kept as data.
  return Object.fromEntries(Object.entries(fields));
}

/**
 * Reads JSON (strict: an object or an array) and `application/x-www-form-urlencoded` bodies into
 * `ctx.request.body`, up to `limit`; other content types are left unread for validation to refuse.
 * Node's own stream, zlib and URLSearchParams instead of a general body library: the services accept
 * exactly these two types, and co-body's dependency tree (raw-body, iconv-lite, qs and its helpers, a
 * second mime database) cost every process about a megabyte of memory.
 */
export function bodyParser(options: BodyParserOptions): Middleware {
  const limit = parseByteSize(options.limit);
  return async (ctx, next) => {
    if (PARSED_METHODS.has(ctx.method)) {
      try {
        if (ctx.is(JSON_TYPES)) {
          ctx.request.body = parseJsonBody(await readText(ctx.req, limit));
        } else if (ctx.is('urlencoded')) {
          ctx.request.body = parseFormBody(await readText(ctx.req, limit));
        }
      } catch (error) {
        if (typeof (error as Partial<BodyError>).type !== 'string') throw error;
        throw options.onError(error as BodyError);
      }
    }
    await next();
  };
}
