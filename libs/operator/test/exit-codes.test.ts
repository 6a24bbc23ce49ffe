import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EXIT, interruptedExitCode } from '../src/exit-codes.ts';
import { STOP_GRACE_MS } from '../src/cli.ts';
import { runCliProcess, startCliProcess } from './support/cli-process.ts';
import { FakeKubeApi, type Recording } from './support/fake-kube-api.ts';
import { startMrpctl } from './support/mrpctl.ts';

const rollingOut: Recording = {
  '/apis/apps/v1/namespaces/mrp/deployments': 'deployments-rolling-out.json',
  '/apis/apps/v1/namespaces/mrp/statefulsets': 'statefulsets-starting.json',
  '/apis/batch/v1/namespaces/mrp/jobs': 'jobs-complete.json',
};

/** A TCP server that accepts connections and never answers: an API server or gateway that hangs. */
async function startSilentServer(): Promise<{ server: Server; port: number; connected: Promise<void> }> {
  const sockets = new Set<Socket>();
  let connected!: () => void;
  const first = new Promise<void>((resolve) => {
    connected = resolve;
  });
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    connected();
  });
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, connected: first };
}

/** A kubeconfig file whose only cluster is at `server`. */
function kubeconfigFile(dir: string, server: string): string {
  const file = join(dir, 'config');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'mrp' } }],
      'current-context': 'c',
    }),
  );
  return file;
}

describe('mrpctl exit codes', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mrpctl-exit-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a signal is 128 + its number, as a shell reports it: 130 for SIGINT, 143 for SIGTERM', () => {
    expect(interruptedExitCode('SIGINT')).to.equal(130);
    expect(interruptedExitCode('SIGTERM')).to.equal(143);
    expect(interruptedExitCode(new DOMException('aborted', 'AbortError'))).to.equal(EXIT.interrupted);
  });

  it('run as a command: --version 0, --help 0, a usage error 2 with its two lines', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const shown = await runCliProcess(['--version']);
    expect(shown).to.deep.equal({ code: 0, stdout: `${version}\n`, stderr: '' });

    const help = await runCliProcess(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^usage: mrpctl /);

    const wrong = await runCliProcess(['wait', '--tiemout', '5s']);
    expect(wrong).to.deep.equal({
      code: 2,
      stdout: '',
      stderr: `mrpctl: unknown option "--tiemout"\nrun 'mrpctl wait --help' for usage\n`,
    });
  });

  it('Ctrl-C stops a wait in progress: it says so and exits 130; SIGTERM exits 143', async () => {
    const api = await FakeKubeApi.start(rollingOut);
    try {
      const kubeconfig = join(dir, 'config');
      writeFileSync(kubeconfig, api.kubeConfigFile());
      for (const [signal, code] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
      ] as const) {
        const run = startCliProcess(['wait', '--interval', '100ms', '--timeout', '60s'], {
          env: { KUBECONFIG: kubeconfig },
        });
        await run.stdout.waitFor(/^… deployment\/mrp-case-service /m);
        run.kill(signal);

        expect(await run.exit, run.stderr.text).to.deep.equal({ code, signal: null });
        expect(run.stderr.text).to.equal('✖ interrupted\n');
      }
    } finally {
      await api.stop();
    }
  });

  it('Ctrl-C stops a smoke in progress: the unanswered steps FAIL as interrupted and it exits 130', async () => {
    const silent = await startSilentServer();
    try {
      const run = startCliProcess(['smoke', '--url', `http://127.0.0.1:${silent.port}`]);
      await silent.connected;
      run.kill('SIGINT');

      expect(await run.exit).to.deep.equal({ code: 130, signal: null });
      expect(run.stdout.text).to.match(/^FAIL {2}gateway healthz .* interrupted$/m);
    } finally {
      silent.server.close();
    }
  });

  it('a command that has not stopped within the grace period after Ctrl-C is ended with 130', async () => {
    const silent = await startSilentServer();
    try {
      // logs waits on the API's answer to its list call, which never comes.
      const run = startCliProcess(['logs', 'abc'], {
        env: { KUBECONFIG: kubeconfigFile(dir, `http://127.0.0.1:${silent.port}`) },
      });
      await silent.connected;
      const stopped = performance.now();
      run.kill('SIGINT');

      expect(await run.exit).to.deep.equal({ code: 130, signal: null });
      expect(performance.now() - stopped).to.be.within(STOP_GRACE_MS - 100, STOP_GRACE_MS + 3000);
      expect(run.stderr.text).to.equal(
        `mrpctl: interrupted (the command did not stop within ${STOP_GRACE_MS} ms)\n`,
      );
    } finally {
      silent.server.close();
    }
  });

  it('a second Ctrl-C ends a command at once, with 130', async () => {
    const silent = await startSilentServer();
    try {
      const run = startCliProcess(['logs', 'abc'], {
        env: { KUBECONFIG: kubeconfigFile(dir, `http://127.0.0.1:${silent.port}`) },
      });
      await silent.connected;
      run.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      run.kill('SIGINT');

      expect(await run.exit).to.deep.equal({ code: 130, signal: null });
      // Not the grace period's way out, which says so.
      expect(run.stderr.text).to.equal('');
    } finally {
      silent.server.close();
    }
  });

  it('in-process, a smoke stopped mid-call resolves to 130, not to the 1 of its FAIL lines', async () => {
    const silent = await startSilentServer();
    try {
      const smoke = startMrpctl(['smoke', '--url', `http://127.0.0.1:${silent.port}`]);
      await silent.connected;
      smoke.stop();

      expect(await smoke.exit).to.equal(130);
      expect(smoke.stdout.text).to.match(/^smoke FAILED /m);
    } finally {
      silent.server.close();
    }
  });
});
