// Examples for `semgrep --test .semgrep`: each `ruleid:` line must be matched by its rule, each `ok:`
// line must not. Never compiled or run.
import Router from '@koa/router';
import { decodeJwt, jwtVerify } from 'jose';

declare const pool: { query: (...args: unknown[]) => Promise<unknown> };
declare const log: { info: (...args: unknown[]) => void; warn: (...args: unknown[]) => void };
declare const input: { email: string; password: string; secret: string };
declare const token: string;
declare const key: CryptoKey;

export async function sql(id: string): Promise<void> {
  // ruleid: sql-template-interpolation
  await pool.query(`SELECT * FROM cases WHERE id = '${id}'`);
  // ruleid: sql-template-interpolation
  await pool.query({ text: `DELETE FROM cases WHERE id = '${id}'` });
  // ok: sql-template-interpolation
  await pool.query('SELECT * FROM cases WHERE id = $1', [id]);
  // ok: sql-template-interpolation
  await pool.query(`SELECT * FROM cases WHERE id = $1`, [id]);
}

export function code(source: string): unknown {
  // ruleid: dynamic-code
  eval(source);
  // ruleid: dynamic-code
  return new Function('x', source);
}

export async function claims(): Promise<unknown> {
  // ruleid: jwt-decoded-not-verified
  const unchecked = decodeJwt(token);
  // ok: jwt-decoded-not-verified
  const { payload } = await jwtVerify(token, key);
  return [unchecked, payload];
}

export const tls = {
  // ruleid: tls-verification-disabled
  agent: { rejectUnauthorized: false },
  // ok: tls-verification-disabled
  strict: { rejectUnauthorized: true },
};

// ruleid: router-loose-matching
export const loose = new Router();
// ruleid: router-loose-matching
export const lenient = new Router({ strict: false, sensitive: true });
// ok: router-loose-matching
export const exact = new Router({ strict: true, sensitive: true });

export function logging(): void {
  // ruleid: secret-in-log
  log.info({ email: input.email, password: input.password }, 'login attempt');
  // ruleid: secret-in-log
  log.warn({ secret: input.secret }, 'client refused');
  // ok: secret-in-log
  log.info({ email: input.email }, 'login attempt');
}

export function compare(client: { secret: string }, given: string): boolean {
  // ruleid: secret-compared-with-equals
  return client.secret === given;
}

export const body = JSON.stringify({
  email: input.email,
  // ok: secret-in-log
  password: input.password,
});
