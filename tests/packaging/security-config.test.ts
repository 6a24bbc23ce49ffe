import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ROOT, renderValueSet, type KubeObject } from './support/helm.ts';

/**
 * The scanners' committed settings (make security, .github/workflows/security.yml): nothing is waived
 * without its reason next to it, and every semgrep rule has examples it must and must not match.
 */
describe('security scanning settings', function () {
  this.timeout(120_000);

  describe('checkov (.checkov.yaml)', function () {
    const text = readFileSync(join(ROOT, '.checkov.yaml'), 'utf8');
    const config = parse(text) as { 'skip-check'?: string[]; framework?: string[] };

    it('scans the charts and the Dockerfiles, offline', function () {
      expect(config.framework).to.have.members(['kubernetes', 'dockerfile']);
      expect((config as Record<string, unknown>)['skip-download']).to.equal(true);
    });

    it('says why each check it skips is skipped, on the comment lines just above it', function () {
      const lines = text.split('\n');
      const skipped = config['skip-check'] ?? [];
      expect(skipped).to.not.be.empty;
      for (const check of skipped) {
        const at = lines.findIndex((line) => line.trim() === `- ${check}`);
        expect(at, check).to.be.above(0);
        const comment: string[] = [];
        for (let index = at - 1; index >= 0 && lines[index]!.trim().startsWith('#'); index -= 1)
          comment.unshift(lines[index]!.trim().replace(/^#\s*/, ''));
        const reason = comment.join(' ');
        expect(reason, check).to.match(new RegExp(`^${check} \\(`));
        expect(reason.length, `${check}'s reason`).to.be.above(80);
      }
    });
  });

  describe('waivers on single resources', function () {
    it('every checkov.io/skip annotation the charts render names a check and gives a reason', async function () {
      const objects: KubeObject[] = await renderValueSet('defaults');
      const waivers = objects.flatMap((object) =>
        Object.entries(object.metadata.annotations ?? {})
          .filter(([key]) => key.startsWith('checkov.io/skip'))
          .map(([, value]) => ({ where: `${object.kind}/${object.metadata.name}`, value })),
      );
      expect(waivers.map((waiver) => waiver.where)).to.include('Deployment/mrp-prometheus');
      for (const { where, value } of waivers) expect(value, where).to.match(/^CKV_[A-Z0-9_]+=\S.{20,}$/);
    });

    it('every checkov:skip comment in a Dockerfile names a check and gives a reason', function () {
      const files = ['Dockerfile', ...readdirSync(join(ROOT, 'images')).map((name) => join('images', name))];
      for (const file of files.filter((name) => /Dockerfile$/.test(name))) {
        for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
          if (!/checkov:skip/.test(line)) continue;
          expect(line, file).to.match(/^# checkov:skip=CKV_[A-Z0-9_]+: \S.{20,}$/);
        }
      }
    });
  });

  describe('semgrep (.semgrep/)', function () {
    const dir = join(ROOT, '.semgrep');
    const ruleFiles = readdirSync(dir).filter((name) => name.endsWith('.yml'));

    it('every rule file has its examples beside it, with a ruleid: line for each of its rules', function () {
      expect(ruleFiles).to.not.be.empty;
      for (const file of ruleFiles) {
        const rules = (parse(readFileSync(join(dir, file), 'utf8')) as { rules: { id: string }[] }).rules;
        const examples = readFileSync(join(dir, file.replace(/\.yml$/, '.ts')), 'utf8');
        for (const rule of rules) expect(examples, `${file}: ${rule.id}`).to.include(`// ruleid: ${rule.id}`);
      }
    });
  });
});

/** scripts/audit-gate.ts, imported by URL: scripts/ is outside this project's sources. */
interface AllowEntry {
  readonly advisory: string;
  readonly package: string;
  readonly reason: string;
  readonly expires: string;
}
interface AuditGateModule {
  readonly auditProblems: (report: unknown, allowlist: readonly AllowEntry[], today: string) => string[];
}
const auditGateModule = new URL('../../scripts/audit-gate.ts', import.meta.url).href;
const { auditProblems } = (await import(auditGateModule)) as AuditGateModule;

describe('the npm audit gate (scripts/audit-gate.ts)', function () {
  const ADVISORY = 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc';
  const report = (severity: string) => ({
    vulnerabilities: {
      'some-lib': {
        severity,
        via: [{ source: 1_100_001, url: ADVISORY, severity, title: 'Prototype pollution' }],
      },
      'uses-some-lib': { severity, via: ['some-lib'] },
    },
  });
  const entry = {
    advisory: ADVISORY,
    package: 'some-lib',
    reason: 'not reachable: we never parse untrusted input with it',
    expires: '2027-01-31',
  };

  it('fails on a high or critical advisory the allow-list does not accept, once per advisory (not per dependent)', function () {
    expect(auditProblems(report('high'), [], '2026-12-02')).to.deep.equal([
      `some-lib: high Prototype pollution (${ADVISORY}, 1100001)`,
    ]);
    expect(auditProblems(report('critical'), [], '2026-12-02')).to.have.length(1);
  });

  it('passes moderate and low advisories', function () {
    expect(auditProblems(report('moderate'), [], '2026-12-02')).to.deep.equal([]);
  });

  it('accepts an allow-listed advisory until its expiry date, then fails again, saying so', function () {
    expect(auditProblems(report('high'), [entry], '2027-01-31')).to.deep.equal([]);
    expect(auditProblems(report('high'), [entry], '2027-02-01')).to.deep.equal([
      `allow-list entry ${ADVISORY}: expired on 2027-01-31`,
      `some-lib: high Prototype pollution (${ADVISORY}, 1100001)`,
    ]);
  });

  it('refuses an allow-list entry without a reason or an expiry date', function () {
    const problems = auditProblems({}, [{ ...entry, reason: '', expires: 'soon' }], '2026-12-02');
    expect(problems).to.deep.equal([
      `allow-list entry ${ADVISORY}: says no reason`,
      `allow-list entry ${ADVISORY}: has no expiry date (YYYY-MM-DD)`,
    ]);
  });

  it('holds the committed allow-list to the same rules', function () {
    const { entries } = JSON.parse(readFileSync(join(ROOT, 'security', 'audit-allowlist.json'), 'utf8')) as {
      entries: AllowEntry[];
    };
    expect(auditProblems({}, entries, new Date().toISOString().slice(0, 10))).to.deep.equal([]);
  });
});
