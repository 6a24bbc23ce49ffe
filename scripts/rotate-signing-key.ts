/**
 * `make rotate-key` (or `node scripts/rotate-signing-key.ts <step>`): rotates auth-service's signing key in
 * its key directory (`AUTH_KEYS_DIR`), or on a cluster in the Secret the chart mounts as that directory
 * (`--secret <namespace>/<name>`, through kubectl), without a failed request and without a rollout. The
 * steps, each safe to run again:
 *
 * - `prepare`: writes `next.pem`, a new ES256 key. auth-service publishes it at its next reload.
 * - `wait`: until auth-service's JWKS lists it and one JWKS cache period of the gateway (`--gateway-jwks-s`,
 *   Envoy's `jwksCacheSeconds`) and `--settle-s` have passed since (Envoy does not refetch on an unknown `kid`,
 *   and each of its worker threads refreshes on its own schedule; a service refetches on an unknown `kid`
 *   at most once per 10 s), then checks that the gateway accepts probe tokens signed with it.
 * - `switch`: after `wait`, copies `current.pem` to `previous.pem` and renames `next.pem` to `current.pem`:
 *   new tokens are signed with the new key, tokens signed with the old one still verify.
 * - `retire`: once the longest token lifetime has passed since the switch, removes `previous.pem`, waits one
 *   gateway JWKS cache period and checks that the gateway refuses probe tokens signed with the old key.
 * - `rotate`: all of them in turn. `status`: what the directory, the JWKS and the gateway say.
 *
 * docs/runbook.md, "Rotating the signing key", has the procedure, locally and on a cluster.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { request } from 'node:http';
import { createKeyStore, generateSigningKeyPem, KEY_FILES, SIGNING_ALGORITHM } from '@mrp/auth-service';
import { JWT_POLICY } from '@mrp/gateway';
import { directoryKeyFiles, secretKeyFiles, type KeyFiles } from './rotate-key/key-files.ts';

const STEPS = ['status', 'prepare', 'wait', 'switch', 'retire', 'rotate'] as const;
type Step = (typeof STEPS)[number];

const USAGE = `usage: node scripts/rotate-signing-key.ts <${STEPS.join('|')}> [options]
  --keys-dir DIR          the key directory (default: $DEV_STATE_DIR/keys, or .dev/keys)
  --secret NS/NAME        instead, the chart's signing-key Secret, through kubectl (its current context)
  --jwks URL              auth-service's JWKS (default http://127.0.0.1:3001/.well-known/jwks.json)
  --gateway URL           the gateway (default http://127.0.0.1:8080)
  --issuer ISS            iss of the probe token (default mrp-auth)
  --audience AUD          aud of the probe token (default mrp-platform)
  --settle-s N            least time between publishing the next key and the switch (default 15)
  --gateway-jwks-s N      how long the gateway keeps the JWKS (Envoy's jwksCacheSeconds; default 300)
  --token-lifetime-s N    the longest token lifetime, clock skew included (default 960: 900 + 60)
  --timeout-s N           how long waiting for the verifiers may take (default 600)`;

/** Written by `switch`: when the old key stopped signing (ISO time). */
const SWITCHED_AT = 'switched-at';
/** Written by the first `wait` that saw the next key published (ISO time). */
const PUBLISHED_AT = 'published-at';

function fail(message: string, code = 1): never {
  process.stderr.write(`[rotate-key] ${message}\n`);
  process.exit(code);
}

const say = (message: string) => {
  process.stdout.write(`[rotate-key] ${message}\n`);
};

function settings() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        'keys-dir': { type: 'string' },
        secret: { type: 'string' },
        jwks: { type: 'string', default: 'http://127.0.0.1:3001/.well-known/jwks.json' },
        gateway: { type: 'string', default: 'http://127.0.0.1:8080' },
        issuer: { type: 'string', default: 'mrp-auth' },
        audience: { type: 'string', default: 'mrp-platform' },
        'settle-s': { type: 'string', default: '15' },
        'gateway-jwks-s': { type: 'string', default: String(JWT_POLICY.jwksCacheSeconds) },
        'token-lifetime-s': { type: 'string', default: '960' },
        'timeout-s': { type: 'string', default: '600' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const step = positionals[0] as Step | undefined;
  if (positionals.length !== 1 || !step || !STEPS.includes(step)) fail(USAGE, 2);
  const seconds = (name: 'settle-s' | 'gateway-jwks-s' | 'token-lifetime-s' | 'timeout-s') => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < 0) fail(`--${name} must be a number of seconds\n${USAGE}`, 2);
    return value;
  };
  if (values.secret !== undefined && values['keys-dir'] !== undefined)
    fail(`--keys-dir and --secret are two different places: give one\n${USAGE}`, 2);
  let files: KeyFiles;
  try {
    files =
      values.secret !== undefined
        ? secretKeyFiles(values.secret)
        : directoryKeyFiles(resolve(values['keys-dir'] ?? join(process.env.DEV_STATE_DIR ?? '.dev', 'keys')));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  return {
    step,
    files,
    jwks: values.jwks,
    gateway: values.gateway.replace(/\/$/, ''),
    issuer: values.issuer,
    audience: values.audience,
    settleMs: seconds('settle-s') * 1000,
    gatewayJwksMs: seconds('gateway-jwks-s') * 1000,
    lifetimeMs: seconds('token-lifetime-s') * 1000,
    timeoutMs: seconds('timeout-s') * 1000,
  };
}

