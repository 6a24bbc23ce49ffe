import { expect } from 'chai';
import { SERVICE_CLIENT_SCOPES, SERVICE_SCOPES, scopesOfClient } from '../src/service-scopes.ts';

describe('service scopes', () => {
  it('case-service may score cases and auth-service may check passwords, nothing more', () => {
    expect(SERVICE_SCOPES).to.deep.equal({
      scoreCases: 'scoring:score',
      verifyCredentials: 'users:verify-credentials',
    });
    expect(scopesOfClient('case-service')).to.deep.equal(['scoring:score']);
    expect(scopesOfClient('auth-service')).to.deep.equal(['users:verify-credentials']);
    expect(Object.keys(SERVICE_CLIENT_SCOPES).sort()).to.deep.equal(['auth-service', 'case-service']);
  });

  it('a client not named gets no scope, whatever its name', () => {
    for (const client of ['scoring-service', '', 'toString', 'constructor', '__proto__'])
      expect(scopesOfClient(client), client).to.deep.equal([]);
  });
});
