/**
 * A per-account back-off on failed logins, beside the gateway's per-address limit: after `freeFailures`
 * wrong passwords in a row for one username, the next attempt must wait 1 s, then 2 s, 4 s ... up to
 * `maxDelayMs`, counted from the last failure. An attempt that comes too early is refused at once, without
 * checking the password (no argon2 work), and does not extend the wait; a success clears the account.
 *
 * It cannot lock anyone out for good: the longest wait is `maxDelayMs` after the last real failure, so the
 * owner can log in once an attacker stops, and an attacker spends one guess per wait. Memory is bounded:
 * at most `maxAccounts` usernames are tracked (the least recently failed are forgotten first), and an
 * account is forgotten `forgetAfterMs` after its last failure.
 */
export interface LoginThrottleOptions {
  readonly freeFailures: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAccounts: number;
  readonly forgetAfterMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  freeFailures: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxAccounts: 10_000,
  forgetAfterMs: 15 * 60_000,
};

interface Failures {
  count: number;
  lastAt: number;
}

export class LoginThrottle {
  readonly #options: LoginThrottleOptions;
  readonly #now: () => number;
  /** In insertion order, refreshed on every failure: the first entry is the least recently failed. */
  readonly #accounts = new Map<string, Failures>();

  constructor(options: Partial<LoginThrottleOptions> = {}, now: () => number = Date.now) {
    this.#options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
    this.#now = now;
  }

  static key(username: string): string {
    return username.trim().toLowerCase();
  }

  /** How long this username must still wait before a password is checked (ms); 0 when it may try now. */
  waitMs(username: string): number {
    const failures = this.#accounts.get(LoginThrottle.key(username));
    if (!failures) return 0;
    const now = this.#now();
    if (now - failures.lastAt >= this.#options.forgetAfterMs) {
      this.#accounts.delete(LoginThrottle.key(username));
      return 0;
    }
    const beyond = failures.count - this.#options.freeFailures;
    if (beyond < 0) return 0;
    const delay = Math.min(this.#options.baseDelayMs * 2 ** beyond, this.#options.maxDelayMs);
    return Math.max(0, failures.lastAt + delay - now);
  }

  /** A wrong password (or unknown user) for this username. */
  failed(username: string): void {
    const key = LoginThrottle.key(username);
    const previous = this.#accounts.get(key);
    this.#accounts.delete(key);
    this.#accounts.set(key, { count: (previous?.count ?? 0) + 1, lastAt: this.#now() });
    while (this.#accounts.size > this.#options.maxAccounts) {
      const oldest = this.#accounts.keys().next().value;
      if (oldest === undefined) break;
      this.#accounts.delete(oldest);
    }
  }

  /** A successful login: the account starts afresh. */
  succeeded(username: string): void {
    this.#accounts.delete(LoginThrottle.key(username));
  }

  /** How many usernames are tracked (for tests and metrics). */
  get size(): number {
    return this.#accounts.size;
  }
}
