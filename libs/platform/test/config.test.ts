import { expect } from 'chai';
import { ConfigError, env, isDevelopmentSecret, loadConfig } from '../src/index.ts';

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

describe('config keys, one builder at a time', () => {
  const one = <T>(entry: { env: string; parse: (raw: string) => T }, raw: string) =>
    loadConfig({ value: entry } as never, { [entry.env]: raw }) as unknown as { value: T };
  const refusal = (entry: { env: string }, raw: string): string => {
    try {
      loadConfig({ value: entry } as never, { [entry.env]: raw });
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return (error as ConfigError).problems.join('\n');
    }
    return expect.fail(`${entry.env}=${raw} was accepted`);
  };

  it('describes each key: its variable, its meaning, its default, and whether it is secret or optional', () => {
    expect(env.string('A', 'x', 'Doc.')).to.deep.include({
      env: 'A',
      doc: 'Doc.',
      default: 'x',
      secret: false,
      optional: false,
    });
    expect(env.secret('S', 'dev', 'Doc.')).to.deep.include({ default: 'dev', secret: true, optional: false });
    expect(env.optional('O', 'Doc.')).to.deep.include({ default: undefined, secret: false, optional: true });
    expect(env.optionalSecret('P', 'Doc.')).to.deep.include({
      default: undefined,
      secret: true,
      optional: true,
    });
    expect(env.int('I', 1, 'Doc.')).to.deep.include({ secret: false, optional: false });
    for (const entry of [
      env.string('A', 'x', 'd'),
      env.secret('S', 'x', 'd'),
      env.optional('O', 'd'),
      env.optionalSecret('P', 'd'),
    ])
      expect(entry.parse(' as is ')).to.equal(' as is ');
  });

  it('an integer: digits with an optional minus, within its range, else a message saying what was expected', () => {
    const port = env.int('PORT', 1, 'd', { min: 2, max: 10 });
    expect(one(port, '2').value).to.equal(2);
    expect(one(port, '10').value).to.equal(10);
    expect(one(port, ' 7 ').value).to.equal(7);
    expect(one(env.int('N', 0, 'd'), '-5').value).to.equal(-5);
    expect(refusal(port, '1')).to.equal('PORT: must be >= 2, got 1');
    expect(refusal(port, '11')).to.equal('PORT: must be <= 10, got 11');
    for (const raw of ['x', '1.5', '1e3', '--1', '0x1'])
      expect(refusal(port, raw), raw).to.equal(`PORT: expected an integer, got "${raw}"`);
  });

  it('a boolean: the usual words, in any case, else a message', () => {
    const flag = env.bool('FLAG', undefined, 'd');
    for (const raw of ['true', 'TRUE', ' 1 ', 'yes', 'on']) expect(one(flag, raw).value, raw).to.equal(true);
    for (const raw of ['false', 'False', '0', 'no', 'off']) expect(one(flag, raw).value, raw).to.equal(false);
    expect(refusal(flag, 'maybe')).to.equal('FLAG: expected true or false, got "maybe"');
  });

  it('one of a set: exactly one of its values', () => {
    const mode = env.oneOf('MODE', ['a', 'b'], undefined, 'd');
    expect(one(mode, 'b').value).to.equal('b');
    expect(refusal(mode, 'A')).to.equal('MODE: expected one of a, b, got "A"');
  });

  it('a URL: anything the URL parser takes', () => {
    const url = env.url('U', undefined, 'd');
    expect(one(url, 'redis://h:6379/2').value).to.equal('redis://h:6379/2');
    expect(refusal(url, 'not a url')).to.equal('U: expected a URL, got "not a url"');
  });

  it('a list: comma-separated, trimmed, empty entries dropped', () => {
    expect(one(env.list('L', [], 'd'), ' a ,b,, c ,').value).to.deep.equal(['a', 'b', 'c']);
  });
});

