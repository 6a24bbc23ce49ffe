import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../src/index.ts';
import { REDACTED_KEYS, redactDeep } from '../src/logger.ts';

/** Everything a logger wrote, as text. */
function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('log redaction', () => {
  const SECRETS = {
    password: 'pw-hunter2',
    client_secret: 'cs-0123456789abcdef',
    access_token: 'at-eyJhbGciOiJFUzI1NiJ9',
    refresh_token: 'rt-eyJhbGciOiJFUzI1NiJ9',
    token: 'tk-eyJhbGciOiJFUzI1NiJ9',
    authorization: 'Bearer az-eyJhbGciOiJFUzI1NiJ9',
    cookie: 'session=ck-abcdef',
    'set-cookie': 'session=sc-abcdef',
  };

  it('takes out every secret, token, cookie and authorization header at any depth and in any case', async () => {
    const { stream, text } = capture();
    const logger = createLogger({ serviceName: 'redaction-test', destination: stream });
    logger.info(
      {
        ...SECRETS,
        req: { headers: { Authorization: SECRETS.authorization, Cookie: SECRETS.cookie } },
        body: {
          form: { client_secret: SECRETS.client_secret, nested: [{ Access_Token: SECRETS.access_token }] },
        },
        deep: {
          a: {
            b: { c: { d: { refresh_token: SECRETS.refresh_token, 'Set-Cookie': SECRETS['set-cookie'] } } },
          },
        },
        kept: 'visible-value',
      },
      'a request carrying secrets',
    );
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const line = text();
    expect(line).to.include('a request carrying secrets');
    expect(line).to.include('visible-value');
    for (const [name, value] of Object.entries(SECRETS)) expect(line, name).not.to.include(value);
    expect(line).to.include('[redacted]');
  });

  it('leaves a line without secrets as it is, without copying it', () => {
    const clean = { method: 'GET', path: '/v1/cases', status_code: 200, nested: { list: [1, { a: 'b' }] } };
    expect(redactDeep(clean)).to.equal(clean);
    for (const key of REDACTED_KEYS)
      expect(redactDeep({ [key.toUpperCase()]: 'x' }), key).to.deep.equal({
        [key.toUpperCase()]: '[redacted]',
      });
  });
});
