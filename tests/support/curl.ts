import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Runs curl with the arguments a user would type (plus -s), and returns the status, headers and body. */
export async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await exec('curl', ['-s', '-D', '-', '-w', '\n%{http_code}', ...args]);
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const text = lines.join('\n');
  const split = text.indexOf('\r\n\r\n');
  return { status, headers: text.slice(0, split), body: text.slice(split + 4) };
}
