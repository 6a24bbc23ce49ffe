import { expect } from 'chai';
import { ConfigError } from '@mrp/platform';
import { STREAMS } from '@mrp/events';
import { loadAuditServiceConfig } from '../src/config.ts';

describe('audit-telemetry-service configuration', () => {
  it('by default listens on 3005, uses mrp_audit and consumes every event stream', () => {
    const config = loadAuditServiceConfig({});
    expect(config.port).to.equal(3005);
    expect(config.databaseUrl).to.match(/\/mrp_audit$/);
    expect(config.streams).to.deep.equal([STREAMS.case, STREAMS.scoring]);
    expect(config.deadLetterStream).to.equal(STREAMS.deadLetter);
    expect(config.maxDeliveries).to.equal(5);
    expect(config.claimIdleMs).to.equal(30_000);
  });

  it('names the consumer after the host and the process unless CONSUMER_NAME says otherwise', () => {
    expect(loadAuditServiceConfig({}).consumerName).to.match(new RegExp(`-${process.pid}$`));
    expect(loadAuditServiceConfig({ CONSUMER_NAME: 'audit-0' }).consumerName).to.equal('audit-0');
  });

  it('reads a comma-separated stream list', () => {
    expect(loadAuditServiceConfig({ AUDIT_STREAMS: ' a, b ,,c' }).streams).to.deep.equal(['a', 'b', 'c']);
  });

  for (const [name, env, pattern] of [
    ['no stream', { AUDIT_STREAMS: ',' }, /at least one stream/],
    ['the dead-letter stream', { AUDIT_STREAMS: `a,${STREAMS.deadLetter}` }, /dead-letter/],
    ['a stream twice', { AUDIT_STREAMS: 'a,a' }, /more than once/],
    ['zero deliveries', { AUDIT_MAX_DELIVERIES: '0' }, /AUDIT_MAX_DELIVERIES/],
    ['a non-numeric claim time', { AUDIT_CLAIM_IDLE_MS: 'soon' }, /AUDIT_CLAIM_IDLE_MS/],
    ['a bad Redis URL', { REDIS_URL: 'not a url' }, /REDIS_URL/],
  ] as const) {
    it(`refuses ${name}`, () => {
      expect(() => loadAuditServiceConfig(env)).to.throw(ConfigError, pattern);
    });
  }
});
