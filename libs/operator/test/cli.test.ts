import { expect } from 'chai';
import { LOGS_USAGE, parseCommandLine, parseDuration, USAGE, WAIT_USAGE } from '../src/cli-args.ts';
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

  it('an unknown option exits 2 with the message and the command usage, and calls no API', async () => {
    const { code, stdout, stderr } = await mrpctl(['wait', '--tiemout', '5s'], { api });

    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.match(/^mrpctl: Unknown option '--tiemout'/);
    expect(stderr).to.include(WAIT_USAGE);
    expect(api.requests).to.deep.equal([]);
  });

  it('logs without a request ID exits 2 with the logs usage', async () => {
    const { code, stderr } = await mrpctl(['logs'], { api });

    expect(code).to.equal(2);
    expect(stderr).to.equal(`mrpctl: logs needs the request ID to look for\n\n${LOGS_USAGE}\n`);
    expect(api.requests).to.deep.equal([]);
  });

  it('no command, or an unknown one, exits 2 with the list of commands', async () => {
    for (const argv of [[], ['deploy']]) {
      const { code, stderr } = await mrpctl(argv, { api });
      expect(code, argv.join(' ')).to.equal(2);
      expect(stderr).to.include(USAGE);
    }
    expect((await mrpctl(['deploy'], { api })).stderr).to.match(/^mrpctl: unknown command "deploy"/);
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
      expect(stderr).to.include(`mrpctl: ${message}`);
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

  it('a --context the kubeconfig lacks exits 2 and lists the contexts it has', async () => {
    const { code, stderr } = await mrpctl(['logs', 'abc', '--context', 'prod'], { api });

    expect(code).to.equal(2);
    expect(stderr).to.include('mrpctl: the kubeconfig has no context "prod" (it has: fake, staging)');
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
        password: 'admin123',
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
