import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseCommandLine, parseDuration, SMOKE_USAGE, USAGE } from '../src/cli-args.ts';
import { readVersion } from '../src/version.ts';
import { FakeKubeApi } from './support/fake-kube-api.ts';
import { mrpctl } from './support/mrpctl.ts';

describe('mrpctl arguments', () => {
  let api: FakeKubeApi;

  beforeEach(async () => {
    api = await FakeKubeApi.start({ '/api/v1/namespaces/mrp/pods': 'pods-running.json' });
  });

  afterEach(async () => {
    await api.stop();
  });

  it('an unknown option exits 2 with one line naming it and one pointing to the command usage, and calls no API', async () => {
    const { code, stdout, stderr } = await mrpctl(['wait', '--tiemout', '5s'], { api });

    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.equal(`mrpctl: unknown option "--tiemout"\nrun 'mrpctl wait --help' for usage\n`);
    expect(api.requests).to.deep.equal([]);
  });

  it('logs without a request ID exits 2 saying so, with the hint to the logs usage', async () => {
    const { code, stderr } = await mrpctl(['logs'], { api });

    expect(code).to.equal(2);
    expect(stderr).to.equal(
      `mrpctl: logs needs the request ID to look for\nrun 'mrpctl logs --help' for usage\n`,
    );
    expect(api.requests).to.deep.equal([]);
  });

  it('no command, or an unknown one, exits 2 naming the commands there are, with the hint to mrpctl --help', async () => {
    const cases: [string[], string][] = [
      [[], 'no command given (commands: wait, port-forward, smoke, logs, version)'],
      [['deploy'], 'unknown command "deploy" (commands: wait, port-forward, smoke, logs, version)'],
      [['help', 'deploy'], 'unknown command "deploy" (commands: wait, port-forward, smoke, logs, version)'],
    ];
    for (const [argv, problem] of cases) {
      const { code, stdout, stderr } = await mrpctl(argv, { api });
      expect(code, argv.join(' ')).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr).to.equal(`mrpctl: ${problem}\nrun 'mrpctl --help' for usage\n`);
    }
  });

  it('a value that is not a duration, a port or a URL exits 2 naming the option', async () => {
    const cases: [string[], string][] = [
      [['wait', '--timeout', 'soon'], '--timeout must be a duration such as 90s, 5m or 1h30m, got "soon"'],
      [
        ['port-forward', '--local-port', '80800'],
        '--local-port must be a port number (0-65535), got "80800"',
      ],
      [
        ['smoke', '--url', 'localhost:8080'],
        '--url must be an http:// or https:// URL, got "localhost:8080"',
      ],
      [['logs', 'abc', 'def'], 'unexpected argument "def"'],
      [['wait', '--release', 'My_Release'], '--release must be a Kubernetes name, got "My_Release"'],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await mrpctl(argv, { api });
      expect(code, argv.join(' ')).to.equal(2);
      expect(stderr).to.equal(`mrpctl: ${message}\nrun 'mrpctl ${argv[0]!} --help' for usage\n`);
    }
  });

  it('every usage error is exactly two lines on stderr, the problem then the hint, and nothing on stdout', async () => {
    const cases: [string[], string, string][] = [
      [['wait', '--timeout'], '--timeout needs a value', 'wait'],
      // parseArgs' own message spans three lines here.
      [['wait', '--timeout', '--interval', '2s'], '--timeout needs a value', 'wait'],
      [['logs', 'abc', '-n'], '--namespace needs a value', 'logs'],
      [['logs', 'abc', '--raw=yes'], '--raw takes no value', 'logs'],
      [['port-forward', '-x'], 'unknown option "-x"', 'port-forward'],
      [['smoke', '--context', ''], '--context must not be empty', 'smoke'],
      [['--version', 'now'], 'unexpected argument "now"', ''],
    ];
    for (const [argv, problem, command] of cases) {
      const { code, stdout, stderr } = await mrpctl(argv, { api });
      expect(code, argv.join(' ')).to.equal(2);
      expect(stdout, argv.join(' ')).to.equal('');
      expect(stderr.split('\n'), argv.join(' ')).to.deep.equal([
        `mrpctl: ${problem}`,
        `run 'mrpctl ${command ? `${command} ` : ''}--help' for usage`,
        '',
      ]);
    }
  });

  it("--version and version print package.json's version alone and exit 0", async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const argv of [['--version'], ['version']]) {
      const { code, stdout, stderr } = await mrpctl(argv);
      expect(code, argv.join(' ')).to.equal(0);
      expect(stdout).to.equal(`${version}\n`);
      expect(stderr).to.equal('');
    }
  });

  it('reads the version from the package.json above a compiled dist/src as well as above src', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mrpctl-version-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@mrp/operator', version: '9.8.7' }));
      mkdirSync(join(dir, 'dist', 'src'), { recursive: true });
      mkdirSync(join(dir, 'src'));
      expect(readVersion(join(dir, 'dist', 'src'))).to.equal('9.8.7');
      expect(readVersion(join(dir, 'src'))).to.equal('9.8.7');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help prints the usage on stdout and exits 0, for mrpctl and for each command', async () => {
    for (const argv of [
      ['--help'],
      ['wait', '--help'],
      ['logs', '-h'],
      ['help', 'smoke'],
      ['port-forward', '--help'],
    ]) {
      const { code, stdout, stderr } = await mrpctl(argv, { api });
      expect(code, argv.join(' ')).to.equal(0);
      expect(stdout).to.match(/^usage: mrpctl /);
      expect(stderr).to.equal('');
    }
  });

  it('--help prints the whole usage, with the exit codes, on stdout', async () => {
    const { code, stdout } = await mrpctl(['--help'], { api });

    expect(code).to.equal(0);
    expect(stdout).to.equal(`${USAGE}\n`);
    expect(USAGE).to.match(
      /^exit codes:\n {2}0 {4}success\n {2}1 {4}failure: .*\n {2}2 {4}usage error.*\n {2}130 {2}interrupted by Ctrl-C \(SIGINT; 143 for SIGTERM\)$/m,
    );
    expect(SMOKE_USAGE).to.include('--password-stdin').and.to.include('MRPCTL_PASSWORD');
    expect(SMOKE_USAGE).not.to.match(/--password\b(?!-stdin)/);
  });

  it('the command lines of the Makefile, CI, compose-smoke, Tilt and the chart NOTES still parse', () => {
    const lines = [
      ['smoke', '--url', 'http://localhost:8080'],
      ['smoke', '--url', 'http://127.0.0.1:18080'],
      ['smoke', '--namespace', 'mrp', '--release', 'mrp'],
      ['wait', '--namespace', 'mrp', '--release', 'mrp', '--timeout', '5s'],
      ['wait', '--namespace', 'mrp', '--release', 'mrp', '--context', 'kind-mrp'],
      ['port-forward', '--namespace', 'mrp', '--release', 'mrp'],
      ['logs', 'abc', '--namespace', 'mrp', '--release', 'mrp'],
    ];
    for (const argv of lines) expect(() => parseCommandLine(argv), argv.join(' ')).not.to.throw();
  });

  it('a --context the kubeconfig lacks exits 2 and lists the contexts it has', async () => {
    const { code, stderr } = await mrpctl(['logs', 'abc', '--context', 'prod'], { api });

    expect(code).to.equal(2);
    expect(stderr).to.equal(
      `mrpctl: the kubeconfig has no context "prod" (it has: fake, staging)\nrun 'mrpctl logs --help' for usage\n`,
    );
    expect(api.requests).to.deep.equal([]);
  });

  it("the namespace is --namespace, else the context's (also with --context), else mrp", async () => {
    await mrpctl(['logs', 'abc'], { api });
    await mrpctl(['logs', 'abc', '--context', 'staging'], { api });
    await mrpctl(['logs', 'abc', '--context', 'staging', '-n', 'qa'], { api });

    expect(
      api.requests.filter((request) => request.path.endsWith('/pods')).map((request) => request.path),
    ).to.deep.equal([
      '/api/v1/namespaces/mrp/pods',
      '/api/v1/namespaces/staging/pods',
      '/api/v1/namespaces/qa/pods',
    ]);
  });

  it('parses the defaults the usage promises', () => {
    expect(parseCommandLine(['wait'])).to.deep.equal({
      command: 'wait',
      args: {
        namespace: undefined,
        release: 'mrp',
        context: undefined,
        timeoutMs: 300_000,
        intervalMs: 2000,
      },
    });
    expect(parseCommandLine(['port-forward'])).to.deep.include({
      args: {
        namespace: undefined,
        release: 'mrp',
        context: undefined,
        localPort: 8080,
        address: '127.0.0.1',
      },
    });
    expect(parseCommandLine(['logs', 'r1'])).to.deep.include({
      args: {
        namespace: undefined,
        release: 'mrp',
        context: undefined,
        requestId: 'r1',
        sinceSeconds: 3600,
        raw: false,
      },
    });
    expect(parseCommandLine(['smoke'])).to.deep.include({
      args: {
        namespace: undefined,
        release: 'mrp',
        context: undefined,
        url: undefined,
        username: 'admin@example.com',
        password: { from: 'default', value: 'admin123' },
        requestTimeoutMs: 10_000,
        auditTimeoutMs: 20_000,
      },
    });
  });

  it('reads durations as Go does, a bare number as seconds', () => {
    expect(parseDuration('300s')).to.equal(300_000);
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('1.5s')).to.equal(1500);
    expect(parseDuration('90')).to.equal(90_000);
    expect(parseDuration('5 minutes')).to.equal(undefined);
    expect(parseDuration('')).to.equal(undefined);
  });
});
