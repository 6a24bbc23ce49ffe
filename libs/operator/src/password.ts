import { UsageError } from './usage-error.ts';

/** The environment variable `smoke` reads the password from. */
export const PASSWORD_ENV = 'MRPCTL_PASSWORD';

/** The seeded development admin's password: what `smoke` logs in with when told no other. */
export const DEV_PASSWORD = 'admin123';

/**
 * Where the password comes from. Never the command line: other users see it in the process list, and the
 * shell keeps it in its history.
 */
export type PasswordSource =
  | { readonly from: 'default'; readonly value: string }
  | { readonly from: 'env'; readonly value: string }
  | { readonly from: 'stdin' };

/** How to pass a password, for the messages that refuse one on the command line. */
export const PASSWORD_HINT = `set ${PASSWORD_ENV} or pipe it to --password-stdin`;

/**
 * `--password-stdin` wins over MRPCTL_PASSWORD, which wins over the dev admin's password. A set but empty
 * MRPCTL_PASSWORD is a usage error (an export of a secret that failed), not a reason to fall back.
 */
export function passwordSource(
  passwordStdin: boolean,
  env: Readonly<Record<string, string | undefined>>,
  command: string,
): PasswordSource {
  if (passwordStdin) return { from: 'stdin' };
  const value = env[PASSWORD_ENV];
  if (value === undefined) return { from: 'default', value: DEV_PASSWORD };
  if (value === '') throw new UsageError(`${PASSWORD_ENV} is set but empty`, command);
  return { from: 'env', value };
}

/**
 * The password in what was piped to `--password-stdin`: one line, its line ending dropped (as `echo` and
 * `kubectl ... | base64 -d` leave one, or none). Empty or several lines is a usage error.
 */
export function passwordFromStdin(text: string, command: string): string {
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin read no password from standard input', command);
  if (/[\r\n]/.test(password))
    throw new UsageError('--password-stdin read more than one line from standard input', command);
  return password;
}

/** Everything the stream gives until its end, as UTF-8. */
export async function readAll(
  stream: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** The password itself: read from standard input when that is its source. */
export async function resolvePassword(
  source: PasswordSource,
  stdin: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  command: string,
): Promise<string> {
  return source.from === 'stdin' ? passwordFromStdin(await readAll(stdin), command) : source.value;
}
