import { decodeRevocation, encodeRevocation, OutageLog, REVOCATIONS_KEY, type Logger } from '@mrp/platform';
import type { UserRepository } from '../data/user.repository.ts';

/** What the publisher needs from Redis (an ioredis client has it). */
export interface RevocationStore {
  hset(key: string, fields: Record<string, string>): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<unknown>;
}

export interface RevocationPublisherOptions {
  readonly users: UserRepository;
  readonly redis: RevocationStore;
  readonly logger: Logger;
  /** How often the revocations in force are written again (ms). Default 1000. */
  readonly intervalMs?: number;
}

/**
 * Publishes the token revocations in force (Postgres is the truth: the statement that changes or deletes a
 * user writes its revocation) to the Redis hash every service reads (ADR 0021). Every round writes them
 * all again, so a Redis that restarted empty or was down when a user changed has them back within a
 * round; it also drops the hash's expired fields, and forgets expired rows.
 */
export class RevocationPublisher {
  readonly #options: RevocationPublisherOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #outage: OutageLog;

  constructor(options: RevocationPublisherOptions) {
    this.#options = options;
    this.#outage = new OutageLog(options.logger, {
      down: 'token revocations cannot be published; retrying every round (the services keep the last list)',
      up: 'token revocations published again',
    });
  }

  start(): void {
    if (this.#timer) return;
    this.nudge();
    this.#timer = setInterval(() => {
      this.nudge();
    }, this.#options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Publishes now (after a change), unless a round is already running. */
  nudge(): void {
    this.#running ??= this.publishOnce().finally(() => {
      this.#running = undefined;
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One round; never throws (an outage is logged once, its end too). */
  async publishOnce(): Promise<void> {
    try {
      const { users, redis } = this.#options;
      const active = await users.activeRevocations();
      const fields = Object.fromEntries(
        active.map((revocation) => [
          revocation.userId,
          encodeRevocation(revocation.minVersion, revocation.expiresAt.getTime()),
        ]),
      );
      if (active.length > 0) await redis.hset(REVOCATIONS_KEY, fields);
      // Only expired fields go: another installation's user-service may share this Redis.
      const now = Date.now();
      const expired = Object.entries(await redis.hgetall(REVOCATIONS_KEY))
        .filter(([, value]) => (decodeRevocation(value)?.expiresAtMs ?? 0) <= now)
        .map(([field]) => field);
      if (expired.length > 0) await redis.hdel(REVOCATIONS_KEY, ...expired);
      await users.pruneRevocations();
      this.#outage.succeeded();
    } catch (error) {
      this.#outage.failed(error);
    }
  }
}
