import { ApiException, KubeConfig, type V1LabelSelector, type V1Pod } from '@kubernetes/client-node';
import { DEFAULT_NAMESPACE, UsageError, type GlobalOptions } from './cli-args.ts';

/** The labels the chart puts on everything it installs (Kubernetes' recommended labels). */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  partOf: 'app.kubernetes.io/part-of',
} as const;

export const PART_OF = 'mrp-platform';

/** The cluster, namespace and release a command works on. */
export interface KubeTarget {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly release: string;
}

/**
 * Reads the kubeconfig as kubectl does: KUBECONFIG (its files merged), else ~/.kube/config, else the
 * in-cluster service account. Throws when there is none of them, instead of client-node's fallback to an
 * unauthenticated http://localhost:8080 that fails later with a puzzling message.
 */
export function loadDefaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const clusters = kc.getClusters();
  if (
    clusters.length === 1 &&
    clusters[0]!.name === 'cluster' &&
    clusters[0]!.server === 'http://localhost:8080'
  )
    throw new Error(
      'none found (set KUBECONFIG, or create ~/.kube/config, e.g. with "kind export kubeconfig")',
    );
  return kc;
}

/**
 * The target of a command: the kubeconfig switched to `--context` when given (a context it does not
 * have is a usage error), the namespace from `--namespace`, else the context's, else `mrp`.
 */
export function resolveTarget(kc: KubeConfig, options: GlobalOptions): KubeTarget {
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((context) => context.name);
      throw new UsageError(
        `the kubeconfig has no context "${options.context}" (it has: ${known.join(', ') || 'none'})`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return {
    kc,
    namespace: options.namespace ?? (contextNamespace || DEFAULT_NAMESPACE),
    release: options.release,
  };
}

/** `k1=v1,k2=v2`, the equality-based selector of a set of labels. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** What every platform workload of the release carries: the release and the platform it is part of. */
export function platformSelector(release: string): string {
  return labelSelector({ [LABELS.instance]: release, [LABELS.partOf]: PART_OF });
}

/** Everything the release installed, including its hook Jobs and their pods. */
export function releaseSelector(release: string): string {
  return labelSelector({ [LABELS.instance]: release });
}

/** The Envoy gateway pods of the release (the chart's selector labels for the gateway). */
export function gatewaySelector(release: string): string {
  return labelSelector({ [LABELS.name]: 'gateway', [LABELS.instance]: release });
}

/**
 * A workload's `spec.selector` as the label selector string the API takes, or undefined when it has
 * none (then its pods cannot be found).
 */
export function selectorString(selector: V1LabelSelector | undefined): string | undefined {
  if (!selector) return undefined;
  const terms = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    switch (expression.operator) {
      case 'In':
        terms.push(`${expression.key} in (${values})`);
        break;
      case 'NotIn':
        terms.push(`${expression.key} notin (${values})`);
        break;
      case 'Exists':
        terms.push(expression.key);
        break;
      case 'DoesNotExist':
        terms.push(`!${expression.key}`);
        break;
    }
  }
  return terms.length > 0 ? terms.join(',') : undefined;
}

/** Running, Ready and not being deleted: a pod that may take traffic. */
export function isPodReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    !pod.metadata?.deletionTimestamp &&
    (pod.status.conditions ?? []).some(
      (condition) => condition.type === 'Ready' && condition.status === 'True',
    )
  );
}

/**
 * One readable sentence for a failed API call: the status the API answered and its Status message,
 * or why the API could not be reached.
 */
export function describeKubeError(error: unknown): string {
  if (error instanceof ApiException) {
    const message = statusMessage(error.body);
    return `the Kubernetes API answered ${error.code}${message ? `: ${message}` : ''}`;
  }
  if (error instanceof Error) {
    const cause = error.cause as
      { code?: unknown; message?: unknown; address?: unknown; port?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') {
      const where =
        typeof cause.address === 'string' && typeof cause.port === 'number'
          ? ` at ${cause.address}:${cause.port}`
          : '';
      return `cannot reach the Kubernetes API${where} (${cause.code})`;
    }
    if (cause && typeof cause.message === 'string') return `${error.message}: ${cause.message}`;
    return error.message;
  }
  // A websocket ErrorEvent (what client-node rejects with when an upgrade fails) has only a message.
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  )
    return (error as { message: string }).message;
  return String(error);
}

/** The `message` of a Status object, which client-node hands over parsed or as the raw body text. */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() || undefined;
    }
  }
  const message = (parsed as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * Worth trying again: the API could not be reached, was overloaded (429) or failed (5xx). A 401, 403
 * or 404 will answer the same next time.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ApiException) return error.code === 429 || error.code >= 500;
  return true;
}
