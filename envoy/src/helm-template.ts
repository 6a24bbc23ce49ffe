/**
 * The gateway's Envoy bootstrap as a file of the Helm chart. Helm cannot run this renderer, so the chart
 * carries its output with Go template actions where a release differs (its name, namespace, token issuer and
 * audience, the collector's host and port, the proxies trusted in front of it, the CORS origins, and
 * whether the listener speaks TLS), and its ConfigMap evaluates them with `tpl`. The file is committed and a
 * test fails when it differs from a fresh rendering (`make render-gateway` writes it again).
 */
import { GATEWAY_TLS } from './gateway.ts';
import { kubernetesTarget, renderEnvoyConfig } from './render-envoy-config.ts';

/**
 * The listener's TLS block, which the chart keeps only with `tls.enabled`: the renderer writes it as the
 * filter chain's last member, so the text from the comma before it to its closing brace can be wrapped in
 * a condition and leave valid JSON either way.
 */
function makeTlsConditional(text: string): string {
  const start = text.indexOf('"transport_socket": {');
  if (start < 0 || text.indexOf('"transport_socket": {', start + 1) >= 0)
    throw new Error('the listener TLS block must appear once');
  const comma = text.lastIndexOf(',', start);
  if (text.slice(comma + 1, start).trim() !== '') throw new Error('no comma right before the TLS block');
  let depth = 0;
  let end = text.indexOf('{', start);
  for (; end < text.length; end += 1) {
    if (text[end] === '{') depth += 1;
    else if (text[end] === '}' && --depth === 0) break;
  }
  if (text.slice(end + 1).trimStart()[0] !== '}')
    throw new Error("the TLS block is not the filter chain's last member");
  return `${text.slice(0, comma)}{{ if .Values.tls.enabled }}${text.slice(comma, end + 1)}{{ end }}${text.slice(end + 1)}`;
}

/**
 * Stands for the collector's port, which the renderer needs as a number: it is the only number this large
 * in the config (checked below), and becomes the chart's action.
 */
const COLLECTOR_PORT_PLACEHOLDER = 43_180;
/** Stands for the chart's `cors.allowedOrigins`: one origin, whose JSON list becomes the chart's list. */
const CORS_ORIGIN_PLACEHOLDER = '@@cors-origin@@';
const CORS_ORIGINS_LIST = new RegExp(
  String.raw`\[\s*\{\s*"exact": "${CORS_ORIGIN_PLACEHOLDER}"\s*\}\s*\]`,
  'g',
);
/** Stands for the chart's `trustedProxyHops`, a number too; it appears once, as xff_num_trusted_hops. */
const TRUSTED_HOPS_PLACEHOLDER = 43_181;

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
  [String(COLLECTOR_PORT_PLACEHOLDER), '{{ include "gateway.collectorPort" . }}'],
  [String(TRUSTED_HOPS_PLACEHOLDER), '{{ .Values.trustedProxyHops | int }}'],
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
        ? { host: placeholder('collector'), port: COLLECTOR_PORT_PLACEHOLDER }
        : undefined,
      trustedProxyHops: TRUSTED_HOPS_PLACEHOLDER,
      corsAllowedOrigins: [CORS_ORIGIN_PLACEHOLDER],
      tls: GATEWAY_TLS,
    }),
  );
  let text = `${JSON.stringify(config, null, 2)}\n`;
  // The port placeholder must mean the collector only: its cluster's endpoint and the exporter's URI.
  const portUses = text.split(String(COLLECTOR_PORT_PLACEHOLDER)).length - 1;
  if (portUses !== (options.traced ? 2 : 0)) {
    throw new Error(`${COLLECTOR_PORT_PLACEHOLDER} appears ${portUses} times in the config`);
  }
  if (
    !text.includes(`"xff_num_trusted_hops": ${TRUSTED_HOPS_PLACEHOLDER}`) ||
    text.split(String(TRUSTED_HOPS_PLACEHOLDER)).length !== 2
  ) {
    throw new Error(`${TRUSTED_HOPS_PLACEHOLDER} must appear once, as xff_num_trusted_hops`);
  }
  if ((text.match(CORS_ORIGINS_LIST) ?? []).length !== 1) {
    throw new Error(`the CORS origin placeholder must appear once, as the allow-list`);
  }
  text = text.replace(CORS_ORIGINS_LIST, '{{ include "gateway.corsOrigins" . }}');
  text = makeTlsConditional(text);
  for (const [from, to] of SUBSTITUTIONS) text = text.replaceAll(from, to);
  const left = /@@[a-z]+@@/.exec(text);
  if (left) throw new Error(`placeholder ${left[0]} was left in the Helm template`);
  return text;
}
