/**
 * The versions of kind, Helm, Skaffold and kubectl that deploy this platform together, and the checks that
 * `make up` runs on the ones installed. The GitHub workflow's kind job installs exactly the pinned ones
 * (tests/packaging/tool-pins.test.ts holds the two to each other).
 *
 *   node scripts/k8s-tools.ts check     # the installed versions: exit 1, saying why, if they do not fit
 *   node scripts/k8s-tools.ts pins      # the pinned versions
 *
 * Why these constraints:
 * - Skaffold runs `helm version --client` before v2.17.0, which Helm 4 refuses (unknown flag): Helm 4 needs
 *   Skaffold v2.17.0 or newer.
 * - kind enforces NetworkPolicies from v0.24.0 (kindnetd with kube-network-policies), but before v0.28.0 its
 *   policy agent (kube-network-policies v0.6) can drop the kubelet's probes under a default deny, which the
 *   charts ship: pods never become ready. v0.28.0 carries kube-network-policies v0.8.0.
 * - The charts are validated against the Kubernetes 1.34 schemas; the pinned kind's default node image is
 *   Kubernetes 1.34.
 */
import { execFileSync } from 'node:child_process';

export const PINS = {
  kind: 'v0.30.0',
  /** The node image kind v0.30.0 uses by default. */
  kubernetes: 'v1.34.0',
  kubectl: 'v1.34.0',
  helm: 'v4.1.4',
  skaffold: 'v2.24.0',
} as const;

export const MINIMUMS = {
  kind: 'v0.28.0',
  helm: 'v3.14.0',
  /** With Helm 4. */
  skaffoldForHelm4: 'v2.17.0',
  skaffold: 'v2.0.0',
} as const;

/** [major, minor, patch] of "v1.2.3", "1.2.3+g..." or "v4.1.4+gabc"; undefined if there is none. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** a < b, by major, minor, patch. */
function older(a: readonly number[], b: readonly number[]): boolean {
  for (let index = 0; index < 3; index += 1) if (a[index] !== b[index]) return a[index]! < b[index]!;
  return false;
}

export interface ToolVersions {
  readonly kind?: string | undefined;
  readonly helm?: string | undefined;
  readonly skaffold?: string | undefined;
}

/** What is wrong with a set of versions, in words; empty when they deploy the platform together. */
export function compatibilityProblems(versions: ToolVersions): string[] {
  const problems: string[] = [];
  const kind = versions.kind === undefined ? undefined : parseVersion(versions.kind);
  const helm = versions.helm === undefined ? undefined : parseVersion(versions.helm);
  const skaffold = versions.skaffold === undefined ? undefined : parseVersion(versions.skaffold);
  if (versions.kind !== undefined && !kind)
    problems.push(`kind: cannot read a version in "${versions.kind}"`);
  if (versions.helm !== undefined && !helm)
    problems.push(`helm: cannot read a version in "${versions.helm}"`);
  if (versions.skaffold !== undefined && !skaffold)
    problems.push(`skaffold: cannot read a version in "${versions.skaffold}"`);
  if (kind && older(kind, parseVersion(MINIMUMS.kind)!))
    problems.push(
      `kind ${versions.kind} is older than ${MINIMUMS.kind}: its NetworkPolicy agent can block the kubelet's probes under the charts' default deny (install kind ${PINS.kind})`,
    );
  if (helm && older(helm, parseVersion(MINIMUMS.helm)!))
    problems.push(`helm ${versions.helm} is older than ${MINIMUMS.helm} (install helm ${PINS.helm})`);
  if (skaffold && older(skaffold, parseVersion(MINIMUMS.skaffold)!))
    problems.push(`skaffold ${versions.skaffold} is not Skaffold v2 (install skaffold ${PINS.skaffold})`);
  if (helm && skaffold && helm[0] >= 4 && older(skaffold, parseVersion(MINIMUMS.skaffoldForHelm4)!))
    problems.push(
      `skaffold ${versions.skaffold} cannot drive helm ${versions.helm}: it runs \`helm version --client\`, which Helm 4 refuses; Helm 4 needs Skaffold ${MINIMUMS.skaffoldForHelm4} or newer (install skaffold ${PINS.skaffold})`,
    );
  return problems;
}

/** The first line a command prints, or undefined when it is missing or fails. */
function versionOf(command: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')[0];
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const command = process.argv[2];
  if (command === 'pins') {
    for (const [tool, version] of Object.entries(PINS)) console.log(`${tool} ${version}`);
  } else if (command === 'check') {
    const versions: ToolVersions = {
      kind: versionOf('kind', ['version']),
      helm: versionOf('helm', ['version', '--short']),
      skaffold: versionOf('skaffold', ['version']),
    };
    const problems = compatibilityProblems(versions);
    for (const problem of problems) console.error(`[k8s-tools] ${problem}`);
    if (problems.length > 0) process.exit(1);
    console.log(
      `[k8s-tools] kind ${versions.kind ?? '(not found)'}, helm ${versions.helm ?? '(not found)'}, skaffold ${versions.skaffold ?? '(not found)'}: they fit together`,
    );
  } else {
    console.error('usage: node scripts/k8s-tools.ts check|pins');
    process.exit(2);
  }
}
