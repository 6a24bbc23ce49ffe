import { expect } from 'chai';
import { createLogger, encodeRevocation, RevocationList, REVOCATIONS_KEY } from '../src/index.ts';

describe('the revocation list a verifier reads (ADR 0021)', () => {
  const lines: { level: number; message: string }[] = [];
  const logger = createLogger({
    serviceName: 'test',
    level: 'info',
    destination: {
      write: (line: string) => lines.push(JSON.parse(line) as { level: number; message: string }),
    },
  });
  let hash: Record<string, string> = {};
  let failing = false;
  const source = {
    hgetall(key: string) {
      expect(key).to.equal(REVOCATIONS_KEY);
      return failing ? Promise.reject(new Error('connection refused')) : Promise.resolve(hash);
    },
  };
  const now = 1_000_000;

  it('names the lowest token version still accepted per subject, and ignores expired or malformed entries', async () => {
    hash = {
      alice: encodeRevocation(3, now + 60_000),
      bob: encodeRevocation(2_147_483_647, now + 60_000),
      carol: encodeRevocation(5, now - 1),
      dave: 'not-a-revocation',
    };
    const list = new RevocationList({ source, logger, now: () => now });
    await list.refresh();
    expect(list.minVersion('alice')).to.equal(3);
    expect(list.minVersion('bob')).to.equal(2_147_483_647);
    expect(list.minVersion('carol')).to.equal(undefined);
    expect(list.minVersion('dave')).to.equal(undefined);
    expect(list.minVersion('erin')).to.equal(undefined);
  });

  it('keeps the last list read while Redis cannot be read, says so once, and once when it can again', async () => {
    lines.length = 0;
    hash = { alice: encodeRevocation(3, now + 60_000) };
    const list = new RevocationList({ source, logger, now: () => now });
    await list.refresh();
    failing = true;
    await list.refresh();
    await list.refresh();
    expect(list.minVersion('alice')).to.equal(3);
    failing = false;
    hash = {};
    await list.refresh();
    expect(list.minVersion('alice')).to.equal(undefined);
    expect(lines.map((line) => line.message)).to.deep.equal([
      'token revocations cannot be read; the last list read stays in force',
      'token revocations readable again',
    ]);
  });

  it('says nothing while Redis is still connecting at start (within startupGraceMs), and calls it an outage after', async () => {
    lines.length = 0;
    failing = true;
    let clock = now;
    const list = new RevocationList({
      source,
      logger,
      now: () => clock,
      startupGraceMs: 5000,
      intervalMs: 60_000,
    });
    list.start();
    try {
      await list.refresh();
      clock += 4999;
      await list.refresh();
      expect(lines, 'still connecting').to.be.empty;
      clock += 1;
      await list.refresh();
      expect(lines.map((line) => line.message)).to.deep.equal([
        'token revocations cannot be read; the last list read stays in force',
      ]);
    } finally {
      list.stop();
      failing = false;
    }
  });
});
