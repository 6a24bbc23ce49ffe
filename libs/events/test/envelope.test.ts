import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createEvent, EVENT_TYPES, InvalidEventError, parseEvent } from '../src/index.ts';

/** A valid score_pending event as a producer writes it to a stream. */
function validEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: randomUUID(),
    type: 'score_pending',
    version: EVENT_TYPES.score_pending.version,
    source: 'case-service',
    subject: `case:${randomUUID()}`,
    time: '2026-12-31T23:59:59.999Z',
    request_id: 'rid-1',
    actor: null,
    traceparent: null,
    data: { case_id: randomUUID(), reason: 'scoring unavailable' },
    ...overrides,
  };
}

/** The problems parseEvent reports for `raw`, or a failure when it accepts it. */
function problemsOf(raw: string): readonly string[] {
  try {
    parseEvent(raw);
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidEventError);
    expect((error as Error).name).to.equal('InvalidEventError');
    const { problems } = error as InvalidEventError;
    expect((error as Error).message).to.equal(`invalid event: ${problems.join('; ')}`);
    return problems;
  }
  expect.fail(`parseEvent accepted ${raw}`);
}

describe('event envelopes (parseEvent, createEvent)', () => {
  it('parses a valid event as it was written, a December timestamp included', () => {
    const event = validEvent();
    expect(parseEvent(JSON.stringify(event))).to.deep.equal(event);
  });

  it('refuses text that is not JSON, saying so and nothing else', () => {
    expect(problemsOf('{"id":')).to.deep.equal(['not JSON']);
  });

  it('refuses an empty object, naming every missing envelope field', () => {
    const problems = problemsOf('{}');
    for (const field of ['id', 'type', 'version', 'source', 'subject', 'time', 'data'])
      expect(
        problems.some((problem) => problem.includes(field)),
        field,
      ).to.equal(true);
    expect(problems.every((problem) => problem.startsWith('envelope/'))).to.equal(true);
  });

  it('refuses a version of the type that is not the supported one, and checks no data then', () => {
    expect(problemsOf(JSON.stringify(validEvent({ version: 2, data: {} })))).to.deep.equal([
      'score_pending version 2 is not supported',
    ]);
  });

  it("refuses data that does not match its type's contract, with a pointer into the data", () => {
    const problems = problemsOf(JSON.stringify(validEvent({ data: { case_id: 'not-a-uuid' } })));
    expect(problems.length).to.be.greaterThan(0);
    expect(problems.every((problem) => problem.startsWith('data/'))).to.equal(true);
    expect(problems.some((problem) => problem.startsWith('data/case_id '))).to.equal(true);
  });

  it('refuses an unknown type, and fields the envelope does not define', () => {
    expect(problemsOf(JSON.stringify(validEvent({ type: 'case_deleted' })))[0]).to.match(/^envelope\/type /);
    expect(problemsOf(JSON.stringify(validEvent({ extra: true }))).join()).to.match(/^envelope\//);
  });

  it("createEvent fills in a fresh id, the type's version, the time now and nulls for what is not given", () => {
    const before = Date.now();
    const event = createEvent({
      type: 'score_pending',
      source: 'case-service',
      subject: 'case:1',
      data: { case_id: randomUUID(), reason: 'scoring unavailable' },
    });
    expect(event.id).to.match(/^[0-9a-f-]{36}$/);
    expect(event.version).to.equal(EVENT_TYPES.score_pending.version);
    expect(Date.parse(event.time)).to.be.within(before, Date.now());
    expect([event.request_id, event.actor, event.traceparent]).to.deep.equal([null, null, null]);
    expect(
      createEvent({
        type: 'score_pending',
        source: 's',
        subject: 'x',
        data: event.data,
        requestId: 'r',
        actor: 'a',
      }),
    ).to.include({ request_id: 'r', actor: 'a' });
  });

  it('createEvent refuses data that does not match the contract, before anything is written', () => {
    expect(() =>
      createEvent({ type: 'score_pending', source: 'case-service', subject: 'case:1', data: {} }),
    ).to.throw(InvalidEventError, /^invalid event: data\//);
  });
});
