import { expect } from 'chai';
import { ConfigError, env, loadConfig } from '../src/index.ts';

const spec = {
  port: env.int('PORT', 3000, 'HTTP port.', { min: 0, max: 65535 }),
  mode: env.oneOf('MODE', ['a', 'b'], 'a', 'A mode.'),
  flag: env.bool('FLAG', false, 'A flag.'),
  url: env.url('TARGET_URL', undefined, 'Required target.'),
  extra: env.optional('EXTRA', 'Optional.'),
  list: env.list('ITEMS', [], 'A list.'),
};

describe('loadConfig', () => {
  it('applies defaults and parses typed values', () => {
    const config = loadConfig(spec, { TARGET_URL: 'http://x', FLAG: 'yes', ITEMS: 'a, b,,c' });
    expect(config).to.deep.equal({
      port: 3000,
      mode: 'a',
      flag: true,
      url: 'http://x',
      extra: undefined,
      list: ['a', 'b', 'c'],
    });
  });

  it('lists every problem at once, naming each variable', () => {
    try {
      loadConfig(spec, { PORT: '70000', MODE: 'c', FLAG: 'maybe' });
      expect.fail('loadConfig should have thrown');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).to.have.length(4);
      expect(problems.join('\n'))
        .to.include('PORT')
        .and.include('MODE')
        .and.include('FLAG')
        .and.include('TARGET_URL is required');
    }
  });

  it('refuses a non-integer where an integer is expected', () => {
    expect(() => loadConfig(spec, { TARGET_URL: 'http://x', PORT: '80.5' })).to.throw(
      ConfigError,
      /PORT: expected an integer/,
    );
  });
});
