import { expect } from 'chai';
import { AppError } from '@mrp/platform';
import { EVENT_TYPES } from '@mrp/events';
import { getSchema } from '@mrp/schemas';
import { assertFilter, decodeCursor, encodeCursor, parseInstant } from '../src/domain/audit.use-cases.ts';

const expect400 = (run: () => unknown, code: string) => {
  expect(run).to.throw(AppError).that.includes({ status: 400, code });
};

describe('audit page cursors', () => {
  it('round-trip a position', () => {
    const position = {
      occurredAtKey: '2026-11-24 02:02:50.254553+00',
      eventId: '4d3dfbd3-72d9-4025-b04f-3871593884e2',
    };
    expect(decodeCursor(encodeCursor(position))).to.deep.equal(position);
  });

  for (const cursor of [
    '',
    'not-base64-json',
    Buffer.from('{"a":1}').toString('base64url'),
    Buffer.from('["yesterday","x"]').toString('base64url'),
    Buffer.from('["2026-01-01 00:00:00+00","not-a-uuid"]').toString('base64url'),
    Buffer.from('["1","4d3dfbd3-72d9-4025-b04f-3871593884e2"]').toString('base64url'),
  ]) {
    it(`refuses "${cursor}" with a 400 invalid_cursor`, () => {
      expect400(() => decodeCursor(cursor), 'invalid_cursor');
    });
  }
});

describe('audit query filters', () => {
  it('turns case_id into its subject', () => {
    const id = '4D3DFBD3-72D9-4025-B04F-3871593884E2';
    expect(assertFilter({ case_id: id, limit: 20 }).subject).to.equal(`case:${id.toLowerCase()}`);
    expect(assertFilter({ subject: 'user:1', limit: 20 }).subject).to.equal('user:1');
  });

  it('refuses subject together with case_id', () => {
    expect400(
      () => assertFilter({ subject: 'case:x', case_id: '4d3dfbd3-72d9-4025-b04f-3871593884e2', limit: 20 }),
      'validation_failed',
    );
  });

  it('accepts since equal to until and refuses since after until', () => {
    expect(() =>
      assertFilter({ since: '2026-01-01T00:00:00Z', until: '2026-01-01T01:00:00+01:00', limit: 1 }),
    ).not.to.throw();
    expect400(
      () => assertFilter({ since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z', limit: 1 }),
      'validation_failed',
    );
  });

  it('compares instants across offsets, fractions and leap seconds', () => {
    expect(parseInstant('2026-01-01T01:00:00+01:00')).to.equal(Date.parse('2026-01-01T00:00:00Z'));
    expect(parseInstant('2016-12-31T23:59:60Z')).to.equal(Date.parse('2017-01-01T00:00:00Z'));
    expect(parseInstant('2026-01-01t00:00:00.123456z')).to.equal(Date.parse('2026-01-01T00:00:00.123Z'));
    expect(parseInstant('0000-01-01T00:00:00Z')).to.equal(undefined);
  });

  it('refuses the year 0000, which Postgres cannot store', () => {
    expect400(() => assertFilter({ since: '0000-01-01T00:00:00Z', limit: 1 }), 'validation_failed');
  });
});

describe('audit contracts', () => {
  it('list the same event types as the event envelope', () => {
    const types = Object.keys(EVENT_TYPES).sort();
    const enumOf = (schema: string) =>
      [...((getSchema(schema).properties as Record<string, { enum: string[] }>).type?.enum ?? [])].sort();
    expect(enumOf('AuditQuery')).to.deep.equal(types);
    expect(enumOf('AuditEvent')).to.deep.equal(types);
    expect(enumOf('EventEnvelope')).to.deep.equal(types);
  });
});
