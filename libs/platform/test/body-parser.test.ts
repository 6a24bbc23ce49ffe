import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { expect } from 'chai';
import Koa from 'koa';
import {
  bodyParser,
  parseByteSize,
  parseFormBody,
  parseJsonBody,
  type BodyError,
} from '../src/body-parser.ts';

interface Answer {
  readonly status: number;
  readonly body: {
    body?: unknown;
    read?: boolean;
    error?: { status: number; type: string; message: string };
  };
}

/**
 * A Koa app with only the body parser: answers 200 with what it read, or the failure it was given, which
 * it also records in `failures` (for a client that is gone before the answer).
 */
async function withParser(
  limit: string,
  run: (send: Sender, failures: BodyError[]) => Promise<void>,
): Promise<void> {
  const failures: BodyError[] = [];
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const failure = (error as { cause: BodyError }).cause;
      failures.push(failure);
      ctx.status = failure.status;
      ctx.body = { error: { status: failure.status, type: failure.type, message: failure.message } };
    }
  });
  app.use(bodyParser({ limit, onError: (error) => new Error('refused', { cause: error }) }));
  app.use((ctx) => {
    ctx.body = {
      read: 'body' in ctx.request && ctx.request.body !== undefined,
      body: ctx.request.body ?? null,
    };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run((options) => send(port, options), failures);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Written in these chunks, without a Content-Length unless the headers give one. */
  readonly chunks: (string | Buffer)[];
  /** Leave the request unfinished: `answered` once the server has answered, `abort` to go away. */
  readonly hold?: { answered?: () => void; abort?: boolean };
}
type Sender = (options: SendOptions) => Promise<Answer>;

function send(port: number, options: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: '/',
        headers: options.headers ?? {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] });
        });
      },
    );
    req.on('error', reject);
    for (const chunk of options.chunks) req.write(chunk);
    if (!options.hold) req.end();
    else if (options.hold.abort)
      setTimeout(() => {
        req.destroy();
        resolve({ status: 0, body: {} });
      }, 50);
  });
}

const json = (text: string | Buffer, headers: Record<string, string> = {}): SendOptions => ({
  headers: {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  },
  chunks: [text],
});

