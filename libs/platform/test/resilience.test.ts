import { expect } from 'chai';
import { backoffDelay, Bulkhead, BulkheadRejectedError, retryWithBackoff } from '../src/index.ts';

describe('resilience', () => {
  describe('backoffDelay, the one backoff of the repository', () => {
    it('stays within [0, min(max, base * 2^attempt))', () => {
      for (let attempt = 0; attempt < 10; attempt += 1) {
        const cap = Math.min(1000, 50 * 2 ** attempt);
        expect(backoffDelay(attempt, { baseDelayMs: 50, maxDelayMs: 1000, random: () => 0 })).to.equal(0);
        expect(backoffDelay(attempt, { baseDelayMs: 50, maxDelayMs: 1000, random: () => 0.999999 })).to.equal(
          cap - 1,
        );
      }
    });

    it('with equal jitter, stays within [cap / 2, cap], so a reconnect loop never spins', () => {
      const equal = (attempt: number, random: number) =>
        backoffDelay(attempt, { baseDelayMs: 100, maxDelayMs: 5000, jitter: 'equal', random: () => random });
      expect(equal(0, 0)).to.equal(50);
      expect(equal(0, 1)).to.equal(100);
      expect(equal(3, 1)).to.equal(800);
      expect(equal(50, 1)).to.equal(5000);
      expect(equal(50, 0)).to.equal(2500);
    });
  });

  describe('retryWithBackoff', () => {
    const options = { retries: 3, baseDelayMs: 1, maxDelayMs: 2, random: () => 0.5 };

    it('retries retryable failures and returns the first success', async () => {
      let calls = 0;
      const retried: number[] = [];
      const result = await retryWithBackoff(
        () => {
          calls += 1;
          return calls < 3 ? Promise.reject(new Error('flaky')) : Promise.resolve('ok');
        },
        { ...options, isRetryable: () => true, onRetry: (_error, attempt) => retried.push(attempt) },
      );
      expect(result).to.equal('ok');
      expect(calls).to.equal(3);
      expect(retried).to.deep.equal([1, 2]);
    });

    it('gives up after the retries and on a non-retryable error at once', async () => {
      let calls = 0;
      const failing = () => {
        calls += 1;
        return Promise.reject(new Error(`fail ${calls}`));
      };
      let error: unknown;
      await retryWithBackoff(failing, { ...options, isRetryable: () => true }).catch(
        (caught: unknown) => (error = caught),
      );
      expect(calls).to.equal(4);
      expect(String(error)).to.include('fail 4');
      calls = 0;
      await retryWithBackoff(failing, { ...options, isRetryable: () => false }).catch(() => undefined);
      expect(calls).to.equal(1);
    });
  });

  describe('Bulkhead', () => {
    it('runs at most maxConcurrent at once, queues up to maxQueue and refuses the rest', async () => {
      const bulkhead = new Bulkhead('test', 2, 1);
      const gates: (() => void)[] = [];
      let running = 0;
      let peak = 0;
      const task = () =>
        bulkhead.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise<void>((resolve) => gates.push(resolve));
          running -= 1;
        });
      const accepted = [task(), task(), task()];
      let refused: unknown;
      await task().catch((error: unknown) => (refused = error));
      expect(refused).to.be.instanceOf(BulkheadRejectedError);
      expect(bulkhead.active).to.equal(2);
      expect(bulkhead.queued).to.equal(1);
      while (gates.length > 0 || running > 0) {
        gates.shift()?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(accepted);
      expect(peak).to.equal(2);
      expect(bulkhead.active).to.equal(0);
    });
  });
});
