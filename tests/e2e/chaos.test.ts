import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'chai';

const root = resolve(import.meta.dirname, '..', '..');
// The fault list the script injects in turn; loaded at run time (scripts/ and tests/ are separate TS
// projects, see tests/integration/bench-profile-summary.test.ts), so the test follows the script's list.
const { FAULTS } = (await import(new URL('../../scripts/chaos/faults.ts', import.meta.url).href)) as {
  FAULTS: readonly string[];
};

interface ChaosLine {
  readonly ok: boolean;
  readonly faults: readonly { fault: string; detail: string }[];
  readonly unexpected: readonly string[];
  readonly verdict: {
    acknowledged: number;
    lost: number;
    doubled: number;
    audit_missing: number;
    audit_doubled: number;
  };
}

/**
 * The short version of `make chaos`: every fault once while clients create cases (about a minute). Only
 * correctness is asserted, from the script's own proof read from the databases: nothing acknowledged is
 * lost or doubled, and the audit log holds every case exactly once. Timing is reported, never asserted.
 */
describe('make chaos, short: every service, Envoy, Redis and Postgres fail once under load', function () {
  it('loses and doubles nothing acknowledged, and the audit log holds every case exactly once', async function () {
    this.timeout(300_000);
    let output = '';
    const exitCode = await new Promise<number | null>((done) => {
      const chaos = spawn(process.execPath, ['scripts/chaos.ts'], {
        cwd: root,
        env: { ...process.env, CHAOS_DURATION_S: '48', CHAOS_INTERVAL_S: '4', CHAOS_CLIENTS: '3' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      chaos.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      chaos.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      chaos.once('exit', (code) => {
        done(code);
      });
    });
    const line = output.split('\n').find((each) => each.startsWith('{"chaos":'));
    expect(line, output).to.be.a('string');
    const result = JSON.parse(line!) as ChaosLine;
    expect(new Set(result.faults.map((fault) => fault.fault))).to.have.keys(...FAULTS);
    expect(result.verdict.acknowledged, 'acknowledged creates').to.be.greaterThan(0);
    expect(result.verdict, output).to.deep.include({
      lost: 0,
      doubled: 0,
      audit_missing: 0,
      audit_doubled: 0,
    });
    expect(result.unexpected, 'answers a valid create never gets').to.deep.equal([]);
    expect(result.ok).to.equal(true);
    expect(exitCode, output).to.equal(0);
  });
});
