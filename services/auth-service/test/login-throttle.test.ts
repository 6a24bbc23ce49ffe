import { expect } from 'chai';
import { LoginThrottle } from '../src/domain/login-throttle.ts';

describe('LoginThrottle: the per-account back-off on failed logins', () => {
  let now = 0;
  const clock = () => now;
  const throttle = (options = {}) => new LoginThrottle(options, clock);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('lets the first five failures through, then doubles the wait from 1 s up to the cap', () => {
    const limiter = throttle();
    const waits: number[] = [];
    for (let failure = 0; failure < 12; failure += 1) {
      waits.push(limiter.waitMs('Admin@Example.com'));
      limiter.failed('admin@example.com ');
    }
    expect(waits.slice(0, 5)).to.deep.equal([0, 0, 0, 0, 0]);
    // Right after failure 5, 6, 7 ...: 1 s, 2 s, 4 s ..., never more than 60 s.
    expect(waits.slice(5)).to.deep.equal([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000]);
  });

  it('a wait runs from the last failure, and attempts refused meanwhile do not extend it', () => {
    const limiter = throttle();
    for (let failure = 0; failure < 6; failure += 1) limiter.failed('user@example.com');
    expect(limiter.waitMs('user@example.com')).to.equal(2000);
    now += 1500;
    // Asking again (a refused attempt) changes nothing.
    expect(limiter.waitMs('user@example.com')).to.equal(500);
    now += 500;
    expect(limiter.waitMs('user@example.com')).to.equal(0);
  });

  it('a success starts the account afresh; other accounts are never affected', () => {
    const limiter = throttle();
    for (let failure = 0; failure < 8; failure += 1) limiter.failed('a@example.com');
    expect(limiter.waitMs('a@example.com')).to.be.above(0);
    expect(limiter.waitMs('b@example.com')).to.equal(0);
    limiter.succeeded('A@example.com');
    expect(limiter.waitMs('a@example.com')).to.equal(0);
  });

  it('cannot lock an account for good: the longest wait is the cap after the last failure, then it is forgotten', () => {
    const limiter = throttle({ maxDelayMs: 60_000, forgetAfterMs: 15 * 60_000 });
    for (let failure = 0; failure < 100; failure += 1) limiter.failed('victim@example.com');
    expect(limiter.waitMs('victim@example.com')).to.equal(60_000);
    now += 60_000;
    expect(limiter.waitMs('victim@example.com')).to.equal(0);
    now += 15 * 60_000;
    expect(limiter.waitMs('victim@example.com')).to.equal(0);
    expect(limiter.size).to.equal(0);
  });

  it('tracks a bounded number of accounts, forgetting the least recently failed first', () => {
    const limiter = throttle({ maxAccounts: 3 });
    for (const account of ['a', 'b', 'c', 'd']) for (let i = 0; i < 6; i += 1) limiter.failed(account);
    expect(limiter.size).to.equal(3);
    expect(limiter.waitMs('a')).to.equal(0);
    expect(limiter.waitMs('d')).to.be.above(0);
  });
});
