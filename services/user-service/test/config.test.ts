import { expect } from 'chai';
import { ConfigError } from '@mrp/platform';
import { loadUserServiceConfig } from '../src/config.ts';

describe('user-service configuration', () => {
  it('seeds dev users by default outside production', () => {
    expect(loadUserServiceConfig({}).seedDevUsers).to.equal(true);
  });

  it('never seeds dev users in production', () => {
    expect(loadUserServiceConfig({ APP_ENV: 'production' }).seedDevUsers).to.equal(false);
  });

  it('refuses an explicit request to seed them in production', () => {
    expect(() => loadUserServiceConfig({ APP_ENV: 'production', SEED_DEV_USERS: 'true' })).to.throw(
      ConfigError,
      /SEED_DEV_USERS/,
    );
  });
});
