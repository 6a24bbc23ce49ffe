/**
 * Decides, from rendered NetworkPolicies, whether one pod may open a TCP connection to another, the way the
 * Kubernetes NetworkPolicy semantics define it (policies add up; a pod selected by no policy of a direction is
 * open in that direction). Only what the charts use is supported: matchLabels, namespaceSelector, ipBlock,
 * numeric ports; anything else throws rather than guess.
 */
import type { KubeObject } from './helm.ts';

export interface PodModel {
  /** `<kind>/<name>` of the workload the pod belongs to. */
  readonly workload: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly namespace: string;
}

interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: unknown;
}
interface Peer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: unknown;
}
interface PortRule {
  readonly port?: number | string;
  readonly protocol?: string;
}
interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
  readonly ports?: readonly PortRule[];
}
interface PolicySpec {
  readonly podSelector: LabelSelector;
  readonly policyTypes?: readonly string[];
  readonly ingress?: readonly Rule[];
  readonly egress?: readonly Rule[];
}

function selects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  if (selector.matchExpressions !== undefined) throw new Error('matchExpressions are not modelled');
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

function peerMatches(peer: Peer, pod: PodModel, policyNamespace: string): boolean {
  if (peer.ipBlock !== undefined) return false; // A CIDR names addresses outside the cluster's pods.
  const namespaceLabels = { 'kubernetes.io/metadata.name': pod.namespace };
  if (peer.namespaceSelector === undefined && pod.namespace !== policyNamespace) return false;
  if (peer.namespaceSelector !== undefined && !selects(peer.namespaceSelector, namespaceLabels)) return false;
  return selects(peer.podSelector, pod.labels);
}

function portMatches(rule: Rule, port: number): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((entry) => {
    if (typeof entry.port === 'string') throw new Error(`named port ${entry.port} is not modelled`);
    return (entry.protocol ?? 'TCP') === 'TCP' && (entry.port === undefined || entry.port === port);
  });
}

/** The pods the rendered workloads would create (one model per workload). */
export function podsOf(objects: readonly KubeObject[], namespace: string): PodModel[] {
  const pods: PodModel[] = [];
  for (const object of objects) {
    let labels: Readonly<Record<string, string>> | undefined;
    if (['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) {
      labels = (object.spec as { template: { metadata: { labels: Record<string, string> } } }).template
        .metadata.labels;
    } else if (object.kind === 'Pod') {
      labels = object.metadata.labels;
    }
    if (labels) pods.push({ workload: `${object.kind}/${object.metadata.name}`, labels, namespace });
  }
  return pods;
}

export class NetworkPolicyModel {
  readonly #policies: readonly PolicySpec[];
  readonly #namespace: string;

  constructor(objects: readonly KubeObject[], namespace: string) {
    this.#policies = objects
      .filter((object) => object.kind === 'NetworkPolicy')
      .map((object) => object.spec as unknown as PolicySpec);
    this.#namespace = namespace;
  }

  /** Whether `from` may connect to `to` on TCP `port`. */
  allows(from: PodModel, to: PodModel, port: number): boolean {
    return (
      this.#direction(
        from,
        'Egress',
        (rule) =>
          (rule.to ?? []).length === 0 || rule.to!.some((peer) => peerMatches(peer, to, this.#namespace)),
        port,
      ) &&
      this.#direction(
        to,
        'Ingress',
        (rule) =>
          (rule.from ?? []).length === 0 ||
          rule.from!.some((peer) => peerMatches(peer, from, this.#namespace)),
        port,
      )
    );
  }

  #direction(
    pod: PodModel,
    type: 'Ingress' | 'Egress',
    peerOk: (rule: Rule) => boolean,
    port: number,
  ): boolean {
    const applying = this.#policies.filter(
      (policy) =>
        pod.namespace === this.#namespace &&
        selects(policy.podSelector, pod.labels) &&
        (policy.policyTypes ?? ['Ingress']).includes(type),
    );
    if (applying.length === 0) return true;
    return applying.some((policy) =>
      (type === 'Ingress' ? policy.ingress : policy.egress)?.some(
        (rule) => peerOk(rule) && portMatches(rule, port),
      ),
    );
  }
}
