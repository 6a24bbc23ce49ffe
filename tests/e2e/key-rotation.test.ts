import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { createKeyStore } from '@mrp/auth-service';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { DevRunner } from '../support/dev-runner.ts';
import { eventually } from '../support/eventually.ts';
import { request } from '../support/http.ts';
import { login } from '../support/platform.ts';

const root = resolve(import.meta.dirname, '..', '..');
/** Token lifetime in this test (the smallest auth-service accepts), and how long the rotation waits after the switch. */
const TTL_S = 30;
/** Envoy's JWKS cache here (300 s in production), so that the rotation's waits take seconds. */
const GATEWAY_JWKS_S = '4';

/** Runs a step of scripts/rotate-signing-key.ts and resolves with its exit code and output. */
async function rotation(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['scripts/rotate-signing-key.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  return { code, output };
}

describe('signing-key rotation under load, through Envoy (make rotate-key)', function () {
  const dev = new DevRunner();

  before(async function () {
    this.timeout(90_000);
    await dev.start({
      AUTH_KEYS_RELOAD_MS: '200',
      AUTH_ACCESS_TOKEN_TTL_SECONDS: String(TTL_S),
      // Envoy's JWKS cache, 300 s in production, shortened so the test waits seconds, not minutes.
      DEV_GATEWAY_JWKS_CACHE_S: GATEWAY_JWKS_S,
    });
  });

  after(async function () {
    this.timeout(30_000);
    await dev.stop();
  });

  it('no request fails, old tokens work until they expire, and a retired key is refused', async function () {
    this.timeout(150_000);
    const gateway = dev.gateway;
    const keysDir = join(dev.stateDir, 'keys');
    const oldPem = readFileSync(join(keysDir, 'current.pem'), 'utf8');
    const oldKid = (await createKeyStore(oldPem)).signing.kid;
    const beforeRotation = await login(gateway, 'viewer');
    expect(decodeProtectedHeader(beforeRotation).kid).to.equal(oldKid);

    // Steady reads from clients that log in again before their token expires, as clients do.
    const statuses = new Map<number, number>();
    let loading = true;
    const client = async () => {
      let token = await login(gateway, 'viewer');
      let loggedInAt = Date.now();
      while (loading) {
        if (Date.now() - loggedInAt > 12_000) {
          token = await login(gateway, 'viewer');
          loggedInAt = Date.now();
        }
        const answer = await request(`${gateway}/v1/cases?limit=1`, { token });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        await new Promise((done) => setTimeout(done, 10));
      }
    };
    const clients = [client(), client()];

    const common = [
      '--keys-dir',
      keysDir,
      '--jwks',
      `${dev.url('AUTH_SERVICE_PORT')}/.well-known/jwks.json`,
      '--gateway',
      gateway,
      '--timeout-s',
      '60',
      '--gateway-jwks-s',
      GATEWAY_JWKS_S,
    ];
    const prepared = await rotation(['prepare', ...common]);
    expect(prepared.code, prepared.output).to.equal(0);
    const switched = await rotation(['switch', ...common, '--settle-s', '11']);
    expect(switched.code, switched.output).to.equal(0);
    expect(switched.output)
      .to.include('waiting')
      .and.to.include('the gateway verifies')
      .and.to.include('switched:');

    // New tokens carry the new key; the one from before the rotation still works until it expires.
    let fresh = '';
    await eventually(async () => {
      fresh = await login(gateway, 'viewer');
      expect(decodeProtectedHeader(fresh).kid, 'signed with the new key').to.not.equal(oldKid);
    }, 25);
    // At once: the gateway knew the new key before anything was signed with it.
    const first = await request(`${gateway}/v1/cases?limit=1`, { token: fresh });
    expect(first.status, `the first token of the new key: ${first.text}`).to.equal(200);
    const old = await request(`${gateway}/v1/cases?limit=1`, { token: beforeRotation });
    expect(old.status, `a token of the old key after the switch: ${old.text}`).to.equal(200);

    const retired = await rotation(['retire', ...common, '--token-lifetime-s', String(TTL_S + 5)]);
    expect(retired.code, retired.output).to.equal(0);
    expect(retired.output).to.include(`retired ${oldKid}: the gateway refuses it`);

    // A token signed with the retired key, which no verifier has seen, is refused at once.
    const { signing } = await createKeyStore(oldPem);
    const forged = await new SignJWT({ roles: ['viewer'] })
      .setProtectedHeader({ alg: 'ES256', kid: signing.kid, typ: 'JWT' })
      .setIssuer('mrp-auth')
      .setAudience('mrp-platform')
      .setSubject('user-retired-key')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(signing.privateKey);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const refused = await request(`${gateway}/v1/cases?limit=1`, { token: forged });
      expect(refused.status, refused.text).to.equal(401);
    }

    loading = false;
    await Promise.all(clients);
    const total = [...statuses.values()].reduce((sum, count) => sum + count, 0);
    expect(total, 'reads made during the rotation').to.be.greaterThan(100);
    expect(Object.fromEntries(statuses), 'every read answered 200').to.deep.equal({ 200: total });
  });
});
