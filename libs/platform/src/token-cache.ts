import { createHash } from 'node:crypto';

/**
 * Tokens that passed verification, so that the same token is not verified again on every request: an
 * ES256 signature check costs far more than the rest of a cheap read. Bounded (the oldest entry goes
 * first), keyed by the SHA-256 of the whole token (so the cache holds no bearer credential, and nothing
 * but the exact token that was verified can hit an entry), and an entry is served only until the
 * token's `exp`.
 */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, { value: T; expiresAtMs: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  /** The cached value while the token has not expired; an expired entry is dropped. */
  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#now() >= entry.expiresAtMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` until `expiresAtMs` (the token's `exp`), evicting the oldest entry when full. */
  set(key: string, value: T, expiresAtMs: number): void {
    if (this.#maxEntries <= 0 || expiresAtMs <= this.#now()) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAtMs });
  }

  clear(): void {
    this.#entries.clear();
  }
}
