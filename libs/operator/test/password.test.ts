import { Readable } from 'node:stream';
import { expect } from 'chai';
import { parseCommandLine, type SmokeArgs } from '../src/cli-args.ts';
import { passwordFromStdin, passwordSource, readAll, resolvePassword } from '../src/password.ts';
import { UsageError } from '../src/usage-error.ts';
import { runCliProcess } from './support/cli-process.ts';
import { FakeGateway } from './support/fake-gateway.ts';
import { mrpctl } from './support/mrpctl.ts';

const smokeArgs = (argv: string[], env: Record<string, string> = {}): SmokeArgs => {
  const line = parseCommandLine(['smoke', ...argv], env);
  if (line.command !== 'smoke') throw new Error(`parsed as ${line.command}`);
  return line.args;
};

const usageErrorOf = (run: () => unknown): UsageError => {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('no UsageError');
};

describe('mrpctl smoke password', () => {
  describe('where it comes from', () => {
    it('is MRPCTL_PASSWORD when set', () => {
      expect(smokeArgs([], { MRPCTL_PASSWORD: 's3cret' }).password).to.deep.equal({
        from: 'env',
        value: 's3cret',
      });
    });

    it('is standard input with --password-stdin, even when MRPCTL_PASSWORD is set', () => {
      expect(smokeArgs(['--password-stdin'], { MRPCTL_PASSWORD: 's3cret' }).password).to.deep.equal({
        from: 'stdin',
      });
    });

    it("is the seeded dev admin's with neither, so smoke against a development install needs nothing", () => {
      expect(smokeArgs(['--url', 'http://localhost:8080']).password).to.deep.equal({
        from: 'default',
        value: 'admin123',
      });
    });

    it('a set but empty MRPCTL_PASSWORD is a usage error, not a fall back to the dev password', () => {
      const error = usageErrorOf(() => passwordSource(false, { MRPCTL_PASSWORD: '' }, 'smoke'));
      expect(error.message).to.equal('MRPCTL_PASSWORD is set but empty');
      expect(error.command).to.equal('smoke');
    });

    it('is never the command line: --password and --password=... are refused saying how to pass it', () => {
      for (const argv of [
        ['--password', 'hunter2'],
        ['--url', 'http://localhost:8080', '--password=hunter2'],
        ['--password'],
      ]) {
        const error = usageErrorOf(() => smokeArgs(argv, { MRPCTL_PASSWORD: 'also-set' }));
        expect(error.message, argv.join(' ')).to.equal(
          '--password is not accepted: a password on the command line is visible to other users; set MRPCTL_PASSWORD or pipe it to --password-stdin',
        );
        expect(error.command).to.equal('smoke');
      }
    });
  });

  describe('read from standard input', () => {
    it('drops the one line ending echo or a heredoc leaves, and keeps everything else', () => {
      expect(passwordFromStdin('s3cret\n', 'smoke')).to.equal('s3cret');
      expect(passwordFromStdin('s3cret\r\n', 'smoke')).to.equal('s3cret');
      expect(passwordFromStdin('s3cret', 'smoke')).to.equal('s3cret');
      expect(passwordFromStdin(' spaced out \n', 'smoke')).to.equal(' spaced out ');
    });

    it('nothing, or more than one line, is a usage error', () => {
      expect(usageErrorOf(() => passwordFromStdin('', 'smoke')).message).to.equal(
        '--password-stdin read no password from standard input',
      );
      expect(usageErrorOf(() => passwordFromStdin('\n', 'smoke')).message).to.equal(
        '--password-stdin read no password from standard input',
      );
      expect(usageErrorOf(() => passwordFromStdin('one\ntwo\n', 'smoke')).message).to.equal(
        '--password-stdin read more than one line from standard input',
      );
    });

    it('reads the stream to its end, in whatever chunks it comes', async () => {
      // The euro sign split across two chunks, as a pipe may deliver it.
      const euro = Buffer.from('€');
      const chunks = (): Readable =>
        Readable.from([
          's3',
          Buffer.concat([Buffer.from('cr'), euro.subarray(0, 1)]),
          euro.subarray(1),
          't\n',
        ]);
      expect(await readAll(chunks())).to.equal('s3cr€t\n');
      expect(await resolvePassword({ from: 'stdin' }, chunks(), 'smoke')).to.equal('s3cr€t');
      expect(await resolvePassword({ from: 'env', value: 'x' }, chunks(), 'smoke')).to.equal('x');
    });
  });

  describe('the smoke command', () => {
    let gateway: FakeGateway;

    beforeEach(async () => {
      gateway = await FakeGateway.start({ password: 'not-the-dev-one' });
    });

    afterEach(async () => {
      await gateway.stop();
    });

    it('logs in with MRPCTL_PASSWORD', async () => {
      const { code, stdout } = await mrpctl(['smoke', '--url', gateway.url], {
        env: { MRPCTL_PASSWORD: 'not-the-dev-one' },
        auditIntervalMs: 10,
      });

      expect(code, stdout).to.equal(0);
      expect(stdout).to.match(/^PASS {2}login /m);
    });

    it('logs in with the password piped to --password-stdin', async () => {
      const { code, stdout } = await mrpctl(['smoke', '--url', gateway.url, '--password-stdin'], {
        stdin: 'not-the-dev-one\n',
        auditIntervalMs: 10,
      });

      expect(code, stdout).to.equal(0);
      expect(stdout).to.match(/^PASS {2}login /m);
    });

    it('given --password, it exits 2 with the problem and the hint, and calls nothing', async () => {
      const { code, stdout, stderr } = await mrpctl([
        'smoke',
        '--url',
        gateway.url,
        '--password',
        'not-the-dev-one',
      ]);

      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr.split('\n')).to.deep.equal([
        'mrpctl: --password is not accepted: a password on the command line is visible to other users; set MRPCTL_PASSWORD or pipe it to --password-stdin',
        "run 'mrpctl smoke --help' for usage",
        '',
      ]);
      expect(gateway.calls).to.deep.equal([]);
    });

    it('run as a command, it reads the password piped to it, or MRPCTL_PASSWORD, and exits with the result', async () => {
      const piped = await runCliProcess(['smoke', '--url', gateway.url, '--password-stdin'], {
        stdin: 'not-the-dev-one\n',
      });
      expect(piped.code, piped.stdout + piped.stderr).to.equal(0);

      const fromEnv = await runCliProcess(['smoke', '--url', gateway.url], {
        env: { MRPCTL_PASSWORD: 'wrong' },
      });
      expect(fromEnv.code).to.equal(1);
      expect(fromEnv.stdout).to.match(/^FAIL {2}login +400 /m);

      const empty = await runCliProcess(['smoke', '--url', gateway.url, '--password-stdin'], { stdin: '' });
      expect(empty.code).to.equal(2);
      expect(empty.stderr).to.equal(
        "mrpctl: --password-stdin read no password from standard input\nrun 'mrpctl smoke --help' for usage\n",
      );
    });
  });
});
