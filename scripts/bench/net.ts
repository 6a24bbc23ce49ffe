/** Local ports and HTTP polling. */
import { setTimeout as sleep } from 'node:timers/promises';

// One way to pick a port everywhere (see @mrp/gateway/testing: outside the kernel's ephemeral range).
export { freePort } from '@mrp/gateway/testing';

/** Whether `url` answers 200 now (a refused connection or a slow answer is a no). */
export async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Polls `url` every `everyMs` until it answers 200, and resolves with the moment it did
 * (`performance.now()`), or undefined once `giveUp()` says so.
 */
export async function firstOk(
  url: string,
  everyMs: number,
  giveUp: () => boolean,
): Promise<number | undefined> {
  while (!giveUp()) {
    if (await answers200(url)) return performance.now();
    await sleep(everyMs);
  }
  return undefined;
}
