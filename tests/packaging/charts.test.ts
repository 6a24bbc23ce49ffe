import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { createKeyStore } from '@mrp/auth-service';
import {
  CHARTS,
  find,
  helm,
  helmTemplate,
  PLATFORM_SERVICES,
  render,
  renderValueSet,
  ROOT,
  UMBRELLA,
  VALUE_SETS,
  vendorChartDependencies,
  withObjectFiles,
  type KubeObject,
} from './support/helm.ts';
import { SERVICE_REGISTRY } from '@mrp/gateway';
import { NetworkPolicyModel, podsOf, type PodModel } from './support/network-policy.ts';

const exec = promisify(execFile);

/** The Kubernetes version the objects are validated against (what kind's current node image runs). */
const KUBERNETES_VERSION = '1.34.0';

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { limits?: { memory?: string } };
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string; port: string }; exec?: unknown };
  readinessProbe?: { httpGet?: { path: string; port: string }; exec?: unknown };
  startupProbe?: { periodSeconds?: number; failureThreshold?: number };
  ports?: { name: string; containerPort: number }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: { name: string; hostPath?: unknown }[];
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'Pod'];
const SERVICES = PLATFORM_SERVICES;

function podSpecOf(object: KubeObject): PodSpec {
  if (object.kind === 'Pod') return object.spec as unknown as PodSpec;
  return (object.spec as { template: { spec: PodSpec } }).template.spec;
}
const workloads = (objects: readonly KubeObject[]): KubeObject[] =>
  objects.filter((object) => WORKLOAD_KINDS.includes(object.kind));
const id = (object: KubeObject): string => `${object.kind}/${object.metadata.name}`;

