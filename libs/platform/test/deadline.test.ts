import { expect } from 'chai';
import { waitAtMost, withDeadline } from '../src/index.ts';

const after = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => {
    setTimeout(() => {
      resolve(value);
    }, ms);
  });

describe('deadlines (the one helper of the repository)', () => {
  it('withDeadline gives the result when the work finishes first', async () => {
    expect(await withDeadline(after(5, 'done'), 1000, 'too slow')).to.equal('done');
  });

  it('withDeadline rejects with the message, and calls onTimeout, when time runs out first', async () => {
    let timedOut = 0;
    const failed = await withDeadline(
      after(1000, 'late'),
      10,
      () => 'no answer within 10 ms',
      () => {
        timedOut += 1;
      },
    ).then(
      () => undefined,
      (error: unknown) => (error as Error).message,
    );
    expect(failed).to.equal('no answer within 10 ms');
    expect(timedOut).to.equal(1);
  });

  it('withDeadline passes the work’s own error through', async () => {
    const failed = await withDeadline(Promise.reject(new Error('boom')), 1000, 'too slow').then(
      () => undefined,
      (error: unknown) => (error as Error).message,
    );
    expect(failed).to.equal('boom');
  });

  it('waitAtMost says whether the work settled in time, and never throws', async () => {
    expect(await waitAtMost(after(5, 'x'), 1000)).to.equal(true);
    expect(await waitAtMost(Promise.reject(new Error('boom')), 1000)).to.equal(true);
    expect(await waitAtMost(after(1000, 'x'), 10)).to.equal(false);
  });

  it('withDeadline takes a plain message too, with no onTimeout', async () => {
    const failed = await withDeadline(after(1000, 'late'), 10, 'too slow').then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failed).to.be.instanceOf(Error);
    expect(failed!.message).to.equal('too slow');
  });

  it('neither leaves its timer behind once the race is decided', async () => {
    const { setTimeout: realSet, clearTimeout: realClear } = globalThis;
    const pending = new Set<unknown>();
    globalThis.setTimeout = ((...args: Parameters<typeof realSet>) => {
      const timer = realSet(...args);
      pending.add(timer);
      return timer;
    }) as typeof realSet;
    globalThis.clearTimeout = (timer: Parameters<typeof realClear>[0]) => {
      pending.delete(timer);
      realClear(timer);
    };
    try {
      await withDeadline(Promise.resolve('now'), 60_000, 'too slow');
      await withDeadline(Promise.reject(new Error('boom')), 60_000, 'too slow').catch(() => undefined);
      await waitAtMost(Promise.resolve('now'), 60_000);
      await waitAtMost(Promise.reject(new Error('boom')), 60_000);
    } finally {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    }
    expect(pending.size, 'timers left running').to.equal(0);
  });
});
