import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'chai';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';

const cli = resolve(import.meta.dirname, '..', '..', 'libs', 'operator', 'src', 'cli.ts');

/** `node libs/operator/src/cli.ts <args>` as a user runs it: its exit code and output. */
async function mrpctl(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { timeout: 60_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The PASS/FAIL/SKIP lines: outcome and step name. */
function outcomes(stdout: string): string[] {
  return stdout.split('\n').flatMap((line) => {
    const match = /^(PASS|FAIL|SKIP) {2}(\S+(?: \S+)*?) {2,}/.exec(line);
    return match ? [`${match[1]!} ${match[2]!}`] : [];
  });
}

/** `mrpctl smoke --url` against every service behind the real Envoy, exactly as an operator runs it. */
describe('mrpctl smoke through the real Envoy', () => {
  let full: FullPlatform;

  before(async () => {
    full = await startFullPlatform();
  });

  after(async () => {
    await full.stop();
  });

  it('passes every step of the seed flow, each line with its status and x-request-id, and exits 0', async () => {
    const { code, stdout, stderr } = await mrpctl(['smoke', '--url', full.url]);

    expect(code, stdout + stderr).to.equal(0);
    expect(outcomes(stdout)).to.deep.equal([
      'PASS gateway healthz',
      'PASS login',
      'PASS token required',
      'PASS create user',
      'PASS create case',
      'PASS idempotent replay',
      'PASS audit case_created',
    ]);
    // Envoy stamps every answer with a request ID, which the lines carry for `mrpctl logs`.
    for (const line of stdout.split('\n').filter((text) => /^PASS/.test(text)))
      expect(line).to.match(/ {2}(200|201|401) {2}x-request-id [0-9a-f-]{36}( |$)/);
    expect(stdout).to.match(/^PASS {2}create case +201 .* case [0-9a-f-]{36} (SCORED|PENDING_SCORE)$/m);
    expect(stdout).to.include(`smoke passed: 7 of 7 steps against ${full.url}`);
  });

  it('with a wrong password, login is FAIL with the refusal from auth-service, later steps SKIP, and it exits 1', async () => {
    // The password comes from the environment (never the command line).
    const { code, stdout } = await mrpctl(['smoke', '--url', full.url], { MRPCTL_PASSWORD: 'not-admin123' });

    expect(code).to.equal(1);
    expect(outcomes(stdout)).to.deep.equal([
      'PASS gateway healthz',
      'FAIL login',
      'PASS token required',
      'SKIP create user',
      'SKIP create case',
      'SKIP idempotent replay',
      'SKIP audit case_created',
    ]);
    expect(stdout).to.match(
      /^FAIL {2}login +400 {2}x-request-id [0-9a-f-]{36} {2}expected 200 with an access_token, got 400 application\/json \(invalid_grant: the username or password is wrong\)$/m,
    );
    expect(stdout).to.match(/^smoke FAILED against .*: 1 failed, 4 skipped, 2 passed of 7 steps$/m);
  });
});
