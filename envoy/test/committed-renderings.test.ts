import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHelmBootstrapTemplate } from '../src/helm-template.ts';
import { composeTarget, renderEnvoyConfig } from '../src/render-envoy-config.ts';
import { COMMITTED_RENDERINGS } from '../src/committed-renderings.ts';

const root = join(import.meta.dirname, '..', '..');

describe('committed renderings of the gateway', function () {
  for (const rendering of COMMITTED_RENDERINGS) {
    it(`when gateway.ts or the renderer changes, ${rendering.path} is rendered again (make render-gateway)`, async function () {
      const committed = await readFile(join(root, rendering.path), 'utf8');
      expect(committed === rendering.render(), `${rendering.path} is stale: run make render-gateway`).to.be
        .true;
    });
  }

  it('when the Helm template is rendered, only the release-specific values (and the proxies trusted in front, the CORS origins, whether TLS is on) are template actions', function () {
    const template = renderHelmBootstrapTemplate({ traced: true });
    const actions = [...new Set(template.match(/\{\{[^}]*\}\}/g))].sort();
    expect(actions).to.deep.equal([
      '{{ .Release.Name }}',
      '{{ .Release.Namespace }}',
      '{{ .Values.trustedProxyHops | int }}',
      '{{ end }}',
      '{{ if .Values.tls.enabled }}',
      '{{ include "gateway.collectorHost" . }}',
      '{{ include "gateway.collectorPort" . }}',
      '{{ include "gateway.corsOrigins" . }}',
      '{{ include "mrp-lib.jwtAudience" . | toJson }}',
      '{{ include "mrp-lib.jwtIssuer" . | toJson }}',
    ]);
    expect(renderHelmBootstrapTemplate({ traced: false })).not.to.match(/gateway\.collector(Host|Port)/);
  });

  it('when compose runs the gateway, its config traces to the Compose collector', function () {
    const compose = COMMITTED_RENDERINGS.find((rendering) => rendering.path.includes('compose'))!;
    expect(compose.render()).to.equal(
      `${JSON.stringify(renderEnvoyConfig(composeTarget({ otlpCollector: { host: 'otel-collector', port: 4318 } })), null, 2)}\n`,
    );
  });
});
