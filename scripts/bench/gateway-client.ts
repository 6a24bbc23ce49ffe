/** HTTP through the gateway, outside the measured load: logins and the audit log. */

const USERS = {
  admin: { username: 'admin@example.com', password: 'admin123' },
  analyst: { username: 'analyst@example.com', password: 'analyst123' },
  viewer: { username: 'viewer@example.com', password: 'viewer123' },
} as const;

/** One login per role: the gateway allows 20 logins per minute per client address. */
export async function login(gateway: string, role: keyof typeof USERS): Promise<string> {
  const response = await fetch(`${gateway}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(USERS[role]).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`login as ${role} answered ${response.status}: ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

export function tokenSubject(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub?: unknown;
    };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface AuditPage {
  items: { subject: string; received_at: string }[];
  next_cursor: string | null;
}

/** Every case_created entry since `since`: case id to its received_at (ms). */
export async function auditArrivals(
  gateway: string,
  token: string,
  since: string,
): Promise<Map<string, number>> {
  const arrivals = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ type: 'case_created', limit: '100', since });
    if (cursor) query.set('cursor', cursor);
    const response = await fetch(`${gateway}/v1/audit?${query.toString()}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET /v1/audit answered ${response.status}: ${text}`);
    const page = JSON.parse(text) as AuditPage;
    for (const item of page.items) {
      if (item.subject.startsWith('case:')) arrivals.set(item.subject.slice(5), Date.parse(item.received_at));
    }
    cursor = page.next_cursor;
  } while (cursor);
  return arrivals;
}
