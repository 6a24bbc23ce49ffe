import { expect } from 'chai';
import {
  createLogger,
  decodeRevocation,
  encodeRevocation,
  RevocationList,
  REVOCATIONS_KEY,
} from '../src/index.ts';

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

  it('decodes only what it encodes, and the key is the one user-service writes', () => {
    expect(REVOCATIONS_KEY).to.equal('auth:token-revocations');
    expect(decodeRevocation(encodeRevocation(3, 1234))).to.deep.equal({ minVersion: 3, expiresAtMs: 1234 });
    for (const value of ['x3:1234', '3:1234x', '3:', ':1', '3:-1', '3.5:1', ' 3:1'])
      expect(decodeRevocation(value), value).to.equal(undefined);
  });

  it('an entry stops at its expiry exactly, when read and when asked', async () => {
    let clock = now;
    hash = { alice: encodeRevocation(3, now + 10), bob: encodeRevocation(4, now) };
    const list = new RevocationList({ source, logger, now: () => clock });
    await list.refresh();
    expect(list.minVersion('bob'), 'expired when read').to.equal(undefined);
    clock = now + 9;
    expect(list.minVersion('alice')).to.equal(3);
    clock = now + 10;
    expect(list.minVersion('alice'), 'expired since').to.equal(undefined);
  });

  it('a failure after a successful read at start is an outage at once, grace or not', async () => {
    lines.length = 0;
    hash = {};
    const list = new RevocationList({ source, logger, now: () => now, intervalMs: 60_000 });
    list.start();
    try {
      await list.refresh();
      failing = true;
      await list.refresh();
      expect(lines.map((line) => line.message)).to.deep.equal([
        'token revocations cannot be read; the last list read stays in force',
      ]);
    } finally {
      list.stop();
      failing = false;
    }
  });

  it('a failure before start() is an outage: there is no start-up to wait for', async () => {
    lines.length = 0;
    failing = true;
    try {
      await new RevocationList({ source, logger, now: () => now }).refresh();
      expect(lines).to.have.length(1);
    } finally {
      failing = false;
    }
  });

  it('start() reads at once and then every interval, once however often it is called; stop() ends it', async () => {
    let reads = 0;
    const counting = {
      hgetall() {
        reads += 1;
        return Promise.resolve({});
      },
    };
    const list = new RevocationList({ source: counting, logger, intervalMs: 20 });
    list.start();
    list.start();
    expect(reads, 'read at once, once').to.equal(1);
    // Read again every interval: wait (up to 5 s) for two more reads.
    for (const started = Date.now(); reads < 3 && Date.now() - started < 5000;)
      await new Promise((resolve) => setTimeout(resolve, 10));
    list.stop();
    const read = reads;
    expect(read, 'read again every interval').to.be.at.least(3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reads, 'no read after stop()').to.equal(read);
  });
});
