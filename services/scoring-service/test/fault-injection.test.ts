import { expect } from 'chai';
import { decideFault, faultsEnabled, NO_FAULTS, type FaultSettings } from '../src/domain/fault-injection.ts';

/** A random source that returns these values in turn and records how often it was drawn. */
function sequence(...values: number[]) {
  const source = Object.assign(
    () => {
      const value = values[source.draws % values.length]!;
      source.draws += 1;
      return value;
    },
    { draws: 0 },
  );
  return source;
}

const settings = (overrides: Partial<FaultSettings>): FaultSettings => ({ ...NO_FAULTS, ...overrides });

describe('fault injection decisions', () => {
  it('are off by default: every request passes undelayed and no random number is drawn', () => {
    const random = sequence(0);
    expect(faultsEnabled(NO_FAULTS)).to.equal(false);
    for (let index = 0; index < 100; index += 1) {
      expect(decideFault(NO_FAULTS, random)).to.deep.equal({ kind: 'pass', delayMs: 0 });
    }
    expect(random.draws).to.equal(0);
  });

  it('fail a request when the drawn number is below the error rate', () => {
    const half = settings({ errorRate: 0.5 });
    const random = sequence(0.49, 0.5, 0, 0.99);
    expect([1, 2, 3, 4].map(() => decideFault(half, random).kind)).to.deep.equal([
      'fail',
      'pass',
      'fail',
      'pass',
    ]);
    expect(random.draws).to.equal(4);
  });

  it('fail every request at rate 1, whatever is drawn', () => {
    const random = sequence(0, 0.5, 0.999999);
    for (let index = 0; index < 3; index += 1) {
      expect(decideFault(settings({ errorRate: 1 }), random).kind).to.equal('fail');
    }
  });

  it('delay every request by the configured latency, failed or not', () => {
    const slow = settings({ latencyMs: 250, errorRate: 0.5 });
    const random = sequence(0.9, 0.1);
    expect(decideFault(slow, random)).to.deep.equal({ kind: 'pass', delayMs: 250 });
    expect(decideFault(slow, random)).to.deep.equal({ kind: 'fail', delayMs: 250 });
    expect(faultsEnabled(settings({ latencyMs: 1 }))).to.equal(true);
  });

  it('hang wins over latency and errors, without drawing', () => {
    const random = sequence(0);
    const decision = decideFault(settings({ hang: true, latencyMs: 100, errorRate: 1 }), random);
    expect(decision).to.deep.equal({ kind: 'hang' });
    expect(random.draws).to.equal(0);
    expect(faultsEnabled(settings({ hang: true }))).to.equal(true);
  });
});
