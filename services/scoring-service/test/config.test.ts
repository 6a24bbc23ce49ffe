import { expect } from 'chai';
import { ConfigError } from '@mrp/platform';
import { loadScoringServiceConfig } from '../src/config.ts';

describe('scoring-service configuration', () => {
  it('listens on 3004, publishes to the local Redis and injects no faults by default', () => {
    const config = loadScoringServiceConfig({});
    expect(config.port).to.equal(3004);
    expect(config.redisUrl).to.equal('redis://127.0.0.1:6379');
    expect([config.faultLatencyMs, config.faultErrorRate, config.faultHang]).to.deep.equal([0, 0, false]);
  });

  it('reads the fault keys', () => {
    const config = loadScoringServiceConfig({
      SCORING_FAULT_LATENCY_MS: '250',
      SCORING_FAULT_ERROR_RATE: '0.25',
      SCORING_FAULT_HANG: 'true',
    });
    expect([config.faultLatencyMs, config.faultErrorRate, config.faultHang]).to.deep.equal([250, 0.25, true]);
    expect(loadScoringServiceConfig({ SCORING_FAULT_ERROR_RATE: '1' }).faultErrorRate).to.equal(1);
    expect(loadScoringServiceConfig({ SCORING_FAULT_ERROR_RATE: '.5' }).faultErrorRate).to.equal(0.5);
  });

  for (const rate of ['1.5', '-0.1', 'half', '50%', '1e-3']) {
    it(`refuses the error rate "${rate}"`, () => {
      expect(() => loadScoringServiceConfig({ SCORING_FAULT_ERROR_RATE: rate })).to.throw(
        ConfigError,
        /SCORING_FAULT_ERROR_RATE: expected a probability between 0 and 1/,
      );
    });
  }

  it('lists every bad key at once', () => {
    try {
      loadScoringServiceConfig({ PORT: 'x', SCORING_FAULT_LATENCY_MS: '-1', REDIS_URL: 'not a url' });
      expect.fail('the configuration was accepted');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const key of ['PORT', 'SCORING_FAULT_LATENCY_MS', 'REDIS_URL']) expect(problems).to.include(key);
    }
  });
});
