/**
 * The gate of `npm audit --omit=dev --json` (make security, the security workflow): a high or critical
 * advisory fails unless security/audit-allowlist.json accepts it, and the allow-list itself must stay
 * honest: every entry has a reason and an expiry date, and an expired entry fails the gate again.
 *
 *   node scripts/audit-gate.ts <npm-audit.json> <allowlist.json>
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** One entry of the allow-list: what is accepted, why, and until when (YYYY-MM-DD, inclusive). */
export interface AllowEntry {
  readonly advisory: string;
  readonly package: string;
  readonly reason: string;
  readonly expires: string;
}

/** The part of npm audit's JSON report (npm 7 and later) the gate reads. */
export interface AuditReport {
  readonly vulnerabilities?: Readonly<
    Record<
      string,
      {
        readonly severity: string;
        readonly via: readonly (
          | string
          | {
              readonly source?: number;
              readonly url?: string;
              readonly severity?: string;
              readonly title?: string;
            }
        )[];
      }
    >
  >;
}

const BLOCKING = new Set(['high', 'critical']);

/** The problems that fail the gate (empty: it passes). `today` is YYYY-MM-DD. */
export function auditProblems(
  report: AuditReport,
  allowlist: readonly AllowEntry[],
  today: string,
): string[] {
  const problems: string[] = [];
  for (const entry of allowlist) {
    const where = `allow-list entry ${entry.advisory || '(no advisory)'}`;
    if (!entry.advisory || !entry.package) problems.push(`${where}: names no advisory or package`);
    if (!entry.reason || entry.reason.trim().length < 20) problems.push(`${where}: says no reason`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(entry.expires))
      problems.push(`${where}: has no expiry date (YYYY-MM-DD)`);
    else if (entry.expires < today) problems.push(`${where}: expired on ${entry.expires}`);
  }
  const accepted = (pkg: string, ids: readonly string[]) =>
    allowlist.some(
      (entry) => entry.package === pkg && entry.expires >= today && ids.includes(entry.advisory),
    );
  for (const [pkg, finding] of Object.entries(report.vulnerabilities ?? {})) {
    for (const via of finding.via) {
      // A string names the dependency the advisory came through; that package has its own entry.
      if (typeof via === 'string') continue;
      const severity = via.severity ?? finding.severity;
      if (!BLOCKING.has(severity)) continue;
      const ids = [via.url, via.source === undefined ? undefined : String(via.source)].filter(
        (id): id is string => id !== undefined,
      );
      if (!accepted(pkg, ids))
        problems.push(`${pkg}: ${severity} ${via.title ?? 'advisory'} (${ids.join(', ') || 'no id'})`);
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [reportFile, allowFile] = process.argv.slice(2);
  if (!reportFile || !allowFile) {
    console.error('usage: node scripts/audit-gate.ts <npm-audit.json> <allowlist.json>');
    process.exit(2);
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as AuditReport;
  const { entries } = JSON.parse(readFileSync(allowFile, 'utf8')) as { entries: AllowEntry[] };
  const problems = auditProblems(report, entries, new Date().toISOString().slice(0, 10));
  for (const problem of problems) console.log(`  ${problem}`);
  process.exit(problems.length === 0 ? 0 : 1);
}
