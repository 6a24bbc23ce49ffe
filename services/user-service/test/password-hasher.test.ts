import { expect } from 'chai';
import { hashPassword, verifyPassword } from '../src/domain/password-hasher.ts';

describe('password hashing (argon2id)', () => {
  it('produces a salted PHC string that verifies only the right password', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hashPassword('correct horse')).not.to.equal(hash);
    expect(await verifyPassword('correct horse', hash)).to.equal(true);
    expect(await verifyPassword('correct horsE', hash)).to.equal(false);
  });

  it('never matches a malformed hash', async () => {
    expect(await verifyPassword('x', 'plaintext')).to.equal(false);
    expect(await verifyPassword('x', '$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA')).to.equal(false);
  });
});
