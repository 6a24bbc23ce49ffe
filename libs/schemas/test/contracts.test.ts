import { expect } from 'chai';
import { encodeKeysetCursor, getValidator, schemaNames } from '../src/index.ts';

describe('JSON Schema contracts', () => {
  it('every contract compiles in the shared Ajv instance', () => {
    expect(schemaNames()).to.include.members([
      'User',
      'UserCreateRequest',
      'Problem',
      'TokenRequest',
      'TokenResponse',
    ]);
    for (const name of schemaNames()) expect(() => getValidator(name), name).not.to.throw();
  });

  it('compiles each contract once', () => {
    expect(getValidator('User')).to.equal(getValidator('User'));
  });

  it("accepts the seed's create-user body and refuses unknown fields", () => {
    const validate = getValidator('UserCreateRequest');
    expect(validate({ email: 'new@example.com', role: 'viewer', full_name: 'New User' })).to.equal(true);
    expect(
      validate({ email: 'new@example.com', role: 'viewer', full_name: 'New User', admin: true }),
    ).to.equal(false);
  });

  it('resolves references between contracts (UserList -> User -> Role)', () => {
    const validate = getValidator('UserList');
    const user = {
      id: '6f1c1d1e-0000-4000-8000-000000000000',
      email: 'a@b.co',
      role: 'viewer',
      full_name: 'A',
      has_password: false,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
    };
    expect(validate({ items: [user], next_cursor: null })).to.equal(true);
    expect(validate({ items: [{ ...user, role: 'root' }], next_cursor: null })).to.equal(false);
  });
});

describe('formats', () => {
  it('uuid is the plain form only (no urn:uuid: prefix, which Postgres refuses)', () => {
    const validate = getValidator('IdParams');
    expect(validate({ id: '4d3dfbd3-72d9-4025-b04f-3871593884e2' })).to.equal(true);
    expect(validate({ id: 'urn:uuid:4d3dfbd3-72d9-4025-b04f-3871593884e2' })).to.equal(false);
  });

  it('date-time refuses the year 0000 and keeps refusing nonsense', () => {
    const validate = getValidator('EventEnvelope');
    const envelope = (time: string) => ({
      id: '4d3dfbd3-72d9-4025-b04f-3871593884e2',
      type: 'score_pending',
      version: 1,
      source: 's',
      subject: 'case:x',
      time,
      request_id: null,
      actor: null,
      traceparent: null,
      data: {},
    });
    expect(validate(envelope('2026-11-24T02:00:00Z'))).to.equal(true);
    expect(validate(envelope('0000-01-01T00:00:00Z'))).to.equal(false);
    expect(validate(envelope('2026-13-01T00:00:00Z'))).to.equal(false);
  });
});

describe('what the schemas accept is what the services can store (issue: schema-valid requests answered 400)', () => {
  const OWNER = '4d3dfbd3-72d9-4025-b04f-3871593884e2';
  const issued = encodeKeysetCursor({ timestamp: '2026-12-03 07:28:33.123456+00', id: OWNER });

  it('a list cursor is format keyset-cursor: what the API issues is valid, anything else is not', () => {
    for (const query of ['CaseListV1Query', 'CaseListV2Query', 'PageQuery', 'AuditQuery']) {
      const validate = getValidator(query);
      expect(validate({ cursor: issued }), `${query} issued`).to.equal(true);
      for (const bad of [
        '0',
        'bm90LWEtY3Vyc29y', // "not-a-cursor"
        encodeKeysetCursor({ timestamp: '2026-12-31 23:61:00+00', id: OWNER }), // minute 61
        encodeKeysetCursor({ timestamp: '2026-12-31 23:59:00+99', id: OWNER }), // offset +99
        encodeKeysetCursor({ timestamp: '2026-12-31 23:59:00+00', id: 'urn:uuid:x' }),
        Buffer.from(JSON.stringify(['2026-12-31 23:59:00+00', OWNER, 'extra'])).toString('base64url'),
      ])
        expect(validate({ cursor: bad }), `${query} ${bad}`).to.equal(false);
    }
    // December is a month like any other (a cursor from the last day of the year).
    expect(
      getValidator('PageQuery')({
        cursor: encodeKeysetCursor({ timestamp: '2026-12-31 23:59:59+00', id: OWNER }),
      }),
    ).to.equal(true);
  });

  it('text that is stored refuses the NUL character (Postgres cannot store it) and accepts any other', () => {
    const create = getValidator('CaseCreateV2Request');
    const base = { title: 'Water leak', owner_id: OWNER };
    expect(
      create({ ...base, description: 'Zürich, 東京 and\ttabs\nlines', features: { note: 'é ✓' } }),
    ).to.equal(true);
    expect(create({ ...base, title: 'a\u0000b' }), 'title').to.equal(false);
    expect(create({ ...base, description: '\u0000' }), 'description').to.equal(false);
    expect(create({ ...base, features: { note: 'x\u0000' } }), 'a feature string').to.equal(false);
    expect(create({ ...base, title: ' \t ' }), 'a blank title').to.equal(false);
    expect(create({ ...base, title: ' x ' }), 'a padded title').to.equal(true);
    const user = getValidator('UserCreateRequest');
    expect(user({ email: 'n@example.com', role: 'viewer', full_name: 'N\u0000' })).to.equal(false);
    expect(getValidator('AuditQuery')({ actor: 'service:\u0000' })).to.equal(false);
    const update = getValidator('CaseUpdateV2Request');
    expect(update({ description: 'a\u0000' }), 'an updated description').to.equal(false);
    expect(update({ description: null }), 'a description removed').to.equal(true);
  });
});