describe('Helm charts (rendered offline, checked with real tools)', function () {
  this.timeout(180_000);
  const rendered = new Map<string, KubeObject[]>();

  before(async function () {
    await vendorChartDependencies();
    for (const set of VALUE_SETS) rendered.set(set.name, await renderValueSet(set.name));
  });
  const objectsOf = (set: string): KubeObject[] => rendered.get(set)!;

  describe('lint and Kubernetes schemas', function () {
    it('when every chart is linted with --strict, none fails', async function () {
      const charts = (await readdir(CHARTS, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(CHARTS, entry.name));
      expect(charts).to.have.length.greaterThan(12);
      const result = await helm(['lint', '--strict', ...charts]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
    });

    for (const set of VALUE_SETS) {
      it(`when rendered with the ${set.name} values, the umbrella lints strictly and every object is valid Kubernetes ${KUBERNETES_VERSION}`, async function () {
        const lint = await helm([
          'lint',
          '--strict',
          UMBRELLA,
          ...set.files.flatMap((file) => ['--values', join(ROOT, file)]),
        ]);
        expect(lint.code, lint.stdout + lint.stderr).to.equal(0);
        const objects = objectsOf(set.name);
        expect(objects.length).to.be.greaterThan(20);
        await withObjectFiles(objects, async (files) => {
          try {
            await exec('kubernetes-validate', ['--strict', '--quiet', '-k', KUBERNETES_VERSION, ...files], {
              maxBuffer: 16 * 1024 * 1024,
            });
          } catch (error) {
            const failed = error as { stdout?: string; stderr?: string };
            expect.fail(`kubernetes-validate refused objects:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
          }
        });
      });
    }

    it('when a deliberately broken object is validated, kubernetes-validate refuses it (the check can fail)', async function () {
      const broken = find(objectsOf('defaults'), 'Service', 'mrp-gateway');
      const spec = { ...(broken.spec as object), bogusField: true };
      await withObjectFiles([{ ...broken, spec }], async (files) => {
        const failure = await exec('kubernetes-validate', [
          '--strict',
          '--quiet',
          '-k',
          KUBERNETES_VERSION,
          ...files,
        ]).then(
          () => undefined,
          (error: unknown) => (error as { stdout?: string }).stdout ?? 'failed',
        );
        expect(failure).to.match(/bogusField/);
      });
    });
  });

  describe('pods are restricted', function () {
    for (const set of VALUE_SETS) {
      it(`when rendered with the ${set.name} values, every pod and container runs non-root, read-only, without privilege escalation or capabilities, under seccomp RuntimeDefault`, function () {
        for (const object of workloads(objectsOf(set.name))) {
          const pod = podSpecOf(object);
          expect(pod.securityContext?.runAsNonRoot, id(object)).to.equal(true);
          expect(pod.securityContext?.seccompProfile, id(object)).to.deep.equal({ type: 'RuntimeDefault' });
          expect(pod.hostNetwork ?? false, id(object)).to.be.false;
          expect(pod.hostPID ?? false, id(object)).to.be.false;
          expect(pod.hostIPC ?? false, id(object)).to.be.false;
          expect(pod.volumes?.filter((volume) => volume.hostPath) ?? [], id(object)).to.be.empty;
          for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
            const where = `${id(object)} ${container.name}`;
            expect(container.securityContext, where).to.deep.include({
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            });
            expect(container.securityContext?.privileged ?? false, where).to.be.false;
            expect((container.securityContext?.capabilities as { add?: unknown } | undefined)?.add, where).to
              .be.undefined;
          }
        }
      });
    }

    for (const set of VALUE_SETS) {
      it(`when rendered with the ${set.name} values, every pod runs with a uid, gid and fsGroup of 10000 or more, which no host user or image default has`, function () {
        for (const object of workloads(objectsOf(set.name))) {
          const pod = podSpecOf(object);
          for (const field of ['runAsUser', 'runAsGroup']) {
            expect(pod.securityContext?.[field], `${id(object)} ${field}`)
              .to.be.a('number')
              .and.at.least(10_000);
            for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
              const own = container.securityContext?.[field];
              if (own !== undefined)
                expect(own, `${id(object)} ${container.name} ${field}`).to.be.at.least(10_000);
            }
          }
          const fsGroup = pod.securityContext?.fsGroup;
          if (fsGroup !== undefined) expect(fsGroup, `${id(object)} fsGroup`).to.be.at.least(10_000);
        }
      });
    }

    it('when a pod does not call the Kubernetes API, it gets no service account token (only Prometheus, for discovery, does)', function () {
      for (const object of workloads(objectsOf('defaults'))) {
        const mounted = podSpecOf(object).automountServiceAccountToken !== false;
        expect(mounted, id(object)).to.equal(object.metadata.name === 'mrp-prometheus');
      }
    });
  });

  describe('where objects land and which images run', function () {
    /** Kinds that live in no namespace; every other object the charts render is namespaced. */
    const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'PersistentVolume']);

    it('when rendered with --namespace, every namespaced object names that namespace, so helm template | kubectl apply lands where helm install -n would', async function () {
      const objects = await render({ namespace: 'team-a' });
      expect(objects.length).to.be.above(50);
      for (const object of objects) {
        const { namespace } = object.metadata as { namespace?: string };
        if (CLUSTER_SCOPED.has(object.kind)) expect(namespace, id(object)).to.equal(undefined);
        else expect(namespace, id(object)).to.equal('team-a');
      }
    });

    it('when every image.digest is set, every container (the helm test pod included) runs its image by that digest', async function () {
      const chart = parse(readFileSync(join(UMBRELLA, 'Chart.yaml'), 'utf8')) as {
        dependencies: { name: string }[];
      };
      const components = chart.dependencies
        .map((dependency) => dependency.name)
        .filter((name) => name !== 'mrp-lib');
      const digest = `sha256:${'ab'.repeat(32)}`;
      const objects = await render({
        set: [...components.map((name) => `${name}.image.digest=${digest}`), `tests.image.digest=${digest}`],
      });
      const images = workloads(objects).flatMap((object) => {
        const pod = podSpecOf(object);
        return [...pod.containers, ...(pod.initContainers ?? [])].map((container) => ({
          where: `${id(object)} ${container.name}`,
          image: container.image,
        }));
      });
      expect(images.length).to.be.at.least(components.length);
      for (const { where, image } of images)
        expect(image, where).to.match(new RegExp(`^[^:@]+(/[^:@]+)*@${digest}$`));
    });
  });

  describe('TLS to the database', function () {
    const DATA_SERVICES = ['user-service', 'case-service', 'audit-telemetry-service'];

    it('when database.tls.caSecretName is set, the service and its migration Job mount that CA where a verify-full DATABASE_URL reads it', async function () {
      const objects = await render({
        set: DATA_SERVICES.map((service) => `${service}.database.tls.caSecretName=postgres-ca-${service}`),
      });
      for (const service of DATA_SERVICES) {
        for (const object of [
          find(objects, 'Deployment', `mrp-${service}`),
          find(objects, 'Job', `mrp-${service}-migrate`),
        ]) {
          const pod = podSpecOf(object) as PodSpec & {
            volumes: { name: string; secret?: unknown }[];
            containers: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[];
          };
          expect(pod.containers[0]!.volumeMounts, id(object)).to.deep.include({
            name: 'postgres-ca',
            mountPath: '/etc/mrp/postgres-ca',
            readOnly: true,
          });
          expect(pod.volumes, id(object)).to.deep.include({
            name: 'postgres-ca',
            secret: { secretName: `postgres-ca-${service}`, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
          });
        }
      }
    });

    it('when it is not set (the default), nothing is mounted', function () {
      for (const object of workloads(objectsOf('defaults'))) {
        const volumes = (podSpecOf(object).volumes ?? []).map((volume) => volume.name);
        expect(volumes, id(object)).to.not.include('postgres-ca');
      }
    });
  });

  describe('probes', function () {
    it('when a service runs, Kubernetes checks its liveness on /healthz and its readiness on /readyz', function () {
      const objects = objectsOf('defaults');
      for (const service of SERVICES) {
        const container = podSpecOf(find(objects, 'Deployment', `mrp-${service}`)).containers[0]!;
        expect(container.livenessProbe?.httpGet, service).to.deep.equal({ path: '/healthz', port: 'http' });
        expect(container.readinessProbe?.httpGet, service).to.deep.equal({ path: '/readyz', port: 'http' });
        expect(container.ports).to.deep.include({ name: 'http', containerPort: 8080, protocol: 'TCP' });
      }
      const envoy = podSpecOf(find(objects, 'Deployment', 'mrp-gateway')).containers[0]!;
      expect(envoy.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'http', scheme: 'HTTP' });
      expect(envoy.readinessProbe?.httpGet).to.deep.equal({ path: '/ready', port: 'ops' });
    });

    it('when any long-running workload runs, it has both a liveness and a readiness probe', function () {
      for (const object of objectsOf('defaults').filter((o) =>
        ['Deployment', 'StatefulSet'].includes(o.kind),
      )) {
        for (const container of podSpecOf(object).containers) {
          expect(container.livenessProbe, id(object)).to.exist;
          expect(container.readinessProbe, id(object)).to.exist;
        }
      }
    });

    it('when everything starts at once on a small node, every long-running workload gets at least 2 minutes to start before liveness can restart it', function () {
      for (const object of objectsOf('defaults').filter((o) =>
        ['Deployment', 'StatefulSet'].includes(o.kind),
      )) {
        for (const container of podSpecOf(object).containers) {
          const startup = container.startupProbe;
          expect(startup, `${id(object)} has a startup probe`).to.exist;
          // Kubernetes' defaults: every 10 s, 3 failures.
          const budget = (startup!.periodSeconds ?? 10) * (startup!.failureThreshold ?? 3);
          expect(budget, `${id(object)}: startup budget in seconds`).to.be.at.least(120);
        }
      }
    });
  });

  describe('selectors', function () {
    const selectorOf = (object: KubeObject): unknown =>
      (object.spec as { selector: { matchLabels?: unknown } | Record<string, string> }).selector;

    it('when a workload or Service selects pods, it does so by name and instance only, never by version or chart', function () {
      for (const object of objectsOf('defaults')) {
        if (['Deployment', 'StatefulSet'].includes(object.kind)) {
          const selector = (selectorOf(object) as { matchLabels: Record<string, string> }).matchLabels;
          expect(Object.keys(selector).sort(), id(object)).to.deep.equal([
            'app.kubernetes.io/instance',
            'app.kubernetes.io/name',
          ]);
        }
        if (object.kind === 'Service') {
          expect(Object.keys(selectorOf(object) as object).sort(), id(object)).to.deep.equal([
            'app.kubernetes.io/instance',
            'app.kubernetes.io/name',
          ]);
        }
      }
    });

    it('when the chart version, images or replicas change, no selector changes (they are immutable)', async function () {
      const before = objectsOf('defaults');
      const after = await render({
        set: [
          'gateway.image.tag=distroless-v1.41.0',
          'case-service.image.tag=9.9.9',
          'case-service.replicaCount=3',
          'global.profile=development',
        ],
      });
      for (const object of before.filter((o) => ['Deployment', 'StatefulSet', 'Service'].includes(o.kind))) {
        expect(selectorOf(find(after, object.kind, object.metadata.name)), id(object)).to.deep.equal(
          selectorOf(object),
        );
      }
    });

    it('when a Service selects pods, it finds exactly one workload, and never a migration Job or the test pod', function () {
      const objects = objectsOf('defaults');
      const pods = podsOf(objects, 'mrp');
      for (const service of objects.filter((object) => object.kind === 'Service')) {
        const selector = selectorOf(service) as Record<string, string>;
        const matched = pods.filter((pod) =>
          Object.entries(selector).every(([key, value]) => pod.labels[key] === value),
        );
        expect(
          matched.map((pod) => pod.workload),
          id(service),
        ).to.have.length(1);
        expect(matched[0]!.workload, id(service)).to.match(/^(Deployment|StatefulSet)\//);
      }
    });

    it('when a workload has a PodDisruptionBudget, the budget selects exactly its pods', function () {
      const objects = objectsOf('defaults');
      const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget');
      const longRunning = objects.filter((object) => ['Deployment', 'StatefulSet'].includes(object.kind));
      expect(budgets.map((b) => b.metadata.name).sort()).to.deep.equal(
        longRunning.map((w) => w.metadata.name).sort(),
      );
      for (const budget of budgets) {
        const workload = longRunning.find((w) => w.metadata.name === budget.metadata.name)!;
        expect(selectorOf(budget), id(budget)).to.deep.equal(selectorOf(workload));
      }
    });

    it('when HPAs are on, each scales an existing Deployment whose replica count it then owns', function () {
      const objects = objectsOf('HPAs on');
      const hpas = objects.filter((object) => object.kind === 'HorizontalPodAutoscaler');
      expect(hpas.map((hpa) => hpa.metadata.name).sort()).to.deep.equal(
        ['mrp-gateway', ...SERVICES.map((s) => `mrp-${s}`)].sort(),
      );
      for (const hpa of hpas) {
        const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        const deployment = find(objects, target.kind, target.name);
        expect((deployment.spec as { replicas?: number }).replicas, id(deployment)).to.be.undefined;
      }
      expect(objectsOf('defaults').filter((object) => object.kind === 'HorizontalPodAutoscaler')).to.be.empty;
    });
  });

  describe('NetworkPolicies: default deny, and only the paths the platform uses', function () {
    const componentPod = (pods: readonly PodModel[], name: string): PodModel => {
      const pod = pods.find((candidate) => candidate.labels['app.kubernetes.io/name'] === name);
      if (!pod) throw new Error(`no pod of ${name}`);
      return pod;
    };
    const NEEDED: readonly (readonly [from: string, to: string, port: number])[] = [
      ...SERVICES.map((service) => ['gateway', service, 8080] as const),
      ['gateway', 'otel-collector', 4318],
      ['auth-service', 'user-service', 8080],
      ...['user-service', 'case-service', 'scoring-service', 'audit-telemetry-service'].map(
        (service) => [service, 'auth-service', 8080] as const,
      ),
      ['case-service', 'scoring-service', 8080],
      ...['user-service', 'case-service', 'audit-telemetry-service'].flatMap((service) => [
        [service, 'postgres', 5432] as const,
        [`${service}-migrations`, 'postgres', 5432] as const,
      ]),
      // Events, and the token revocations user-service publishes and every service reads (ADR 0021).
      ...['user-service', 'case-service', 'scoring-service', 'audit-telemetry-service'].map(
        (service) => [service, 'redis', 6379] as const,
      ),
      ...SERVICES.map((service) => [service, 'otel-collector', 4318] as const),
      ['otel-collector', 'jaeger', 4317],
      ...SERVICES.map((service) => ['prometheus', service, 8080] as const),
      ['prometheus', 'gateway', 9902],
      ['grafana', 'prometheus', 9090],
      ['seed-flow-test', 'gateway', 8080],
    ];
    const REFUSED: readonly (readonly [from: string, to: string, port: number])[] = [
      // Only auth-service (and the gateway, which routes no /internal path) reaches user-service.
      ['case-service', 'user-service', 8080],
      ['scoring-service', 'user-service', 8080],
      ['audit-telemetry-service', 'user-service', 8080],
      ['gateway', 'postgres', 5432],
      ['scoring-service', 'postgres', 5432],
      ['auth-service', 'postgres', 5432],
      ['auth-service', 'redis', 6379],
      ['user-service-migrations', 'redis', 6379],
      ['gateway', 'redis', 6379],
      ['seed-flow-test', 'case-service', 8080],
      ['grafana', 'case-service', 8080],
      ['prometheus', 'postgres', 5432],
      ['case-service', 'gateway', 9902],
      ['gateway', 'auth-service', 5432],
    ];

    it('when the platform runs, every path it needs is allowed', function () {
      const objects = objectsOf('defaults');
      const model = new NetworkPolicyModel(objects, 'mrp');
      const pods = podsOf(objects, 'mrp');
      for (const [from, to, port] of NEEDED) {
        expect(
          model.allows(componentPod(pods, from), componentPod(pods, to), port),
          `${from} -> ${to}:${port}`,
        ).to.be.true;
      }
    });

    it('when a pod tries a path the platform does not use, it is refused (only auth-service reaches user-service’s internal endpoint)', function () {
      const objects = objectsOf('defaults');
      const model = new NetworkPolicyModel(objects, 'mrp');
      const pods = podsOf(objects, 'mrp');
      for (const [from, to, port] of REFUSED) {
        expect(
          model.allows(componentPod(pods, from), componentPod(pods, to), port),
          `${from} -> ${to}:${port}`,
        ).to.be.false;
      }
    });

    it('when a pod of the release is selected by no allow policy of its own, the default deny still covers it', function () {
      const objects = objectsOf('defaults');
      const deny = find(objects, 'NetworkPolicy', 'mrp-default-deny').spec as {
        podSelector: unknown;
        policyTypes: string[];
        ingress?: unknown;
        egress?: unknown;
      };
      expect(deny.podSelector).to.deep.equal({ matchLabels: { 'app.kubernetes.io/instance': 'mrp' } });
      expect(deny.policyTypes).to.deep.equal(['Ingress', 'Egress']);
      expect(deny.ingress ?? []).to.be.empty;
      expect(deny.egress ?? []).to.be.empty;
      const model = new NetworkPolicyModel(objects, 'mrp');
      const stranger: PodModel = {
        workload: 'Pod/stranger',
        labels: { 'app.kubernetes.io/instance': 'mrp', 'app.kubernetes.io/name': 'stranger' },
        namespace: 'mrp',
      };
      const pods = podsOf(objects, 'mrp');
      expect(model.allows(stranger, componentPod(pods, 'case-service'), 8080)).to.be.false;
      expect(model.allows(componentPod(pods, 'case-service'), stranger, 8080)).to.be.false;
    });

    it('when Postgres and Redis are your own, the data services may reach exactly the servers you named', function () {
      const objects = objectsOf('external databases');
      const policy = find(objects, 'NetworkPolicy', 'mrp-case-service').spec as {
        egress: { to?: unknown[]; ports: { port: number }[] }[];
      };
      const byPort = (port: number) =>
        policy.egress
          .filter((rule) => rule.ports.some((entry) => entry.port === port))
          .flatMap((rule) => rule.to);
      expect(byPort(5432)).to.deep.equal([{ ipBlock: { cidr: '10.20.0.0/24' } }]);
      expect(byPort(6379)).to.deep.equal([{ ipBlock: { cidr: '10.20.1.10/32' } }]);
      expect(
        objects.some(
          (object) => object.metadata.name === 'mrp-postgres' || object.metadata.name === 'mrp-redis',
        ),
      ).to.be.false;
    });
  });

  describe('config checksums roll the pods', function () {
    const checksum = (objects: readonly KubeObject[], kind: string, name: string): string =>
      (find(objects, kind, name).spec as { template: { metadata: { annotations: Record<string, string> } } })
        .template.metadata.annotations['checksum/config']!;

    it('when the gateway’s rendered config changes, its pods’ checksum changes, and not otherwise', async function () {
      const base = objectsOf('defaults');
      const otherIssuer = await render({ set: ['global.jwt.issuer=https://auth.example.com'] });
      const otherReplicas = await render({ set: ['gateway.replicaCount=3'] });
      expect(checksum(base, 'Deployment', 'mrp-gateway')).to.match(/^[0-9a-f]{64}$/);
      expect(checksum(otherIssuer, 'Deployment', 'mrp-gateway')).not.to.equal(
        checksum(base, 'Deployment', 'mrp-gateway'),
      );
      expect(checksum(otherReplicas, 'Deployment', 'mrp-gateway')).to.equal(
        checksum(base, 'Deployment', 'mrp-gateway'),
      );
    });

    it('when a component has a ConfigMap, its pods carry a checksum of it', function () {
      const objects = objectsOf('defaults');
      for (const name of ['mrp-gateway', 'mrp-otel-collector', 'mrp-prometheus', 'mrp-grafana']) {
        expect(checksum(objects, 'Deployment', name), name).to.match(/^[0-9a-f]{64}$/);
      }
      const postgres = find(objects, 'StatefulSet', 'mrp-postgres').spec as {
        template: { metadata: { annotations: Record<string, string> } };
      };
      expect(postgres.template.metadata.annotations['checksum/init']).to.match(/^[0-9a-f]{64}$/);
    });
  });

  describe('Grafana', function () {
    it('lets anonymous visitors view the dashboards on kind only, never with the default (production) values', function () {
      const anonymous = (set: string) =>
        podSpecOf(find(objectsOf(set), 'Deployment', 'mrp-grafana')).containers[0]!.env!.find(
          (variable) => variable.name === 'GF_AUTH_ANONYMOUS_ENABLED',
        )?.value;
      expect(anonymous('defaults')).to.equal('false');
      expect(anonymous('kind (values-dev.yaml)')).to.equal('true');
    });

    it("opens an exemplar's trace in the in-chart Jaeger, which Prometheus keeps exemplars for", function () {
      const objects = objectsOf('defaults');
      const env = podSpecOf(find(objects, 'Deployment', 'mrp-grafana')).containers[0]!.env!;
      expect(env.find((variable) => variable.name === 'JAEGER_URL')?.value).to.equal(
        'http://mrp-jaeger:16686',
      );
      const jaegerPorts = (find(objects, 'Service', 'mrp-jaeger').spec as { ports: { port: number }[] })
        .ports;
      expect(
        jaegerPorts.map((port) => port.port),
        'the Jaeger Service serves its UI and API',
      ).to.include(16686);
      const prometheus = podSpecOf(find(objects, 'Deployment', 'mrp-prometheus'))
        .containers[0] as Container & {
        args: string[];
      };
      expect(prometheus.args).to.include('--enable-feature=exemplar-storage');
    });
  });

  describe('secrets', function () {
    const SECRETISH = /(PASSWORD|SECRET|TOKEN|_KEY)$|^(DATABASE_URL|REDIS_URL)$/;

    for (const set of VALUE_SETS) {
      it(`when rendered with the ${set.name} values, no secret is written into a pod spec or a ConfigMap`, function () {
        const objects = objectsOf(set.name);
        const secretValues = objects
          .filter((object) => object.kind === 'Secret')
          .flatMap((secret) =>
            Object.values(secret.data ?? {}).map((value) => Buffer.from(value, 'base64').toString('utf8')),
          )
          .filter((value) => value.length >= 12);
        for (const object of objects.filter((o) => o.kind !== 'Secret')) {
          const text = JSON.stringify(object);
          for (const value of secretValues)
            expect(text.includes(value), `${id(object)} holds a secret value`).to.be.false;
          expect(text, id(object)).not.to.match(/BEGIN (EC |RSA )?PRIVATE KEY/);
        }
        for (const object of workloads(objects)) {
          for (const container of podSpecOf(object).containers) {
            for (const variable of container.env ?? []) {
              if (!SECRETISH.test(variable.name) || variable.value === undefined) continue;
              // Values built from secret references ($(VAR)), URLs without a password, and the dev admin's
              // public password in the development profile's helm test are the only literals allowed.
              const fromReference = /\$\([A-Z_]+\)/.test(variable.value);
              const urlWithoutPassword =
                /_URL$/.test(variable.name) && new URL(variable.value).password === '';
              const devPassword = object.kind === 'Pod' && variable.value === 'admin123';
              expect(
                fromReference || urlWithoutPassword || devPassword,
                `${id(object)} ${variable.name}=${variable.value}`,
              ).to.be.true;
            }
          }
        }
      });
    }

    it("when Helm generates the signing key, it is the key directory's current.pem, and auth-service accepts it and publishes its kid", async function () {
      const secret = find(objectsOf('defaults'), 'Secret', 'mrp-auth-service-signing-key');
      expect(Object.keys(secret.data!)).to.deep.equal(['current.pem']);
      const pem = Buffer.from(secret.data!['current.pem']!, 'base64').toString('utf8');
      const store = await createKeyStore(pem);
      expect(store.jwks.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
      expect(store.signing.kid).to.have.length(43);
    });

    it('when the signing key rotates, auth-service reads the whole Secret (generated or its own) as its key directory, so a patched Secret needs no rollout', function () {
      for (const [set, secretName] of [
        ['defaults', 'mrp-auth-service-signing-key'],
        ['external databases', 'platform-signing-keys'],
      ] as const) {
        const objects = objectsOf(set);
        const pod = podSpecOf(find(objects, 'Deployment', 'mrp-auth-service')) as unknown as {
          volumes: { name: string; secret?: { secretName: string; items?: unknown } }[];
          containers: (Container & {
            volumeMounts: { name: string; mountPath: string; subPath?: string }[];
          })[];
        };
        const env = new Map(pod.containers[0]!.env!.map((variable) => [variable.name, variable.value]));
        const keysDir = env.get('AUTH_KEYS_DIR');
        expect(keysDir, set).to.be.a('string');
        expect(env.has('AUTH_SIGNING_KEY_FILE'), set).to.equal(false);
        expect(Number(env.get('AUTH_KEYS_RELOAD_MS')), set).to.be.within(1000, 60_000);
        const mount = pod.containers[0]!.volumeMounts.find((each) => each.mountPath === keysDir);
        expect(mount, set).to.not.equal(undefined);
        // A subPath or a list of items would freeze the files the kubelet projects at the pod's start.
        expect(mount!.subPath, set).to.equal(undefined);
        const volume = pod.volumes.find((each) => each.name === mount!.name)!;
        expect(volume.secret?.items, set).to.equal(undefined);
        expect(volume.secret?.secretName, set).to.equal(secretName);
      }
    });

    it('when a generated Secret holds state that must outlive the release, Helm keeps it on uninstall', function () {
      const objects = objectsOf('defaults');
      for (const name of [
        'mrp-auth-service-signing-key',
        'mrp-auth-service-clients',
        'mrp-case-service-database',
        'mrp-postgres',
        'mrp-redis',
        'mrp-user-service-bootstrap-admin',
      ]) {
        expect(
          find(objects, 'Secret', name).metadata.annotations?.['helm.sh/resource-policy'],
          name,
        ).to.equal('keep');
      }
    });

    it('when a data service connects, its DATABASE_URL comes from its Secret, which points at its own database and role', function () {
      const objects = objectsOf('defaults');
      for (const [service, database] of [
        ['user-service', 'mrp_user'],
        ['case-service', 'mrp_case'],
        ['audit-telemetry-service', 'mrp_audit'],
      ] as const) {
        const env = podSpecOf(find(objects, 'Deployment', `mrp-${service}`)).containers[0]!.env!;
        expect(env.find((variable) => variable.name === 'DATABASE_URL')?.valueFrom).to.deep.equal({
          secretKeyRef: { name: `mrp-${service}-database`, key: 'DATABASE_URL' },
        });
        const secret = find(objects, 'Secret', `mrp-${service}-database`);
        const url = new URL(Buffer.from(secret.data!.DATABASE_URL!, 'base64').toString('utf8'));
        expect([url.username, url.hostname, url.port, url.pathname]).to.deep.equal([
          database,
          'mrp-postgres',
          '5432',
          `/${database}`,
        ]);
        expect(decodeURIComponent(url.password)).to.equal(
          Buffer.from(secret.data!.password!, 'base64').toString('utf8'),
        );
      }
    });
  });

  describe('migrations', function () {
    it('when installed or upgraded, each data service’s migration Job runs as a hook, and its pods are no Service’s endpoints', function () {
      const objects = objectsOf('defaults');
      const jobs = objects.filter((object) => object.kind === 'Job');
      // One per service of services/registry.json with a database.
      expect(jobs.map((job) => job.metadata.name).sort()).to.deep.equal(
        SERVICE_REGISTRY.filter((service) => service.database !== null)
          .map((service) => `mrp-${service.name}-migrate`)
          .sort(),
      );
      expect(jobs).to.have.length.above(2);
      for (const job of jobs) {
        expect(job.metadata.annotations?.['helm.sh/hook']).to.equal('post-install,pre-upgrade');
        const container = podSpecOf(job).containers[0]!;
        expect(container).to.deep.include({
          command: ['node', '--conditions=mrp-compiled', 'dist/src/migrate.js'],
        });
        expect(
          container.env?.find((variable) => variable.name === 'DATABASE_URL')?.valueFrom,
        ).to.have.property('secretKeyRef');
      }
    });

    it('when the profile is production, user-service’s Job creates the bootstrap admin and seeds no dev users; in development it seeds them', function () {
      const envOf = (objects: KubeObject[]) =>
        podSpecOf(find(objects, 'Job', 'mrp-user-service-migrate')).containers[0]!.env!.map(
          (variable) => variable.name,
        );
      expect(envOf(objectsOf('defaults')))
        .to.include.members(['BOOTSTRAP_ADMIN_EMAIL', 'BOOTSTRAP_ADMIN_PASSWORD'])
        .and.not.include('SEED_DEV_USERS');
      expect(envOf(objectsOf('kind (values-dev.yaml)'))).to.include('SEED_DEV_USERS');
      const deployment = podSpecOf(
        find(objectsOf('kind (values-dev.yaml)'), 'Deployment', 'mrp-user-service'),
      ).containers[0]!.env!;
      expect(deployment.find((variable) => variable.name === 'SEED_DEV_USERS')?.value).to.equal('false');
    });
  });

  describe('the V8 heap follows the memory limit', function () {
    const MIB = 1024 * 1024;
    const UNITS: Readonly<Record<string, number>> = {
      '': 1,
      Ki: 1024,
      Mi: MIB,
      Gi: 1024 * MIB,
      Ti: 1024 * 1024 * MIB,
      k: 1e3,
      M: 1e6,
      G: 1e9,
      T: 1e12,
    };
    /** A Kubernetes memory quantity in bytes (the forms the charts accept). */
    const bytesOf = (quantity: string): number => {
      const match = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(quantity);
      const unit = UNITS[match?.[2] ?? 'none'];
      if (!match || unit === undefined) throw new Error(`unexpected memory quantity ${quantity}`);
      return Number(match[1]) * unit;
    };
    const heapPercentOf = async (service: string): Promise<number> =>
      (parse(await readFile(join(CHARTS, service, 'values.yaml'), 'utf8')) as { heapPercentOfLimit: number })
        .heapPercentOfLimit;
    /** Each service's Deployment and, for a data service, its migration Job: the Node containers of ours. */
    const nodeContainers = (
      objects: readonly KubeObject[],
    ): { service: string; where: string; container: Container }[] =>
      SERVICES.flatMap((service) =>
        objects
          .filter(
            (object) =>
              (object.kind === 'Deployment' && object.metadata.name === `mrp-${service}`) ||
              (object.kind === 'Job' && object.metadata.name === `mrp-${service}-migrate`),
          )
          .map((object) => ({ service, where: id(object), container: podSpecOf(object).containers[0]! })),
      );
    const nodeOptions = (container: Container): string[] =>
      (container.env ?? []).filter((variable) => variable.name === 'NODE_OPTIONS').map((v) => v.value ?? '');
    const heapMiBFor = (limit: string, percent: number): number =>
      Math.floor((bytesOf(limit) * percent) / 100 / MIB);

    for (const set of VALUE_SETS) {
      it(`when rendered with the ${set.name} values, every service and migration container caps V8's old space at heapPercentOfLimit of its own memory limit, below that limit`, async function () {
        const containers = nodeContainers(objectsOf(set.name));
        expect(containers.length).to.be.greaterThanOrEqual(SERVICES.length);
        for (const { service, where, container } of containers) {
          const limit = container.resources?.limits?.memory;
          if (limit === undefined) expect.fail(`${where} has no memory limit`);
          const percent = await heapPercentOf(service);
          const options = nodeOptions(container);
          expect(options, `${where}: one NODE_OPTIONS`).to.have.length(1);
          const flags = [...options[0]!.matchAll(/--max-old-space-size=(\d+)/g)].map((match) =>
            Number(match[1]),
          );
          expect(flags, `${where}: ${options[0]!}`).to.have.length(1);
          expect(flags[0], `${where}: ${percent}% of ${limit}`).to.equal(heapMiBFor(limit, percent));
          expect(flags[0]! * MIB, `${where}: headroom under ${limit}`).to.be.lessThan(bytesOf(limit));
        }
      });
    }

    it('make bench starts each service with the limit and heap cap its Deployment renders with the default values', async function () {
      // scripts/ cannot be imported from tests/ at compile time (TS2878), so it is loaded at run time.
      const bench = (await import(new URL('../../scripts/bench/chart-memory.ts', import.meta.url).href)) as {
        chartMemory: (service: string) => { limitMiB: number; heapMiB: number } | undefined;
      };
      for (const { service, where, container } of nodeContainers(objectsOf('defaults'))) {
        if (!where.startsWith('Deployment')) continue;
        const rendered = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions(container)[0] ?? '')?.[1]);
        const limit = bytesOf(container.resources?.limits?.memory ?? '0') / MIB;
        expect(bench.chartMemory(service), where).to.deep.equal({ limitMiB: limit, heapMiB: rendered });
      }
    });

    it('when a user sets NODE_OPTIONS or a limit in other units, the cap follows the limit and their flags come after it (a heap flag of theirs wins)', async function () {
      const objects = await render({
        set: [
          'case-service.env.NODE_OPTIONS=--enable-source-maps',
          'case-service.resources.limits.memory=1Gi',
          'case-service.migrations.resources.limits.memory=512M',
          'user-service.resources.limits.memory=0.5Gi',
          'user-service.heapPercentOfLimit=50',
        ],
      });
      const containerOf = (kind: string, name: string) => podSpecOf(find(objects, kind, name)).containers[0]!;
      const percent = await heapPercentOf('case-service');
      expect(nodeOptions(containerOf('Deployment', 'mrp-case-service'))).to.deep.equal([
        `--max-old-space-size=${heapMiBFor('1Gi', percent)} --enable-source-maps`,
      ]);
      expect(nodeOptions(containerOf('Job', 'mrp-case-service-migrate'))).to.deep.equal([
        `--max-old-space-size=${heapMiBFor('512M', percent)} --enable-source-maps`,
      ]);
      expect(nodeOptions(containerOf('Deployment', 'mrp-user-service'))).to.deep.equal([
        `--max-old-space-size=${heapMiBFor('0.5Gi', 50)}`,
      ]);
      // env's NODE_OPTIONS is merged, not repeated as a variable of its own.
      expect(
        containerOf('Deployment', 'mrp-case-service').env!.filter((v) => v.name === 'NODE_OPTIONS'),
      ).to.have.length(1);
    });

    it('when a memory limit is in a form the chart cannot read, or leaves too small a heap, the install is refused naming the key', async function () {
      for (const [pair, message] of [
        ['case-service.resources.limits.memory=256mi', 'resources.limits.memory "256mi"'],
        ['user-service.migrations.resources.limits.memory=1e9', 'migrations.resources.limits.memory "1e9"'],
        ['auth-service.resources.limits.memory=20Mi', 'too small'],
      ] as const) {
        const result = await helmTemplate({ set: [pair] });
        expect(result.code, pair).to.not.equal(0);
        expect(result.stderr, pair).to.include(message);
      }
    });
  });

  describe('values.schema.json rejects typos and bad values', function () {
    const REJECTED: readonly (readonly [set: string, mentions: RegExp])[] = [
      ['case-service.replicaCont=2', /replicaCont/],
      ['global.profil=development', /profil/],
      ['global.profile=staging', /profile/],
      ['gateway.image.tga=v1', /tga/],
      ['postgres.persistance.enabled=false', /persistance/],
      ['user-service.database.name=Users-DB', /name/],
      ['redis.appendfsync=sometimes', /appendfsync/],
      ['tests.imag.tag=x', /imag/],
      ['case-service.logLevel=loud', /logLevel/],
      ['case-service.heapPercentOfLimit=95', /heapPercentOfLimit/],
    ];
    for (const [pair, mentions] of REJECTED) {
      it(`when installed with --set ${pair}, Helm refuses it and names the key`, async function () {
        const result = await helmTemplate({ set: [pair] });
        expect(result.code).to.not.equal(0);
        expect(result.stderr).to.match(mentions);
      });
    }

    it('when Postgres is switched off without the data services’ Secrets, the install is refused with what to set', async function () {
      const result = await helmTemplate({ set: ['global.postgres.enabled=false'] });
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.include('set user-service.database.existingSecret');
    });

    it('when Redis is switched off without a URL, the install is refused with what to set', async function () {
      const result = await helmTemplate({ set: ['global.redis.enabled=false'] });
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.include('set global.redis.url or global.redis.existingSecret');
    });
  });

  describe('the load generator (files/traffic.sh, make traffic)', function () {
    it('when kind is installed with values-dev.yaml, it runs the committed script against the gateway, and may reach only the gateway', function () {
      const objects = objectsOf('kind (values-dev.yaml)');
      const script = find(objects, 'ConfigMap', 'mrp-load-generator').data!['traffic.sh'];
      expect(script).to.equal(readFileSync(join(CHARTS, 'platform', 'files', 'traffic.sh'), 'utf8'));
      const container = podSpecOf(find(objects, 'Deployment', 'mrp-load-generator')).containers[0]!;
      expect(container.env?.find((variable) => variable.name === 'GATEWAY_URL')?.value).to.equal(
        'http://mrp-gateway:8080',
      );
      const model = new NetworkPolicyModel(objects, 'mrp');
      const pods = podsOf(objects, 'mrp');
      const pod = (name: string) => pods.find((each) => each.labels['app.kubernetes.io/name'] === name)!;
      expect(model.allows(pod('load-generator'), pod('gateway'), 8080), 'to the gateway').to.be.true;
      for (const [to, port] of [
        ['case-service', 8080],
        ['postgres', 5432],
        ['redis', 6379],
      ] as const)
        expect(model.allows(pod('load-generator'), pod(to), port), `to ${to}`).to.be.false;
    });

    it('when installed with the defaults (production), there is none', function () {
      expect(objectsOf('defaults').filter((object) => object.metadata.name === 'mrp-load-generator')).to.be
        .empty;
    });

    it('when turned on in production, where the seed users it acts as do not exist, the install is refused', async function () {
      const result = await helmTemplate({ set: ['loadGenerator.enabled=true'] });
      expect(result.code).to.not.equal(0);
      expect(result.stderr).to.include('loadGenerator.enabled needs global.profile=development');
    });
  });

  describe('every values key is documented', function () {
    it('when a user reads a chart’s values.yaml, every top-level key and its direct children carry a comment', async function () {
      const EXEMPT_PARENTS = new Set([
        'resources',
        'podSecurityContext',
        'securityContext',
        'requests',
        'limits',
        'settings',
      ]);
      for (const entry of await readdir(CHARTS, { withFileTypes: true })) {
        const file = join(CHARTS, entry.name, 'values.yaml');
        const lines = await readFile(file, 'utf8').then(
          (text) => text.split('\n'),
          () => undefined,
        );
        if (!lines) continue;
        const parents: string[] = [];
        for (const [index, line] of lines.entries()) {
          const match = /^( *)([A-Za-z][\w-]*):/.exec(line);
          if (!match) continue;
          const depth = match[1]!.length / 2;
          parents.length = depth;
          const parent = parents[depth - 1];
          parents[depth] = match[2]!;
          if (depth > 1 || (parent !== undefined && EXEMPT_PARENTS.has(parent))) continue;
          if (parents[0] === 'global' && entry.name !== 'platform') continue;
          const previous = lines
            .slice(0, index)
            .reverse()
            .find((candidate) => candidate.trim() !== '');
          expect(
            previous?.trim().startsWith('#'),
            `${entry.name}/values.yaml:${index + 1} ${line.trim()} has no comment`,
          ).to.be.true;
        }
      }
    });
  });

  describe('NOTES and helm test', function () {
    const notes = async (profile: string): Promise<string> => {
      const result = await helm([
        'install',
        'mrp',
        UMBRELLA,
        '--namespace',
        'mrp',
        '--dry-run=client',
        '--set',
        `global.profile=${profile}`,
      ]);
      expect(result.code, result.stderr).to.equal(0);
      return result.stdout.slice(result.stdout.indexOf('NOTES:'));
    };

    it('when installed, NOTES tell the user the port-forward and the curl to type next, with the dev admin in development', async function () {
      const text = await notes('development');
      expect(text).to.include('kubectl -n mrp port-forward svc/mrp-gateway 8080:8080');
      expect(text).to.include(
        'curl -X POST http://localhost:8080/v1/auth/login -d "username=admin@example.com&password=admin123"',
      );
      expect(text).to.include('helm test mrp -n mrp');
    });

    it('when installed in production, NOTES say where the bootstrap admin’s password is instead', async function () {
      const text = await notes('production');
      expect(text).to.include(
        "kubectl -n mrp get secret mrp-user-service-bootstrap-admin -o jsonpath='{.data.password}'",
      );
      expect(text).not.to.include('admin123');
    });

    it('when helm test runs, its pod runs the committed seed-flow script against the gateway', async function () {
      const objects = objectsOf('kind (values-dev.yaml)');
      const pod = find(objects, 'Pod', 'mrp-seed-flow-test');
      expect(pod.metadata.annotations?.['helm.sh/hook']).to.equal('test');
      const script = find(objects, 'ConfigMap', 'mrp-seed-flow-test').data!['seed-flow.sh'];
      expect(script).to.equal(await readFile(join(UMBRELLA, 'files', 'seed-flow.sh'), 'utf8'));
      const env = podSpecOf(pod).containers[0]!.env!;
      expect(env.find((variable) => variable.name === 'GATEWAY_URL')?.value).to.equal(
        'http://mrp-gateway:8080',
      );
    });
  });
});
