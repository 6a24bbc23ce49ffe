import { expect } from 'chai';
import { encodeKeysetCursor, isPostgresTimestamp, parseKeysetCursor } from '../src/keyset-cursor.ts';

const id = '4d3dfbd3-72d9-4025-b04f-3871593884e2';
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('the keyset cursor codec', () => {
  it('round-trips a position, as base64url of [timestamp, id]', () => {
    const position = { timestamp: '2026-11-24 02:02:50.254553+00', id };
    const cursor = encodeKeysetCursor(position);
    expect(cursor).to.equal(encode([position.timestamp, position.id]));
    expect(parseKeysetCursor(cursor)).to.deep.equal(position);
    const upper = { timestamp: '2026-12-31 23:59:59+00', id: id.toUpperCase() };
    expect(parseKeysetCursor(encodeKeysetCursor(upper))).to.deep.equal(upper);
  });

  it('accepts a timestamptz as Postgres prints it, every field at its bounds', () => {
    for (const value of [
      '2026-11-24 02:02:50+00',
      '2024-02-29 23:59:59.5+05:30',
      '0001-01-01 00:00:00-12',
      '2026-12-31 23:59:59.999999+15:59',
      '2026-01-31 00:00:00+14',
      '2026-04-30 12:00:00-00',
    ])
      expect(isPostgresTimestamp(value), value).to.equal(true);
  });

  it('refuses a timestamptz with any field out of range or out of form', () => {
    for (const value of [
      '',
      'yesterday',
      '0000-01-01 00:00:00+00',
      '2026-00-10 00:00:00+00',
      '2026-13-01 00:00:00+00',
      '2026-01-00 00:00:00+00',
      '2026-04-31 00:00:00+00',
      '2025-02-29 00:00:00+00',
      '2026-01-01 24:00:00+00',
      '2026-01-01 00:60:00+00',
      '2026-01-01 00:00:60+00',
      '2026-01-01 00:00:00+16',
      '2026-01-01 00:00:00+05:60',
      '2026-01-01 00:00:00.1234567+00',
      '2026-01-01T00:00:00+00',
      '2026-01-01 00:00:00',
      'x2026-01-01 00:00:00+00',
      '2026-01-01 00:00:00+00x',
    ])
      expect(isPostgresTimestamp(value), value).to.equal(false);
  });

  it('refuses a cursor it could not have issued', () => {
    for (const cursor of [
      '',
      'not-base64-json',
      encode({ a: 1 }),
      encode(null),
      encode('2026-01-01 00:00:00+00'),
      encode([20260101, id]),
      encode(['2026-01-01 00:00:00+00', 42]),
      encode(['2026-01-01 00:00:00+00']),
      encode(['2026-01-01 00:00:00+00', id, 'extra']),
      encode(['yesterday', id]),
      encode(['2026-01-01 00:00:00+00', 'not-a-uuid']),
      encode(['2026-01-01 00:00:00+00', `${id}x`]),
      encode(['2026-01-01 00:00:00+00', `x${id}`]),
    ])
      expect(parseKeysetCursor(cursor), cursor).to.equal(undefined);
  });
});