type Settings = ReturnType<typeof settings>;

async function kidOf(pem: string): Promise<string> {
  return (await createKeyStore(pem)).signing.kid;
}

async function publishedKids(settings: Settings): Promise<string[] | undefined> {
  try {
    const response = await fetch(settings.jwks, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { keys?: { kid?: string }[] };
    return (body.keys ?? []).map((key) => String(key.kid));
  } catch {
    return undefined;
  }
}

/** A probe token signed with `pem`: no role, a minute long, a subject that says what it is. */
async function probeToken(settings: Settings, pem: string): Promise<string> {
  const store = await createKeyStore(pem);
  return new SignJWT({ roles: [] })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: store.signing.kid, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject('probe:key-rotation')
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(store.signing.privateKey);
}

/** One probe on a connection of its own (Envoy's worker threads each keep their own key cache): its status, 0 if none. */
async function probeStatus(settings: Settings, pem: string): Promise<number> {
  const token = await probeToken(settings, pem);
  return new Promise((done) => {
    const call = request(
      `${settings.gateway}/v1/cases?limit=1`,
      { agent: false, headers: { authorization: `Bearer ${token}` }, timeout: 3000 },
      (response) => {
        response.resume();
        response.once('end', () => {
          done(response.statusCode ?? 0);
        });
      },
    );
    call.once('timeout', () => {
      call.destroy();
    });
    call.once('error', () => {
      done(0);
    });
    call.end();
  });
}

const PROBES = 8;

/**
 * Whether the gateway verifies tokens signed with `pem`: probe tokens with no role, each new, sent to a route
 * that needs a role, each on a new connection. Any answer but 401 (the service's 403) means Envoy and the
 * service both verified it; `accepted` only when every probe was, `refused` only when every one was refused.
 */
async function gatewayVerdict(
  settings: Settings,
  pem: string,
): Promise<{ accepted: boolean; refused: boolean; statuses: number[] }> {
  const statuses: number[] = [];
  for (let probe = 0; probe < PROBES; probe += 1) statuses.push(await probeStatus(settings, pem));
  const verified = (status: number) => status !== 0 && status !== 401 && status !== 429;
  return {
    accepted: statuses.every(verified),
    refused: statuses.every((status) => status === 401),
    statuses,
  };
}

function readKey(settings: Settings, file: string): Promise<string | undefined> {
  return settings.files.read(file);
}

async function status(settings: Settings): Promise<void> {
  const kids = await publishedKids(settings);
  say(settings.files.description);
  for (const file of [KEY_FILES.current, KEY_FILES.next, KEY_FILES.previous]) {
    const pem = await readKey(settings, file);
    if (!pem) {
      say(`  ${file}: none`);
      continue;
    }
    const kid = await kidOf(pem);
    const verdict = await gatewayVerdict(settings, pem);
    const gateway = verdict.accepted ? 'accepts' : verdict.refused ? 'refuses' : 'partly accepts';
    say(
      `  ${file}: kid ${kid}; in the JWKS: ${kids ? (kids.includes(kid) ? 'yes' : 'no') : 'unknown (not reachable)'}; ` +
        `the gateway ${gateway} it (${verdict.statuses.join(' ')})`,
    );
  }
  const switched = await readKey(settings, SWITCHED_AT);
  if (switched) say(`  switched at ${switched.trim()}`);
}

async function prepare(settings: Settings): Promise<void> {
  const { files } = settings;
  if ((await readKey(settings, KEY_FILES.current)) === undefined)
    fail(`${files.description} has no ${KEY_FILES.current}: is it auth-service's?`);
  if ((await readKey(settings, KEY_FILES.next)) !== undefined) {
    say(`${KEY_FILES.next} exists already: a rotation is under way (run wait, switch or status)`);
    return;
  }
  await files.apply([{ write: KEY_FILES.next, content: generateSigningKeyPem() }]);
  say(`wrote ${KEY_FILES.next} in the ${files.description}: auth-service publishes it at its next reload`);
}

/**
 * Until the next key is published, one gateway JWKS period and --settle-s have passed since (counted from
 * the first time a `wait` saw it published, kept in `published-at`), and the gateway accepts it.
 */
async function waitForVerifiers(settings: Settings): Promise<void> {
  const pem = await readKey(settings, KEY_FILES.next);
  if (!pem) fail(`there is no ${KEY_FILES.next} to wait for (run prepare first)`);
  const kid = await kidOf(pem);
  const deadline = Date.now() + settings.timeoutMs;
  const late = (what: string) => {
    if (Date.now() > deadline) fail(`${what} within --timeout-s (${settings.timeoutMs / 1000} s)`);
  };
  while (!(await publishedKids(settings))?.includes(kid)) {
    late(`auth-service did not publish ${kid} at ${settings.jwks}`);
    await sleep(500);
  }
  let publishedAt = Date.parse((await readKey(settings, PUBLISHED_AT))?.trim() ?? '');
  if (Number.isNaN(publishedAt)) {
    publishedAt = Date.now();
    await settings.files.apply([
      { write: PUBLISHED_AT, content: `${new Date(publishedAt).toISOString()}\n` },
    ]);
  }
  const settle = publishedAt + Math.max(settings.settleMs, settings.gatewayJwksMs + 1000) - Date.now();
  if (settle > 0) {
    say(
      `auth-service publishes ${kid}; waiting ${Math.ceil(settle / 1000)} s for the gateway's JWKS period ` +
        `(Envoy does not refetch on an unknown kid) and the services' key caches`,
    );
    await sleep(settle);
  }
  for (let verdict = await gatewayVerdict(settings, pem); !verdict.accepted;) {
    late(`the gateway did not accept tokens signed with ${kid} (answers ${verdict.statuses.join(' ')})`);
    await sleep(1000);
    verdict = await gatewayVerdict(settings, pem);
  }
  say(`the gateway verifies ${kid}: every verifier can verify it`);
}

async function switchKeys(settings: Settings): Promise<void> {
  const next = await readKey(settings, KEY_FILES.next);
  if (!next) {
    if ((await readKey(settings, SWITCHED_AT)) !== undefined) say('switched already (no next key)');
    else fail(`there is no ${KEY_FILES.next} to switch to (run prepare first)`);
    return;
  }
  if ((await readKey(settings, KEY_FILES.previous)) !== undefined)
    fail(`${KEY_FILES.previous} is still published: retire it before the next switch`);
  await waitForVerifiers(settings);
  const current = (await readKey(settings, KEY_FILES.current))!;
  // previous.pem first, then the rename: there is always a current.pem, and the key that stops signing is
  // published without a gap (a directory applies the changes one by one, a Secret all at once).
  await settings.files.apply([
    { write: KEY_FILES.previous, content: current },
    { write: SWITCHED_AT, content: `${new Date().toISOString()}\n` },
    { rename: KEY_FILES.next, to: KEY_FILES.current },
    { remove: PUBLISHED_AT },
  ]);
  say(
    `switched: ${await kidOf(next)} signs from auth-service's next reload on; ${await kidOf(current)} stays published`,
  );
}

async function retire(settings: Settings): Promise<void> {
  const previous = await readKey(settings, KEY_FILES.previous);
  if (!previous) {
    say(`no ${KEY_FILES.previous}: nothing to retire`);
    return;
  }
  const switchedAt = Date.parse((await readKey(settings, SWITCHED_AT))?.trim() ?? '');
  if (Number.isNaN(switchedAt)) fail(`${SWITCHED_AT} is missing or unreadable: when did the switch happen?`);
  const remaining = switchedAt + settings.lifetimeMs - Date.now();
  if (remaining > 0) {
    say(`waiting ${Math.ceil(remaining / 1000)} s until the last token signed with the old key has expired`);
    await sleep(remaining);
  }
  const kid = await kidOf(previous);
  await settings.files.apply([{ remove: KEY_FILES.previous }, { remove: SWITCHED_AT }]);
  const deadline = Date.now() + settings.timeoutMs;
  while ((await publishedKids(settings))?.includes(kid) !== false) {
    if (Date.now() > deadline) fail(`auth-service still publishes ${kid} after --timeout-s`);
    await sleep(500);
  }
  say(
    `auth-service no longer publishes ${kid}; waiting ${settings.gatewayJwksMs / 1000 + 1} s for the gateway's JWKS period`,
  );
  await sleep(settings.gatewayJwksMs + 1000);
  for (let verdict = await gatewayVerdict(settings, previous); !verdict.refused;) {
    if (Date.now() > deadline)
      fail(`the gateway still accepts tokens signed with ${kid} (answers ${verdict.statuses.join(' ')})`);
    await sleep(1000);
    verdict = await gatewayVerdict(settings, previous);
  }
  say(
    `retired ${kid}: the gateway refuses it; a service refuses it at its next key fetch (within its 5-minute key-set age)`,
  );
}

const run: Record<Step, (settings: Settings) => Promise<void> | void> = {
  status,
  prepare,
  wait: waitForVerifiers,
  switch: switchKeys,
  retire,
  async rotate(settings) {
    await prepare(settings);
    await switchKeys(settings);
    await retire(settings);
  },
};

const chosen = settings();
await Promise.resolve(run[chosen.step](chosen)).catch((error: unknown) => {
  fail((error as Error).message);
});
