import { expect } from 'chai';
import {
  API_DOCS,
  GATEWAY_TLS,
  kubernetesTarget,
  localTarget,
  renderEnvoyConfig,
  type EnvoyBootstrap,
  type RenderTarget,
} from '@mrp/gateway';
import { createTestCertificate, validateEnvoyConfig } from '@mrp/gateway/testing';
import { find, render, renderValueSet, VALUE_SETS, type KubeObject } from './support/helm.ts';

/** The Envoy bootstrap the gateway chart's ConfigMap holds. */
const envoyConfigOf = (objects: readonly KubeObject[]): EnvoyBootstrap =>
  JSON.parse(find(objects, 'ConfigMap', 'mrp-gateway').data!['envoy.json']!) as EnvoyBootstrap;

interface Hcm {
  route_config: unknown;
  http_filters: { name: string; typed_config: Record<string, unknown> }[];
  local_reply_config: unknown;
  tracing?: unknown;
}
const hcmOf = (config: EnvoyBootstrap): Hcm =>
  (
    config as unknown as {
      static_resources: { listeners: { filter_chains: { filters: { typed_config: Hcm }[] }[] }[] };
    }
  ).static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;

/** The gateway's routes and policies without where its upstreams live: what must be the same everywhere. */
function policiesOf(config: EnvoyBootstrap): unknown {
  const hcm = structuredClone(hcmOf(config));
  const jwt = hcm.http_filters.find((filter) => filter.name === 'envoy.filters.http.jwt_authn')!
    .typed_config as {
    providers: Record<string, { remote_jwks: { http_uri: { uri?: string } } }>;
  };
  for (const provider of Object.values(jwt.providers)) delete provider.remote_jwks.http_uri.uri;
  return { routes: hcm.route_config, filters: hcm.http_filters, localReplies: hcm.local_reply_config };
}

