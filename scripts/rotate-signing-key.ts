/**
 * `make rotate-key` (or `node scripts/rotate-signing-key.ts <step>`): rotates auth-service's signing key in
 * its key directory (`AUTH_KEYS_DIR`) without a failed request. The steps, each safe to run again:
 *
 * - `prepare`: writes `next.pem`, a new ES256 key. auth-service publishes it at its next reload.
 * - `wait`: until auth-service's JWKS lists it, the gateway accepts a probe token signed with it (so Envoy's
 *   JWKS cache has it: Envoy does not refetch on an unknown `kid`), and `--settle-s` have passed since it
 *   was published (a service refetches its JWKS on an unknown `kid`, at most once per 10 s).
 * - `switch`: after `wait`, copies `current.pem` to `previous.pem` and renames `next.pem` to `current.pem`:
 *   new tokens are signed with the new key, tokens signed with the old one still verify.
 * - `retire`: once the longest token lifetime has passed since the switch, removes `previous.pem`; tokens
 *   signed with the old key are refused from then on (by every verifier once its JWKS cache expires).
 * - `rotate`: all of them in turn. `status`: what the directory, the JWKS and the gateway say.
 *
 * docs/runbook.md, "Rotating the signing key", has the procedure for a cluster.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { createKeyStore, generateSigningKeyPem, KEY_FILES, SIGNING_ALGORITHM } from '@mrp/auth-service';

const STEPS = ['status', 'prepare', 'wait', 'switch', 'retire', 'rotate'] as const;
type Step = (typeof STEPS)[number];

const USAGE = `usage: node scripts/rotate-signing-key.ts <${STEPS.join('|')}> [options]
  --keys-dir DIR          the key directory (default: $DEV_STATE_DIR/keys, or .dev/keys)
  --jwks URL              auth-service's JWKS (default http://127.0.0.1:3001/.well-known/jwks.json)
  --gateway URL           the gateway (default http://127.0.0.1:8080)
  --issuer ISS            iss of the probe token (default mrp-auth)
  --audience AUD          aud of the probe token (default mrp-platform)
  --settle-s N            least time between publishing the next key and the switch (default 15)
  --token-lifetime-s N    the longest token lifetime, clock skew included (default 960: 900 + 60)
  --timeout-s N           how long waiting for the verifiers may take (default 600)`;

/** Written by `switch`: when the old key stopped signing (ISO time). */
const SWITCHED_AT = 'switched-at';

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
        jwks: { type: 'string', default: 'http://127.0.0.1:3001/.well-known/jwks.json' },
        gateway: { type: 'string', default: 'http://127.0.0.1:8080' },
        issuer: { type: 'string', default: 'mrp-auth' },
        audience: { type: 'string', default: 'mrp-platform' },
        'settle-s': { type: 'string', default: '15' },
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
  const seconds = (name: 'settle-s' | 'token-lifetime-s' | 'timeout-s') => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < 0) fail(`--${name} must be a number of seconds\n${USAGE}`, 2);
    return value;
  };
  return {
    step,
    dir: resolve(values['keys-dir'] ?? join(process.env.DEV_STATE_DIR ?? '.dev', 'keys')),
    jwks: values.jwks,
    gateway: values.gateway.replace(/\/$/, ''),
    issuer: values.issuer,
    audience: values.audience,
    settleMs: seconds('settle-s') * 1000,
    lifetimeMs: seconds('token-lifetime-s') * 1000,
    timeoutMs: seconds('timeout-s') * 1000,
  };
}

type Settings = ReturnType<typeof settings>;

const path = (settings: Settings, file: string) => join(settings.dir, file);

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

/**
 * Whether the gateway verifies a token signed with `pem`: a short-lived probe token with no role, sent to
 * a route that needs one. 403 (or any answer but 401) means Envoy and the service both verified it.
 */
async function gatewayAccepts(
  settings: Settings,
  pem: string,
): Promise<{ accepted: boolean; status: number }> {
  const store = await createKeyStore(pem);
  const token = await new SignJWT({ roles: [] })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: store.signing.kid, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject('probe:key-rotation')
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(store.signing.privateKey);
  try {
    const response = await fetch(`${settings.gateway}/v1/cases?limit=1`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(3000),
    });
    await response.arrayBuffer();
    return { accepted: response.status !== 401 && response.status !== 429, status: response.status };
  } catch {
    return { accepted: false, status: 0 };
  }
}

function readKey(settings: Settings, file: string): string | undefined {
  const at = path(settings, file);
  return existsSync(at) ? readFileSync(at, 'utf8') : undefined;
}

