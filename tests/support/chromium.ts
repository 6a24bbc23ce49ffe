import { existsSync } from 'node:fs';

/** Where Chromium usually is on Linux (Debian's package first). */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser the browser tests drive: MRP_CHROMIUM, else the first Chromium found. */
export function chromiumPath(): string {
  const chosen = process.env.MRP_CHROMIUM ?? CANDIDATES.find((path) => existsSync(path));
  if (chosen === undefined || !existsSync(chosen)) {
    throw new Error(
      `no Chromium at ${chosen ?? CANDIDATES.join(', ')}: install it (Debian: apt-get install chromium) or set MRP_CHROMIUM`,
    );
  }
  return chosen;
}
