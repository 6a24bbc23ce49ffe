import { expect } from 'chai';
import { AppError, decodeKeysetCursor, encodeKeysetCursor, isPostgresTimestamp } from '../src/index.ts';

const id = '4d3dfbd3-72d9-4025-b04f-3871593884e2';
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('keyset cursors', () => {
  it('round-trip a position', () => {
    const position = { timestamp: '2026-11-24 02:02:50.254553+00', id };
    expect(decodeKeysetCursor(encodeKeysetCursor(position))).to.deep.equal(position);
  });

  it('accept what Postgres prints, offsets included', () => {
    for (const value of [
      '2026-11-24 02:02:50+00',
      '2024-02-29 23:59:59.5+05:30',
      '0001-01-01 00:00:00-12',
      '2026-12-31 23:59:59.999999+15:59',
      '2026-01-31 00:00:00+14',
    ]) {
      expect(isPostgresTimestamp(value), value).to.equal(true);
    }
  });

  const refused = [
    '',
    'not-base64-json',
    encode({ a: 1 }),
    encode(['yesterday', id]),
    encode(['1', id]),
    encode(['2026-13-01 00:00:00+00', id]),
    encode(['2026-02-30 00:00:00+00', id]),
    encode(['2025-02-29 00:00:00+00', id]),
    encode(['2026-01-01 99:00:00+00', id]),
    encode(['0000-01-01 00:00:00+00', id]),
    encode(['2026-00-10 00:00:00+00', id]),
    encode(['2026-01-00 00:00:00+00', id]),
    encode(['2026-04-31 00:00:00+00', id]),
    encode(['2026-01-01 24:00:00+00', id]),
    encode(['2026-01-01 00:61:00+00', id]),
    encode(['2026-01-01 00:00:60+00', id]),
    encode(['2026-01-01 00:00:00+16', id]),
    encode(['2026-01-01 00:00:00+99', id]),
    encode(['2026-01-01 00:00:00+05:60', id]),
    encode(['2026-01-01 00:00:00.1234567+00', id]),
    encode(['2026-01-01T00:00:00+00', id]),
    encode(['x2026-01-01 00:00:00+00', id]),
    encode(['2026-01-01 00:00:00+00x', id]),
    encode([20260101, id]),
    encode(['2026-01-01 00:00:00+00', 42]),
    encode(['2026-01-01 00:00:00+00', id, 'extra']),
    encode(['2026-01-01 00:00:00+00']),
    encode(['2026-01-01 00:00:00+00', `${id}x`]),
    encode(['2026-01-01 00:00:00+00', `x${id}`]),
    encode(['2026-01-01 00:00:00+00', 'not-a-uuid']),
    encode(['2026-01-01 00:00:00+00', `urn:uuid:${id}`]),
  ];
  for (const cursor of refused) {
    it(`refuses "${cursor.slice(0, 40)}" with a 400 invalid_cursor`, () => {
      expect(() => decodeKeysetCursor(cursor))
        .to.throw(AppError)
        .with.property('code', 'invalid_cursor');
    });
  }
});