describe('the body parser', () => {
  describe('parseByteSize', () => {
    it('reads bytes and 1024-based units in any case, with decimals', () => {
      expect(parseByteSize('10')).to.equal(10);
      expect(parseByteSize('10b')).to.equal(10);
      expect(parseByteSize('100kb')).to.equal(102_400);
      expect(parseByteSize('16KB')).to.equal(16_384);
      expect(parseByteSize(' 1.5 mb ')).to.equal(1_572_864);
      expect(parseByteSize('0.25kb')).to.equal(256);
      expect(parseByteSize('1gb')).to.equal(1024 ** 3);
    });

    it('refuses anything else', () => {
      for (const bad of ['', 'kb', 'abc', '-1kb', '10 tb', '1e3', '10kbs']) {
        expect(() => parseByteSize(bad), bad).to.throw(/is not a size/);
      }
    });
  });

  describe('parseJsonBody', () => {
    it('takes an object or an array, after JSON whitespace; empty text is an empty object', () => {
      expect(parseJsonBody('{"a":1}')).to.deep.equal({ a: 1 });
      expect(parseJsonBody(' \n\t[1,2]')).to.deep.equal([1, 2]);
      expect(parseJsonBody('')).to.deep.equal({});
      expect(parseJsonBody('  ')).to.deep.equal({});
    });

    it('refuses a scalar at the top, and says so', () => {
      for (const scalar of ['42', '"x"', 'true', 'null', 'x{"a":1}']) {
        expect(() => parseJsonBody(scalar))
          .to.throw('invalid JSON, only supports object and array')
          .with.property('type', 'entity.parse.failed');
      }
    });

    it('refuses text that is not JSON as a parse failure', () => {
      for (const bad of ['{"a":', '{a:1}', '[1,]', "{'a':1}"]) {
        const error = (() => {
          try {
            parseJsonBody(bad);
          } catch (caught) {
            return caught as BodyError;
          }
          return undefined;
        })();
        expect(error, bad).to.include({ status: 400, type: 'entity.parse.failed', message: 'invalid JSON' });
      }
    });

    it('refuses a __proto__ key at any depth, escaped or not, and a constructor holding a prototype', () => {
      for (const bad of [
        '{"__proto__":{"admin":true}}',
        '{"a":[{"__proto__":{}}]}',
        '{"\\u005f_proto__":{}}',
        '{"constructor":{"prototype":{"admin":true}}}',
      ]) {
        expect(() => parseJsonBody(bad), bad)
          .to.throw('the body sets an object prototype')
          .with.property('status', 400);
      }
      expect(({} as Record<string, unknown>).admin).to.equal(undefined);
    });

    it('keeps a constructor key that is plain data, and text that only mentions the words', () => {
      expect(parseJsonBody('{"constructor":"x","note":"__proto__"}')).to.deep.equal({
        constructor: 'x',
        note: '__proto__',
      });
    });
  });

  describe('parseFormBody', () => {
    it('reads fields, decodes + and percent escapes, and gives a repeated name all its values', () => {
      expect(parseFormBody('grant_type=password&username=a%40b.co&note=two+words&x=1&x=2&x=3')).to.deep.equal(
        {
          grant_type: 'password',
          username: 'a@b.co',
          note: 'two words',
          x: ['1', '2', '3'],
        },
      );
      expect(parseFormBody('')).to.deep.equal({});
    });

    it('keeps bracketed names as they are, and __proto__ or constructor as plain fields', () => {
      const fields = parseFormBody('a[b]=c&__proto__=x&constructor=y');
      expect(Object.keys(fields)).to.deep.equal(['a[b]', '__proto__', 'constructor']);
      expect(Object.getPrototypeOf(fields)).to.equal(Object.prototype);
      expect(fields.constructor).to.equal('y');
      expect(({} as Record<string, unknown>).x).to.equal(undefined);
    });
  });

  describe('as middleware', () => {
    it('reads a JSON body, a form body, and leaves other types and other methods unread', async () => {
      await withParser('1kb', async (post) => {
        expect(await post(json('\uFEFF{"title":"é"}'))).to.deep.equal({
          status: 200,
          body: { read: true, body: { title: 'é' } },
        });
        const form = await post({
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          chunks: ['a=1&', 'b=2'],
        });
        expect(form.body).to.deep.equal({ read: true, body: { a: '1', b: '2' } });
        const text = await post({ headers: { 'content-type': 'text/plain' }, chunks: ['{"a":1}'] });
        expect(text.body).to.deep.equal({ read: false, body: null });
        const get = await post({ method: 'GET', ...json('{"a":1}') });
        expect(get.body).to.deep.equal({ read: false, body: null });
        for (const method of ['PUT', 'PATCH']) {
          const written = await post({ method, ...json('{"a":1}') });
          expect(written.body, method).to.deep.equal({ read: true, body: { a: 1 } });
        }
        const vendor = await post(json('[1]', { 'content-type': 'application/vnd.api+json' }));
        expect(vendor.body).to.deep.equal({ read: true, body: [1] });
      });
    });

    it('refuses a body over the limit by its Content-Length, or while it streams in', async () => {
      await withParser('18b', async (post) => {
        // 18 bytes: at the limit.
        expect(await post(json('{"a":"0123456789"}'))).to.deep.include({ status: 200 });
        const declared = await post(json('{"a":"0123456789x"}'));
        expect(declared).to.deep.equal({
          status: 413,
          body: { error: { status: 413, type: 'entity.too.large', message: 'request entity too large' } },
        });
        const streamed = await post({
          headers: { 'content-type': 'application/json' },
          chunks: ['{"a":"0123', '456789x"}'],
        });
        expect(streamed.body).to.deep.equal({
          error: { status: 413, type: 'entity.too.large', message: 'request entity too large' },
        });
      });
    });

    it('inflates gzip, deflate and br bodies, counting the limit on the inflated bytes', async () => {
      await withParser('1kb', async (post) => {
        const body = '{"title":"compressed"}';
        for (const [encoding, bytes] of [
          ['gzip', gzipSync(body)],
          ['deflate', deflateSync(body)],
          ['br', brotliCompressSync(body)],
        ] as const) {
          const answer = await post(json(bytes, { 'content-encoding': encoding }));
          expect(answer.body, encoding).to.deep.equal({ read: true, body: { title: 'compressed' } });
        }
        const bomb = gzipSync(`{"a":"${'x'.repeat(100_000)}"}`);
        expect(bomb.length).to.be.below(1024);
        const refused = await post(json(bomb, { 'content-encoding': 'gzip' }));
        expect(refused.status).to.equal(413);
      });
    });

    it('refuses an unknown encoding (415) and bytes that do not inflate (400)', async () => {
      await withParser('1kb', async (post) => {
        const unknown = await post(json('{}', { 'content-encoding': 'compress' }));
        expect(unknown).to.deep.equal({
          status: 415,
          body: {
            error: {
              status: 415,
              type: 'encoding.unsupported',
              message: 'unsupported content encoding "compress"',
            },
          },
        });
        const broken = await post(json('not gzip at all', { 'content-encoding': 'gzip' }));
        expect(broken).to.deep.equal({
          status: 400,
          body: {
            error: { status: 400, type: 'entity.parse.failed', message: 'the body cannot be decompressed' },
          },
        });
        const spelled = await post(json(gzipSync('{"a":1}'), { 'content-encoding': ' GZip ' }));
        expect(spelled.body).to.deep.equal({ read: true, body: { a: 1 } });
      });
    });

    it('answers 413 from the Content-Length alone, before the body has arrived', async () => {
      await withParser('16b', async (post) => {
        const answer = await post({
          headers: { 'content-type': 'application/json', 'content-length': '1000' },
          chunks: ['{"a":"'],
          hold: {},
        });
        expect(answer.status).to.equal(413);
      });
    });

    it('hands a body the client abandons half-way to onError as aborted, compressed or not', async () => {
      await withParser('1kb', async (post, failures) => {
        const half = gzipSync(`{"a":"${'x'.repeat(400)}"}`);
        for (const [headers, chunk] of [
          [{}, '{"a":"'],
          [{ 'content-encoding': 'gzip' }, half.subarray(0, half.length / 2)],
        ] as const) {
          const before = failures.length;
          await post({
            headers: { 'content-type': 'application/json', 'content-length': '1000', ...headers },
            chunks: [chunk],
            hold: { abort: true },
          });
          for (let waited = 0; failures.length === before && waited < 2000; waited += 20)
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(failures.map(({ status, type, message }) => ({ status, type, message }))).to.deep.equal([
          { status: 400, type: 'request.aborted', message: 'request aborted' },
          { status: 400, type: 'request.aborted', message: 'request aborted' },
        ]);
      });
    });

    it('hands malformed JSON to onError as a parse failure', async () => {
      await withParser('1kb', async (post) => {
        const answer = await post(json('{"a":'));
        expect(answer).to.deep.equal({
          status: 400,
          body: { error: { status: 400, type: 'entity.parse.failed', message: 'invalid JSON' } },
        });
      });
    });
  });
});