async function status(settings: Settings): Promise<void> {
  const kids = await publishedKids(settings);
  say(`key directory ${settings.dir}`);
  for (const file of [KEY_FILES.current, KEY_FILES.next, KEY_FILES.previous]) {
    const pem = readKey(settings, file);
    if (!pem) {
      say(`  ${file}: none`);
      continue;
    }
    const kid = await kidOf(pem);
    const probe = await gatewayAccepts(settings, pem);
    say(
      `  ${file}: kid ${kid}; in the JWKS: ${kids ? (kids.includes(kid) ? 'yes' : 'no') : 'unknown (not reachable)'}; ` +
        `the gateway ${probe.accepted ? 'accepts' : 'refuses'} it (${probe.status || 'no answer'})`,
    );
  }
  const switched = readKey(settings, SWITCHED_AT);
  if (switched) say(`  switched at ${switched.trim()}`);
}

function prepare(settings: Settings): void {
  if (!existsSync(path(settings, KEY_FILES.current)))
    fail(`${path(settings, KEY_FILES.current)} is missing: is this auth-service's key directory?`);
  if (existsSync(path(settings, KEY_FILES.next))) {
    say(`${KEY_FILES.next} exists already: a rotation is under way (run wait, switch or status)`);
    return;
  }
  writeFileSync(path(settings, KEY_FILES.next), generateSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  say(`wrote ${path(settings, KEY_FILES.next)}: auth-service publishes it at its next reload`);
}

/** Until the next key is published, the gateway accepts it, and it has been published for --settle-s. */
async function waitForVerifiers(settings: Settings): Promise<void> {
  const pem = readKey(settings, KEY_FILES.next);
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
  const publishedAt = Date.now();
  say(
    `auth-service publishes ${kid}; waiting until the gateway verifies it (Envoy refetches its JWKS on its own schedule)`,
  );
  for (
    let probe = await gatewayAccepts(settings, pem);
    !probe.accepted;
    probe = await gatewayAccepts(settings, pem)
  ) {
    late(`the gateway did not accept a token signed with ${kid} (last answer ${probe.status})`);
    await sleep(1000);
  }
  const settle = publishedAt + settings.settleMs - Date.now();
  if (settle > 0) {
    say(
      `the gateway verifies ${kid}; letting the services' key caches settle for ${Math.ceil(settle / 1000)} s`,
    );
    await sleep(settle);
  }
  say(`every verifier can verify ${kid}`);
}

async function switchKeys(settings: Settings): Promise<void> {
  const next = readKey(settings, KEY_FILES.next);
  if (!next) {
    if (existsSync(path(settings, SWITCHED_AT))) say('switched already (no next key)');
    else fail(`there is no ${KEY_FILES.next} to switch to (run prepare first)`);
    return;
  }
  if (existsSync(path(settings, KEY_FILES.previous)))
    fail(`${KEY_FILES.previous} is still published: retire it before the next switch`);
  await waitForVerifiers(settings);
  const current = readKey(settings, KEY_FILES.current)!;
  // previous.pem first, then the atomic rename: the directory always has a current.pem, and the key that
  // stops signing is published without a gap.
  writeFileSync(path(settings, KEY_FILES.previous), current, { mode: 0o600 });
  writeFileSync(path(settings, SWITCHED_AT), `${new Date().toISOString()}\n`);
  renameSync(path(settings, KEY_FILES.next), path(settings, KEY_FILES.current));
  say(
    `switched: ${await kidOf(next)} signs from auth-service's next reload on; ${await kidOf(current)} stays published`,
  );
}

async function retire(settings: Settings): Promise<void> {
  const previous = readKey(settings, KEY_FILES.previous);
  if (!previous) {
    say(`no ${KEY_FILES.previous}: nothing to retire`);
    return;
  }
  const switchedAt = Date.parse(readKey(settings, SWITCHED_AT)?.trim() ?? '');
  if (Number.isNaN(switchedAt)) fail(`${SWITCHED_AT} is missing or unreadable: when did the switch happen?`);
  const remaining = switchedAt + settings.lifetimeMs - Date.now();
  if (remaining > 0) {
    say(`waiting ${Math.ceil(remaining / 1000)} s until the last token signed with the old key has expired`);
    await sleep(remaining);
  }
  const kid = await kidOf(previous);
  rmSync(path(settings, KEY_FILES.previous));
  rmSync(path(settings, SWITCHED_AT), { force: true });
  const deadline = Date.now() + settings.timeoutMs;
  while ((await publishedKids(settings))?.includes(kid) !== false) {
    if (Date.now() > deadline) fail(`auth-service still publishes ${kid} after --timeout-s`);
    await sleep(500);
  }
  say(
    `retired ${kid}: auth-service no longer publishes it; verifiers refuse it once their key caches expire`,
  );
}

const run: Record<Step, (settings: Settings) => Promise<void> | void> = {
  status,
  prepare,
  wait: waitForVerifiers,
  switch: switchKeys,
  retire,
  async rotate(settings) {
    prepare(settings);
    await switchKeys(settings);
    await retire(settings);
  },
};

const chosen = settings();
await run[chosen.step](chosen);
