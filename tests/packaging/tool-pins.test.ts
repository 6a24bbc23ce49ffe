// The kind path's tools: the versions scripts/k8s-tools.ts pins fit together, the GitHub workflow installs
// exactly those, and the check `make up` runs refuses the combinations known to fail.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ROOT } from './support/helm.ts';

// Loaded at run time for the reason given in tests/integration/bench-profile-summary.test.ts (TS2878).
interface ToolVersions {
  readonly kind?: string;
  readonly helm?: string;
  readonly skaffold?: string;
}
interface K8sToolsModule {
  readonly PINS: Readonly<Record<'kind' | 'kubernetes' | 'kubectl' | 'helm' | 'skaffold', string>>;
  readonly compatibilityProblems: (versions: ToolVersions) => string[];
  readonly parseVersion: (text: string) => [number, number, number] | undefined;
}
const k8sToolsModule = new URL('../../scripts/k8s-tools.ts', import.meta.url).href;
const { PINS, compatibilityProblems, parseVersion } = (await import(k8sToolsModule)) as K8sToolsModule;

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string>;
}

describe('the kind path’s tool versions (scripts/k8s-tools.ts)', function () {
  let kindJob: Step[];
  before(async function () {
    const workflow = parse(await readFile(join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')) as {
      jobs: { kind: { steps: Step[] } };
    };
    kindJob = workflow.jobs.kind.steps;
  });

  it('the pinned versions fit together, and kind’s node runs the Kubernetes the charts are validated against', async function () {
    expect(compatibilityProblems(PINS)).to.deep.equal([]);
    const charts = await readFile(join(ROOT, 'tests', 'packaging', 'charts.test.ts'), 'utf8');
    const validated = /KUBERNETES_VERSION = '(\d+\.\d+)\.\d+'/.exec(charts)?.[1];
    expect(PINS.kubernetes.replace(/^v/, '')).to.match(new RegExp(`^${validated!.replace('.', '\\.')}\\.`));
    expect(parseVersion(PINS.kubectl)!.slice(0, 2)).to.deep.equal(parseVersion(PINS.kubernetes)!.slice(0, 2));
  });

  it('the GitHub kind job installs exactly the pinned kind, kubectl, Helm and Skaffold, then runs the check', function () {
    const kind = kindJob.find((step) => step.uses?.startsWith('helm/kind-action'));
    expect(kind?.with).to.include({ version: PINS.kind, kubectl_version: PINS.kubectl });
    const helm = kindJob.find((step) => step.uses?.startsWith('azure/setup-helm'));
    expect(helm?.with).to.include({ version: PINS.helm });
    const runs = kindJob.map((step) => step.run ?? '').join('\n');
    expect(runs).to.include(`/skaffold/releases/${PINS.skaffold}/skaffold-linux-amd64`);
    expect(runs).to.include('node scripts/k8s-tools.ts check');
  });

  it('make up runs the same check before it creates anything', async function () {
    const makefile = await readFile(join(ROOT, 'Makefile'), 'utf8');
    const up = makefile.slice(makefile.indexOf('\nup:'), makefile.indexOf('\ndown:'));
    expect(up).to.include('node scripts/k8s-tools.ts check');
  });

  it('refuses Helm 4 with a Skaffold older than v2.17.0, a kind older than v0.28.0, and a Helm 2', function () {
    expect(compatibilityProblems({ helm: 'v4.1.4+g05fa379', skaffold: 'v2.16.1' })).to.have.length(1);
    expect(compatibilityProblems({ helm: 'v4.0.0', skaffold: 'v2.17.0' })).to.deep.equal([]);
    expect(compatibilityProblems({ helm: 'v3.19.0', skaffold: 'v2.16.1' })).to.deep.equal([]);
    expect(compatibilityProblems({ kind: 'kind v0.27.0 go1.23.6 linux/amd64' })).to.have.length(1);
    expect(compatibilityProblems({ kind: 'kind v0.28.0 go1.24.2 linux/amd64' })).to.deep.equal([]);
    expect(compatibilityProblems({ helm: 'v2.17.0+ga690bad' })).to.have.length(1);
    expect(compatibilityProblems({ skaffold: 'no version here' })).to.have.length(1);
  });
});
