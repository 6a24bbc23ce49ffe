import { expect } from 'chai';
import { AppError } from '@mrp/platform';
import { decodeCursor, encodeCursor } from '../src/domain/user.use-cases.ts';

describe('page cursors', () => {
  it('round-trip a position', () => {
    const position = {
      createdAtKey: '2026-11-24 02:02:50.254553+00',
      id: '4d3dfbd3-72d9-4025-b04f-3871593884e2',
    };
    expect(decodeCursor(encodeCursor(position))).to.deep.equal(position);
  });

  for (const cursor of [
    '',
    'not-base64-json',
    Buffer.from('{"a":1}').toString('base64url'),
    Buffer.from('["yesterday","x"]').toString('base64url'),
    Buffer.from('["2026-01-01","not-a-uuid"]').toString('base64url'),
    Buffer.from('["1","4d3dfbd3-72d9-4025-b04f-3871593884e2"]').toString('base64url'),
  ]) {
    it(`refuses "${cursor}" with a 400 invalid_cursor`, () => {
      expect(() => decodeCursor(cursor))
        .to.throw(AppError)
        .with.property('status', 400);
    });
  }
});