describe('the gateway chart’s Envoy config', function () {
  this.timeout(120_000);
  const rendered = new Map<string, KubeObject[]>();
  before(async function () {
    for (const set of VALUE_SETS) rendered.set(set.name, await renderValueSet(set.name));
  });

  for (const set of VALUE_SETS) {
    it(`when rendered by Helm with the ${set.name} values, the real envoy --mode validate accepts it`, async function () {
      const { exitCode, output } = await validateEnvoyConfig(envoyConfigOf(rendered.get(set.name)!));
      expect(exitCode, output).to.equal(0);
      expect(output).not.to.match(/deprecated/i);
    });
  }

  const EXPECTED: readonly (readonly [set: string, target: RenderTarget])[] = [
    [
      'defaults',
      kubernetesTarget({
        release: 'mrp',
        namespace: 'mrp',
        otlpCollector: { host: 'mrp-otel-collector', port: 4318 },
      }),
    ],
    [
      'infrastructure off',
      kubernetesTarget({
        release: 'mrp',
        namespace: 'mrp',
        otlpCollector: { host: 'otel-collector.observability.svc.cluster.local', port: 4318 },
      }),
    ],
    ['HPAs on', kubernetesTarget({ release: 'mrp', namespace: 'mrp' })],
  ];
  for (const [set, target] of EXPECTED) {
    it(`when rendered by Helm with the ${set} values, it is exactly what the TypeScript renderer gives for that release`, function () {
      expect(envoyConfigOf(rendered.get(set)!)).to.deep.equal(renderEnvoyConfig(target));
    });
  }

  /** What the TypeScript renderer gives for the default release with `options` on top. */
  const defaultReleaseConfig = (options: Partial<Parameters<typeof kubernetesTarget>[0]>) =>
    renderEnvoyConfig(
      kubernetesTarget({
        release: 'mrp',
        namespace: 'mrp',
        otlpCollector: { host: 'mrp-otel-collector', port: 4318 },
        ...options,
      }),
    );

  it('when gateway.trustedProxyHops is set (behind a load balancer), the login limit keys on that X-Forwarded-For entry, and the rest is unchanged', async function () {
    const objects = await render({ set: ['gateway.trustedProxyHops=2'] });
    const config = envoyConfigOf(objects);
    expect(config).to.deep.equal(defaultReleaseConfig({ trustedProxyHops: 2 }));
    expect((hcmOf(config) as unknown as { xff_num_trusted_hops: number }).xff_num_trusted_hops).to.equal(2);
    expect(
      (hcmOf(envoyConfigOf(rendered.get('defaults')!)) as unknown as { xff_num_trusted_hops: number })
        .xff_num_trusted_hops,
    ).to.equal(0);
    const { exitCode, output } = await validateEnvoyConfig(config);
    expect(exitCode, output).to.equal(0);
  });

  it('when gateway.cors.allowedOrigins lists origins, the CORS policy allows exactly those, and the rest is unchanged', async function () {
    const origins = ['https://app.example.com', 'http://localhost:5173'];
    const objects = await render({
      set: [`gateway.cors.allowedOrigins={${origins.join(',')}}`],
    });
    const config = envoyConfigOf(objects);
    expect(config).to.deep.equal(defaultReleaseConfig({ corsAllowedOrigins: origins }));
    const { exitCode, output } = await validateEnvoyConfig(config);
    expect(exitCode, output).to.equal(0);
  });

  for (const bad of ['app.example.com', 'https://app.example.com/', 'https://*.example.com']) {
    it(`when gateway.cors.allowedOrigins holds ${bad}, which is not an exact origin, the chart refuses to render`, async function () {
      const failed = await render({ set: [`gateway.cors.allowedOrigins={${bad}}`] }).then(
        () => undefined,
        (error: unknown) => (error as Error).message,
      );
      expect(failed).to.match(/allowedOrigins/);
    });
  }

  it('when gateway.tls is enabled, the listener speaks TLS with the mounted Secret, the liveness probe uses HTTPS, and the helm test calls https', async function () {
    const objects = await render({ set: ['gateway.tls.enabled=true', 'gateway.tls.secretName=gateway-tls'] });
    const config = envoyConfigOf(objects);
    expect(config).to.deep.equal(defaultReleaseConfig({ tls: GATEWAY_TLS }));
    // Envoy loads the files when it validates: point the config at a real certificate.
    const certificate = await createTestCertificate();
    try {
      const text = JSON.stringify(config)
        .replaceAll(GATEWAY_TLS.certificateFile, certificate.certificateFile)
        .replaceAll(GATEWAY_TLS.privateKeyFile, certificate.privateKeyFile);
      const { exitCode, output } = await validateEnvoyConfig(JSON.parse(text) as object);
      expect(exitCode, output).to.equal(0);
    } finally {
      await certificate.remove();
    }
    const pod = (
      find(objects, 'Deployment', 'mrp-gateway').spec as {
        template: {
          spec: {
            containers: {
              livenessProbe: { httpGet: { scheme: string } };
              volumeMounts: { name: string; mountPath: string }[];
            }[];
            volumes: { name: string; secret?: { secretName: string } }[];
          };
        };
      }
    ).template.spec;
    expect(pod.containers[0]!.livenessProbe.httpGet.scheme).to.equal('HTTPS');
    expect(pod.containers[0]!.volumeMounts).to.deep.include({
      name: 'tls',
      mountPath: '/etc/envoy-tls',
      readOnly: true,
    });
    expect(pod.volumes).to.deep.include({ name: 'tls', secret: { secretName: 'gateway-tls' } });
    const test = find(objects, 'Pod', 'mrp-seed-flow-test').spec as {
      containers: { env: { name: string; value?: string }[] }[];
    };
    expect(test.containers[0]!.env).to.deep.include({
      name: 'GATEWAY_URL',
      value: 'https://mrp-gateway:8080',
    });

    const plain = await render({});
    const plainPod = (
      find(plain, 'Deployment', 'mrp-gateway').spec as { template: { spec: { volumes: { name: string }[] } } }
    ).template.spec;
    expect(plainPod.volumes.map((volume) => volume.name)).to.not.include('tls');
    expect(JSON.stringify(envoyConfigOf(plain))).to.not.include('transport_socket');
  });

  it('when gateway.tls is enabled without a Secret name, the chart refuses to render, saying what is missing', async function () {
    const failed = await render({ set: ['gateway.tls.enabled=true'] }).then(
      () => undefined,
      (error: unknown) => (error as Error).message,
    );
    expect(failed).to.match(/tls\.secretName/);
  });

  for (const bad of ['-1', '11', 'one']) {
    it(`when gateway.trustedProxyHops is ${bad}, the chart refuses to render`, async function () {
      const failed = await render({ set: [`gateway.trustedProxyHops=${bad}`] }).then(
        () => undefined,
        (error: unknown) => (error as Error).message,
      );
      expect(failed).to.match(/trustedProxyHops/);
    });
  }

  it('when compared with the local gateway of make dev, it routes the same paths with the same JWT rules, rate limits, header strips and error bodies', function () {
    const chart = envoyConfigOf(rendered.get('HPAs on')!);
    const local = renderEnvoyConfig({ ...localTarget(), apiDocsDirectory: API_DOCS.containerDirectory });
    expect(policiesOf(chart)).to.deep.equal(policiesOf(local));
  });

  it('when the release names another issuer or audience, Envoy, auth-service and every verifying service use the same', async function () {
    const objects = await render({
      set: ['global.jwt.issuer=https://auth.example.com', 'global.jwt.audience=example-api'],
    });
    const jwt = hcmOf(envoyConfigOf(objects)).http_filters.find(
      (filter) => filter.name === 'envoy.filters.http.jwt_authn',
    )!.typed_config as { providers: Record<string, { issuer: string; audiences: string[] }> };
    expect(Object.values(jwt.providers)).to.deep.equal([
      { ...Object.values(jwt.providers)[0], issuer: 'https://auth.example.com', audiences: ['example-api'] },
    ]);
    for (const service of [
      'auth-service',
      'user-service',
      'case-service',
      'scoring-service',
      'audit-telemetry-service',
    ]) {
      const deployment = find(objects, 'Deployment', `mrp-${service}`);
      const env = (
        deployment.spec as {
          template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
        }
      ).template.spec.containers[0]!.env;
      expect(env.find((variable) => variable.name === 'AUTH_ISSUER')?.value, service).to.equal(
        'https://auth.example.com',
      );
      expect(env.find((variable) => variable.name === 'AUTH_AUDIENCE')?.value, service).to.equal(
        'example-api',
      );
    }
  });
});
