/**
 * What the run must prove, read from the databases themselves: every acknowledged case exists, no key made
 * two cases, and every case has exactly one case_created entry in the audit log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Acknowledged } from './clients.ts';

export interface Verdict {
  readonly acknowledged: number;
  readonly casesStored: number;
  /** Acknowledged cases missing from case-db. */
  readonly lost: string[];
  /** Idempotency keys (case titles) that made more than one case. */
  readonly doubled: string[];
  /** Stored cases without a case_created entry in the audit log (after the wait). */
  readonly auditMissing: string[];
  /** Cases with more than one case_created entry. */
  readonly auditDoubled: string[];
  /** How long after the load the audit log held every case (ms), or null if it never did. */
  readonly auditCaughtUpAfterMs: number | null;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function verify(
  acknowledged: readonly Acknowledged[],
  databases: { caseUrl: string; auditUrl: string },
  waitForAuditMs: number,
): Promise<Verdict> {
  const cases = await withClient(databases.caseUrl, async (client) => {
    const { rows } = await client.query<{ id: string; title: string }>(
      "SELECT id, title FROM cases WHERE title LIKE 'chaos %'",
    );
    return rows;
  });
  const storedIds = new Set(cases.map((row) => row.id));
  const byTitle = new Map<string, number>();
  for (const row of cases) byTitle.set(row.title, (byTitle.get(row.title) ?? 0) + 1);

  const started = Date.now();
  let audit = new Map<string, number>();
  let caughtUp: number | null = null;
  for (;;) {
    audit = await withClient(databases.auditUrl, async (client) => {
      const { rows } = await client.query<{ subject: string; n: string }>(
        "SELECT subject, count(*) AS n FROM audit_events WHERE type = 'case_created' GROUP BY subject",
      );
      return new Map(rows.map((row) => [row.subject.replace(/^case:/, ''), Number(row.n)]));
    });
    if ([...storedIds].every((id) => audit.has(id))) {
      caughtUp = Date.now() - started;
      break;
    }
    if (Date.now() - started > waitForAuditMs) break;
    await sleep(500);
  }

  return {
    acknowledged: acknowledged.length,
    casesStored: cases.length,
    lost: acknowledged.filter((ack) => !storedIds.has(ack.caseId)).map((ack) => ack.caseId),
    doubled: [...byTitle].filter(([, count]) => count > 1).map(([title]) => title),
    auditMissing: [...storedIds].filter((id) => !audit.has(id)),
    auditDoubled: [...storedIds].filter((id) => (audit.get(id) ?? 0) > 1),
    auditCaughtUpAfterMs: caughtUp,
  };
}
