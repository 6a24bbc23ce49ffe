import { expect } from 'chai';
import { AppError, decodeKeysetCursor, encodeKeysetCursor, isPostgresTimestamp } from '../src/index.ts';

const id = '4d3dfbd3-72d9-4025-b04f-3871593884e2';
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

// The codec itself (every field's range, every malformed cursor) is tested in libs/schemas; here, what the
// platform adds: a cursor it could not have issued is a 400 invalid_cursor.
describe('keyset cursors', () => {
  it('round-trip a position', () => {
    const position = { timestamp: '2026-11-24 02:02:50.254553+00', id };
    expect(decodeKeysetCursor(encodeKeysetCursor(position))).to.deep.equal(position);
    expect(isPostgresTimestamp(position.timestamp)).to.equal(true);
  });

  const refused = [
    '',
    'not-base64-json',
    encode({ a: 1 }),
    encode(['2026-02-30 00:00:00+00', id]),
    encode(['2026-01-01 00:00:00+00', 'not-a-uuid']),
  ];
  for (const cursor of refused) {
    it(`refuses "${cursor.slice(0, 40)}" with a 400 invalid_cursor`, () => {
      expect(() => decodeKeysetCursor(cursor))
        .to.throw(AppError)
        .with.property('code', 'invalid_cursor');
    });
  }
});
