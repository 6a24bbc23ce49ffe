import { expect } from 'chai';
import { describeParseError, parseCommandLine, parseDuration, UsageError } from '../src/cli-args.ts';

/** The UsageError a command line gives: its message and the command whose usage it points to. */
function refusal(argv: readonly string[]): { message: string; command: string | undefined } {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error, argv.join(' ')).to.be.instanceOf(UsageError);
    return { message: (error as UsageError).message, command: (error as UsageError).command };
  }
  return expect.fail(`"${argv.join(' ')}" was accepted`);
}

/** The options a command line parses to (a command that takes some). */
function argsOf(argv: readonly string[], env: Readonly<Record<string, string>> = {}) {
  const line = parseCommandLine(argv, env);
  if (!('args' in line)) return expect.fail(`"${argv.join(' ')}" parsed to no options`);
  return line.args;
}

describe('mrpctl command lines, parsed in-process', () => {
  // The defaults of each command are checked in cli.test.ts ('parses the defaults the usage promises').
  it('wait: its durations, and a zero interval refused', () => {
    expect(
      parseCommandLine([
        'wait',
        '--timeout',
        '1m',
        '--interval',
        '500ms',
        '-n',
        'ns',
        '--release',
        'r1',
        '--context',
        'c',
      ]),
    ).to.deep.equal({
      command: 'wait',
      args: { namespace: 'ns', release: 'r1', context: 'c', timeoutMs: 60_000, intervalMs: 500 },
    });
    expect(refusal(['wait', '--interval', '0s'])).to.deep.equal({
      message: '--interval must be more than 0',
      command: 'wait',
    });
    expect(refusal(['wait', '--timeout', 'soon'])).to.deep.equal({
      message: '--timeout must be a duration such as 90s, 5m or 1h30m, got "soon"',
      command: 'wait',
    });
    expect(refusal(['wait', 'extra'])).to.deep.equal({
      message: 'unexpected argument "extra"',
      command: 'wait',
    });
  });

  it('the global options: Kubernetes names for the namespace and release, a context not empty', () => {
    expect(refusal(['wait', '-n', 'Bad_NS'])).to.deep.equal({
      message: '--namespace must be a Kubernetes name, got "Bad_NS"',
      command: 'wait',
    });
    expect(refusal(['wait', '--release', '-x-'])).to.include({ command: 'wait' });
    expect(refusal(['wait', '--release', 'a-'])).to.deep.equal({
      message: '--release must be a Kubernetes name, got "a-"',
      command: 'wait',
    });
    expect(refusal(['wait', '--release', 'a'.repeat(64)]).message).to.include(
      '--release must be a Kubernetes name',
    );
    expect(argsOf(['wait', '--release', 'a'.repeat(63)]).release).to.have.length(63);
    expect(refusal(['wait', '--context', ''])).to.deep.equal({
      message: '--context must not be empty',
      command: 'wait',
    });
  });

  it('port-forward: its port and address, each checked', () => {
    expect(parseCommandLine(['port-forward'])).to.deep.include({ command: 'port-forward' });
    expect(argsOf(['port-forward'])).to.include({
      localPort: 8080,
      address: '127.0.0.1',
    });
    expect(argsOf(['port-forward', '--local-port', '0', '--address', '0.0.0.0'])).to.include({
      localPort: 0,
      address: '0.0.0.0',
    });
    expect(argsOf(['port-forward', '--local-port', '65535'])).to.include({ localPort: 65535 });
    for (const value of ['65536', '80a', '1.5', '1e3'])
      expect(refusal(['port-forward', '--local-port', value]), value).to.deep.equal({
        message: `--local-port must be a port number (0-65535), got "${value}"`,
        command: 'port-forward',
      });
    expect(refusal(['port-forward', '--address', ''])).to.deep.equal({
      message: '--address must not be empty',
      command: 'port-forward',
    });
  });

  it('smoke: the URL without its trailing slashes, the defaults, and what is refused', () => {
    const smoke = argsOf(['smoke', '--url', 'http://localhost:8080//'], { MRPCTL_PASSWORD: 'p' });
    expect(smoke).to.include({
      url: 'http://localhost:8080',
      username: 'admin@example.com',
      requestTimeoutMs: 10_000,
      auditTimeoutMs: 20_000,
    });
    expect(refusal(['smoke', '--url', 'ftp://x'])).to.deep.equal({
      message: '--url must be an http:// or https:// URL, got "ftp://x"',
      command: 'smoke',
    });
    expect(refusal(['smoke', '--url', 'http:///x']).message).to.include(
      '--url must be an http:// or https:// URL',
    );
    expect(refusal(['smoke', '--request-timeout', '0'])).to.deep.equal({
      message: '--request-timeout must be more than 0',
      command: 'smoke',
    });
    for (const argv of [
      ['smoke', '--password', 'x'],
      ['smoke', '--password=x'],
    ])
      expect(refusal(argv).message, argv.join(' ')).to.match(/^--password is not accepted/);
    // After `--`, nothing is an option: the refusal of --password does not apply there.
    expect(refusal(['smoke', '--', '--password']).message).to.equal('unexpected argument "--password"');
  });

  it('logs: the request ID trimmed, --since in whole seconds, and --raw', () => {
    expect(argsOf(['logs', ' r-1 '])).to.include({
      requestId: 'r-1',
      sinceSeconds: 3600,
      raw: false,
    });
    expect(argsOf(['logs', 'r', '--since', '1500ms', '--raw'])).to.include({
      sinceSeconds: 2,
      raw: true,
    });
    expect(refusal(['logs'])).to.deep.equal({
      message: 'logs needs the request ID to look for',
      command: 'logs',
    });
    expect(refusal(['logs', '  '])).to.deep.equal({
      message: 'logs needs the request ID to look for',
      command: 'logs',
    });
    expect(refusal(['logs', 'r', 'more'])).to.deep.equal({
      message: 'unexpected argument "more"',
      command: 'logs',
    });
    expect(refusal(['logs', 'r', '--since', '0s'])).to.deep.equal({
      message: '--since must be more than 0',
      command: 'logs',
    });
  });

  it('help and version, for mrpctl and each command, and nothing after them', () => {
    expect(parseCommandLine(['help'])).to.have.property('command', 'help');
    expect(parseCommandLine(['-h', 'logs'])).to.have.property('command', 'help');
    expect(parseCommandLine(['logs', '--help']))
      .to.have.property('text')
      .that.includes('mrpctl logs');
    expect(parseCommandLine(['version'])).to.deep.equal({ command: 'version' });
    expect(parseCommandLine(['--version'])).to.deep.equal({ command: 'version' });
    expect(refusal(['version', 'x'])).to.deep.equal({
      message: 'unexpected argument "x"',
      command: undefined,
    });
    expect(refusal(['help', 'wait', 'x'])).to.deep.equal({
      message: 'unexpected argument "x"',
      command: undefined,
    });
    expect(refusal(['help', 'nope']).message).to.equal(
      'unknown command "nope" (commands: wait, port-forward, smoke, logs, version)',
    );
    expect(refusal([]).message).to.match(/^no command given \(commands: /);
    expect(refusal(['nope']).message).to.match(/^unknown command "nope"/);
  });

  it("parseArgs' complaints as one short line", () => {
    expect(describeParseError(new Error("Unknown option '--tiemout'. To specify a positional..."))).to.equal(
      'unknown option "--tiemout"',
    );
    expect(describeParseError(new Error("Option '-n, --namespace <value>' argument missing"))).to.equal(
      '--namespace needs a value',
    );
    expect(
      describeParseError(new Error("Option '--timeout' argument is ambiguous.\nDid you forget")),
    ).to.equal('--timeout needs a value');
    expect(describeParseError(new Error("Option '--raw' does not take an argument"))).to.equal(
      '--raw takes no value',
    );
    expect(describeParseError(new Error('something else\nand more'))).to.equal('something else');
    expect(refusal(['wait', '--tiemout', '1s']).message).to.equal('unknown option "--tiemout"');
    expect(refusal(['wait', '--timeout']).message).to.equal('--timeout needs a value');
    expect(refusal(['logs', 'r', '--raw=yes']).message).to.equal('--raw takes no value');
  });

  it('durations as Go writes them, a bare number as seconds', () => {
    expect(parseDuration('90')).to.equal(90_000);
    expect(parseDuration('1.5')).to.equal(1500);
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('1h2m3s4ms')).to.equal(3_723_004);
    expect(parseDuration('0.5h')).to.equal(1_800_000);
    for (const value of ['', 's', '5x', '1h 2m', '-1s', 'm5', '5s!'])
      expect(parseDuration(value), value).to.equal(undefined);
  });
});
