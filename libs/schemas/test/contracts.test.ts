import { expect } from 'chai';
import { getValidator, schemaNames } from '../src/index.ts';

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