describe('loadConfig, unset and required keys', () => {
  it('an empty variable counts as unset: the default, or for a required key a problem quoting its doc', () => {
    const spec = { a: env.string('A', 'fallback', 'Doc of A.'), b: env.string('B', undefined, 'Doc of B.') };
    expect(loadConfig({ a: spec.a }, { A: '' })).to.deep.equal({ a: 'fallback' });
    try {
      loadConfig(spec, { B: '' });
      expect.fail('accepted');
    } catch (error) {
      expect((error as ConfigError).problems).to.deep.equal(['B is required: Doc of B.']);
      expect((error as ConfigError).message).to.equal('invalid configuration:\n  - B is required: Doc of B.');
      expect((error as ConfigError).name).to.equal('ConfigError');
    }
    expect(loadConfig({ o: env.optional('O', 'd') }, {})).to.deep.equal({ o: undefined });
  });

  it('reads process.env when no source is given', () => {
    process.env.MRP_CONFIG_TEST_KEY = 'from-env';
    try {
      expect(loadConfig({ v: env.string('MRP_CONFIG_TEST_KEY', undefined, 'd') })).to.deep.equal({
        v: 'from-env',
      });
    } finally {
      delete process.env.MRP_CONFIG_TEST_KEY;
    }
  });
});

describe('loadConfig in production: development secrets refused', () => {
  const spec = {
    appEnv: env.string('APP_ENV', 'development', 'd'),
    key: env.secret('SIGNING', 'dev-default', 'd'),
    token: env.optionalSecret('TOKEN', 'd'),
    db: env.url('DATABASE_URL', 'postgres://localhost/x', 'd'),
    name: env.string('NAME', 'mrp-dev-not-a-secret', 'd'),
  };
  const problems = (source: Record<string, string>): string[] => {
    try {
      loadConfig(spec, source);
      return [];
    } catch (error) {
      return [...(error as ConfigError).problems];
    }
  };
  const secretProblem = (name: string) =>
    `${name} is a development secret, which APP_ENV=production refuses: set a secret of your own`;
  const passwordProblem = (name: string) =>
    `${name} carries a development password, which APP_ENV=production refuses: set a password of your own`;

  it('a secret at its development default, or one of the published ones, is refused; a real one is not', () => {
    expect(problems({ APP_ENV: 'production' })).to.deep.equal([secretProblem('SIGNING')]);
    expect(problems({ APP_ENV: 'production', SIGNING: 'dev-case-service-secret' })).to.deep.equal([
      secretProblem('SIGNING'),
    ]);
    expect(problems({ APP_ENV: 'production', SIGNING: 'real', TOKEN: 'mrp-dev-redis' })).to.deep.equal([
      secretProblem('TOKEN'),
    ]);
    expect(problems({ APP_ENV: 'production', SIGNING: 'real', TOKEN: 'also-real' })).to.deep.equal([]);
    // Only secrets: a plain value that looks like one is not a secret.
    expect(problems({ APP_ENV: 'production', SIGNING: 'real' })).to.deep.equal([]);
  });

  it('a URL whose password is a development secret is refused, also percent-encoded; other URLs are not', () => {
    const base = { APP_ENV: 'production', SIGNING: 'real' };
    expect(problems({ ...base, DATABASE_URL: 'postgres://u:mrp-user-dev-only@db/x' })).to.deep.equal([
      passwordProblem('DATABASE_URL'),
    ]);
    expect(problems({ ...base, DATABASE_URL: 'postgres://u:mrp%2Ddev%2Dx@db/x' })).to.deep.equal([
      passwordProblem('DATABASE_URL'),
    ]);
    expect(problems({ ...base, DATABASE_URL: 'postgres://u:real@db/x' })).to.deep.equal([]);
    expect(problems({ ...base, DATABASE_URL: 'postgres://u@db/x' })).to.deep.equal([]);
    expect(problems({ ...base, DATABASE_URL: 'postgres://db/x' })).to.deep.equal([]);
    expect(problems({ ...base, DATABASE_URL: 'postgres://u:%E0%A4%A@db/x' })).to.deep.equal([]);
  });

  it('outside production nothing is refused for it, and other problems are reported first, alone', () => {
    expect(problems({ APP_ENV: 'development', TOKEN: 'mrp-dev-redis' })).to.deep.equal([]);
    expect(problems({ APP_ENV: 'production', DATABASE_URL: 'not a url' })).to.deep.equal([
      'DATABASE_URL: expected a URL, got "not a url"',
    ]);
  });

  it('knows the published secrets by name and by convention, and nothing else', () => {
    for (const secret of ['dev-case-service-secret', 'mrp-dev-anything', 'anything-dev-only'])
      expect(isDevelopmentSecret(secret), secret).to.equal(true);
    for (const value of ['', 'mrp-devx', 'x-mrp-dev-y', 'dev-only-x', 'dev-case-service-secret2'])
      expect(isDevelopmentSecret(value), value).to.equal(false);
  });
});
