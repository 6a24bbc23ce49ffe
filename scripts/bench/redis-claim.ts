/**
 * The run's own Redis logical database (1, 2, ...), so its streams and consumer groups never mix with a
 * developer's `make dev` (database 0) or another run.
 */
import { hostname } from 'node:os';
import { createRedis, type Redis } from '@mrp/events';
import { message, say } from './lifecycle.ts';
import { REDIS_URL } from './settings.ts';

/** The key that marks a Redis logical database as taken by a benchmark run. */
const REDIS_CLAIM_KEY = 'mrp:bench:claim';
/** Logical database 0 is what `make dev` uses; a benchmark never touches it. */
const REDIS_FIRST_DB = 1;

function redisUrlForDb(index: number): string {
  const url = new URL(REDIS_URL);
  url.pathname = `/${index}`;
  return url.toString();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A claim left by a benchmark on this host whose process is gone (it was killed before cleaning up). */
function staleClaim(raw: string | null): boolean {
  if (raw === null) return false;
  try {
    const claim = JSON.parse(raw) as { host?: unknown; pid?: unknown };
    return claim.host === hostname() && typeof claim.pid === 'number' && !processAlive(claim.pid);
  } catch {
    return false;
  }
}

/**
 * A connection to the Redis of REDIS_URL on logical database `index`, chosen by an explicit SELECT: a
 * database index in the URL that the server does not have is ignored by the client, which then stays on 0.
 */
async function connectRedis(index: number): Promise<Redis> {
  const redis = createRedis(redisUrlForDb(0), {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.select(index);
    return redis;
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/**
 * Claims an empty Redis logical database for this run. The claim is a key set with NX; the database must
 * hold nothing else. A database left behind by a killed run on this host is reclaimed.
 */
export async function claimRedisDatabase(token: string): Promise<{ index: number; url: string }> {
  for (let index = REDIS_FIRST_DB; ; index += 1) {
    let redis: Redis;
    try {
      redis = await connectRedis(index);
    } catch (error) {
      if (/index is out of range|invalid DB index/i.test(message(error))) break;
      throw error;
    }
    try {
      let size = await redis.dbsize();
      if (size > 0 && staleClaim(await redis.get(REDIS_CLAIM_KEY))) {
        say(`redis db ${index}: reclaiming what a killed benchmark left behind`);
        await redis.flushdb();
        size = 0;
      }
      if (size !== 0) continue;
      const claimed = await redis.set(REDIS_CLAIM_KEY, token, 'NX');
      if (claimed === 'OK' && (await redis.dbsize()) === 1) return { index, url: redisUrlForDb(index) };
      if (claimed === 'OK') await redis.del(REDIS_CLAIM_KEY);
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(
    `no empty Redis logical database from ${REDIS_FIRST_DB} on at ${new URL(REDIS_URL).host}: ` +
      'each holds keys (raise `databases` in redis.conf, or empty one that is not in use)',
  );
}

export async function releaseRedisDatabase(index: number, token: string): Promise<void> {
  const redis = await connectRedis(index);
  try {
    // Only a database this run still holds is flushed: its streams, consumer groups and the claim itself.
    if ((await redis.get(REDIS_CLAIM_KEY)) === token) await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
