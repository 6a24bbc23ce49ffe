/**
 * The gateway's Envoy bootstrap as a file of the Helm chart. Helm cannot run this renderer, so the chart
 * carries its output with Go template actions where a release differs (its name, namespace, token issuer and
 * audience, the collector's host), and its ConfigMap evaluates them with `tpl`. The file is committed and a
 * test fails when it differs from a fresh rendering (`make render-gateway` writes it again).
 */
import { kubernetesTarget, renderEnvoyConfig } from './render-envoy-config.ts';

/** The collector's OTLP/HTTP port in the chart (the OTLP default). */
export const CHART_COLLECTOR_PORT = 4318;

/**
 * What the chart fills in. The renderer gets the placeholder; the file gets the action. Strings that are
 * not host names are replaced with their quotes, so `toJson` writes them as JSON whatever they contain.
 */
const SUBSTITUTIONS: readonly (readonly [placeholder: string, action: string])[] = [
  ['"@@issuer@@"', '{{ include "mrp-lib.jwtIssuer" . | toJson }}'],
  ['"@@audience@@"', '{{ include "mrp-lib.jwtAudience" . | toJson }}'],
  ['@@release@@', '{{ .Release.Name }}'],
  ['@@namespace@@', '{{ .Release.Namespace }}'],
  ['@@collector@@', '{{ include "gateway.collectorHost" . }}'],
];

const placeholder = (name: string): string => `@@${name}@@`;

/** The chart's bootstrap template, with tracing to the collector (`traced`) or without. */
export function renderHelmBootstrapTemplate(options: { readonly traced: boolean }): string {
  const config = renderEnvoyConfig(
    kubernetesTarget({
      release: placeholder('release'),
      namespace: placeholder('namespace'),
      issuer: placeholder('issuer'),
      audience: placeholder('audience'),
      otlpCollector: options.traced
        ? { host: placeholder('collector'), port: CHART_COLLECTOR_PORT }
        : undefined,
    }),
  );
  let text = `${JSON.stringify(config, null, 2)}\n`;
  for (const [from, to] of SUBSTITUTIONS) text = text.replaceAll(from, to);
  const left = /@@[a-z]+@@/.exec(text);
  if (left) throw new Error(`placeholder ${left[0]} was left in the Helm template`);
  return text;
}
