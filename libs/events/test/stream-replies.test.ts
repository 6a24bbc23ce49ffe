import { expect } from 'chai';
import { createEvent } from '../src/index.ts';
import {
  asString,
  decodeEntry,
  estimateLag,
  isNoGroupError,
  parseEntries,
  parsePendingCount,
  parsePendingEntries,
  parseReadReply,
  replyToRecord,
} from '../src/stream-replies.ts';

const event = createEvent({
  type: 'case_created',
  source: 'case-service',
  subject: 'case:4d3dfbd3-72d9-4025-b04f-3871593884e2',
  data: {
    case: {
      id: '4d3dfbd3-72d9-4025-b04f-3871593884e2',
      title: 'T',
      owner_id: '4d3dfbd3-72d9-4025-b04f-3871593884e2',
      status: 'OPEN',
      priority: 'medium',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
    },
  },
});

describe('Redis Stream replies as plain values', () => {
  it('reads strings, buffers and anything else as text', () => {
    expect(asString('a')).to.equal('a');
    expect(asString(Buffer.from('b'))).to.equal('b');
    expect(asString(42)).to.equal('42');
    expect(asString(null)).to.equal('null');
  });

  it('a flat list, a Map or an object becomes a record; anything else an empty one', () => {
    expect(replyToRecord(['a', 1, Buffer.from('b'), 2, 'odd'])).to.deep.equal({ a: 1, b: 2 });
    expect(replyToRecord(new Map<unknown, unknown>([[Buffer.from('k'), 'v']]))).to.deep.equal({ k: 'v' });
    const object = { a: 1 };
    const copy = replyToRecord(object);
    expect(copy).to.deep.equal({ a: 1 });
    expect(copy).not.to.equal(object);
    for (const reply of [null, undefined, 'x', 5])
      expect(replyToRecord(reply), String(reply)).to.deep.equal({});
  });

  it('parses entries, keeping a deleted one (null fields) and dropping what is not an entry', () => {
    expect(
      parseEntries('s', [['1-0', ['event', '{}', 'n', Buffer.from('v')]], ['2-0', null], ['3-0'], 'junk']),
    ).to.deep.equal([
      { stream: 's', id: '1-0', fields: { event: '{}', n: 'v' } },
      { stream: 's', id: '2-0', fields: null },
    ]);
    expect(parseEntries('s', 'not a list')).to.deep.equal([]);
  });

  it('reads an XREADGROUP reply in each shape Redis and ioredis give, and a timed-out block as nothing', () => {
    const entries = [['1-0', ['event', 'e']]];
    const expected = [{ stream: 'events:case', id: '1-0', fields: { event: 'e' } }];
    expect(parseReadReply([['events:case', entries]])).to.deep.equal(expected);
    expect(parseReadReply(['events:case', entries])).to.deep.equal(expected);
    expect(parseReadReply({ 'events:case': entries })).to.deep.equal(expected);
    expect(parseReadReply(new Map([['events:case', entries]]))).to.deep.equal(expected);
    expect(
      parseReadReply([
        ['a', [['1-0', ['k', 'v']]]],
        ['b', [['2-0', ['k', 'w']]]],
      ]).map((entry) => `${entry.stream} ${entry.id}`),
    ).to.deep.equal(['a 1-0', 'b 2-0']);
    expect(parseReadReply(null)).to.deep.equal([]);
    expect(parseReadReply(undefined)).to.deep.equal([]);
  });

  it('reads the pending entries of XPENDING, and its count', () => {
    expect(
      parsePendingEntries([
        ['1-0', 'c1', 1500, 3],
        ['2-0', Buffer.from('c2'), '10', '1'],
        ['bad', 'c'],
      ]),
    ).to.deep.equal([
      { id: '1-0', consumer: 'c1', idleMs: 1500, deliveries: 3 },
      { id: '2-0', consumer: 'c2', idleMs: 10, deliveries: 1 },
    ]);
    expect(parsePendingEntries('x')).to.deep.equal([]);
    expect(parsePendingCount([7, '1-0', '9-0', []])).to.equal(7);
    expect(parsePendingCount(['12'])).to.equal(12);
    expect(parsePendingCount([])).to.equal(0);
    expect(parsePendingCount(null)).to.equal(0);
  });

  it('takes the lag Redis reports, else estimates it from what was added and read, else knows none', () => {
    expect(estimateLag({ lag: 4 })).to.equal(4);
    expect(estimateLag({ lag: '5' })).to.equal(5);
    expect(estimateLag({ lag: null, 'entries-read': 7 }, { 'entries-added': 10 })).to.equal(3);
    expect(estimateLag({ lag: 'x', 'entries-read': '7' }, { 'entries-added': '10' })).to.equal(3);
    expect(estimateLag({ 'entries-read': 12 }, { 'entries-added': 10 }), 'never negative').to.equal(0);
    expect(estimateLag({ 'entries-read': 'a' }, { 'entries-added': 10 })).to.equal(undefined);
    expect(estimateLag({ 'entries-read': null }, { 'entries-added': 10 })).to.equal(undefined);
    expect(estimateLag({ 'entries-read': 7 }, { 'entries-added': null })).to.equal(undefined);
    expect(estimateLag({ 'entries-read': 7 })).to.equal(undefined);
    expect(estimateLag({})).to.equal(undefined);
  });

  it('decodes an entry into its event, or says why it is poison', () => {
    const raw = JSON.stringify(event);
    expect(decodeEntry({ event: raw })).to.deep.equal({ kind: 'event', event, payload: raw });
    expect(decodeEntry({ other: 'x' })).to.deep.equal({
      kind: 'poison',
      reason: 'missing_event',
      error: 'the entry has no "event" field',
      payload: '{"other":"x"}',
    });
    const invalid = decodeEntry({ event: 'not json' });
    expect(invalid).to.deep.include({ kind: 'poison', reason: 'invalid_event', payload: 'not json' });
    expect(invalid.kind === 'poison' && invalid.error).to.be.a('string').and.not.be.empty;
  });

  it('knows a NOGROUP error by its message', () => {
    expect(isNoGroupError(new Error('NOGROUP No such key'))).to.equal(true);
    expect(isNoGroupError(new Error('ERR NOGROUP'))).to.equal(false);
    expect(isNoGroupError({ message: 'NOGROUP x' })).to.equal(false);
  });
});
