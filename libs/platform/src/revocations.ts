import type { Logger } from './logger.ts';
import { OutageLog } from './outage-log.ts';

/**
 * Token revocation (ADR 0021). user-service raises a user's token version at each change of role or
 * password and revokes the tokens below it (all of them when the user is deleted); it publishes the
 * revocations still in force to one Redis hash, field = user id, value = `<min version>:<expires at ms>`.
 * Every service that verifies user tokens reads that hash every second and refuses a token whose `ver`
 * is below its subject's minimum: a revoked token stops working within about a second everywhere, though
 * the gateway (which cannot know) still lets it through to the service.
 */
export const REVOCATIONS_KEY = 'auth:token-revocations';

/** What the list needs from Redis (an ioredis client has it). */
export interface RevocationSource {
  hgetall(key: string): Promise<Record<string, string>>;
}

/** A revocation as the hash stores it. */
export function encodeRevocation(minVersion: number, expiresAtMs: number): string {
  return `${minVersion}:${expiresAtMs}`;
}

/** A hash value back as numbers; undefined when it is not one encodeRevocation wrote. */
export function decodeRevocation(value: string): { minVersion: number; expiresAtMs: number } | undefined {
  const match = /^(\d+):(\d+)$/.exec(value);
  return match ? { minVersion: Number(match[1]), expiresAtMs: Number(match[2]) } : undefined;
}

/** What the token verifier asks: the lowest token version still accepted for a subject, if any. */
export interface RevocationCheck {
  minVersion(subject: string): number | undefined;
}

export interface RevocationListOptions {
  readonly source: RevocationSource;
  readonly logger: Logger;
  /** How often the hash is read (ms). Default 1000. */
  readonly intervalMs?: number;
  /**
   * Failures before the first successful read within this time of start() are not an outage: the Redis
   * client is still connecting (ms). Default 5000.
   */
  readonly startupGraceMs?: number;
  readonly now?: () => number;
}

/**
 * The revocations in force, read from Redis every `intervalMs`. When Redis cannot be read, the last list
 * read stays in force (said once in the log): a revocation already seen is never forgotten early, and one
 * published meanwhile applies once Redis answers again (every token still expires within its lifetime).
 */
export class RevocationList implements RevocationCheck {
  readonly #options: RevocationListOptions;
  #entries = new Map<string, { minVersion: number; expiresAtMs: number }>();
  #timer: NodeJS.Timeout | undefined;
  readonly #outage: OutageLog;
  #startedAtMs: number | undefined;
  #readOnce = false;

  constructor(options: RevocationListOptions) {
    this.#options = options;
    this.#outage = new OutageLog(options.logger, {
      down: 'token revocations cannot be read; the last list read stays in force',
      up: 'token revocations readable again',
    });
  }

  /** Reads the hash now, then every interval until stop(). */
  start(): void {
    if (this.#timer) return;
    this.#startedAtMs = this.#now();
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the hash once; never throws. */
  async refresh(): Promise<void> {
    try {
      const raw = await this.#options.source.hgetall(REVOCATIONS_KEY);
      const now = this.#now();
      const entries = new Map<string, { minVersion: number; expiresAtMs: number }>();
      for (const [subject, value] of Object.entries(raw)) {
        const entry = decodeRevocation(value);
        if (entry && entry.expiresAtMs > now) entries.set(subject, entry);
      }
      this.#entries = entries;
      this.#readOnce = true;
      this.#outage.succeeded();
    } catch (error) {
      const starting =
        !this.#readOnce &&
        this.#startedAtMs !== undefined &&
        this.#now() - this.#startedAtMs < (this.#options.startupGraceMs ?? 5000);
      if (!starting) this.#outage.failed(error);
    }
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  minVersion(subject: string): number | undefined {
    const entry = this.#entries.get(subject);
    if (!entry || entry.expiresAtMs <= this.#now()) return undefined;
    return entry.minVersion;
  }
}
