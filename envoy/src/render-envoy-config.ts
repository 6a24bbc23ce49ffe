import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  API_DOCS,
  CORS_POLICY,
  GATEWAY_TLS,
  DEFAULT_LOCAL_REPLY_PROBLEM,
  GATEWAY_PORTS,
  HEALTH_ENDPOINT,
  JWT_POLICY,
  LIMITS,
  LOCAL_REPLY_PROBLEMS,
  LOGIN_ENDPOINT,
  OPS_ENDPOINTS,
  OVERLOADED_PROBLEM,
  PROBLEM_TYPE_PREFIX,
  PUBLIC_ENDPOINTS,
  RATE_LIMITS,
  REQUEST_ID_HEADER,
  SERVICE_ROUTES,
  SERVICES,
  STRIPPED_IDENTITY_HEADERS,
  EDGE_RESPONSE_HEADERS,
  TIMEOUTS,
  UPSTREAM_LIMITS,
  HEALTH_CHECK,
  UPSTREAM_RETRY,
  type Endpoint,
  type LocalReplyProblem,
  type RateLimitPolicy,
  type ServiceName,
  type StaticEndpoint,
  type TokenBucket,
  type UpstreamLimits,
} from './gateway.ts';

/** A JSON value, as Envoy reads its bootstrap. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** An Envoy v3 bootstrap, ready to be written as JSON (or YAML) and passed to `envoy -c`. */
export type EnvoyBootstrap = JsonObject;

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** Changes to the default rate limits (tests use small buckets; an environment may tune them). */
export interface RateLimitOverrides {
  readonly gateway?: Partial<TokenBucket>;
  readonly loginPerClient?: Partial<TokenBucket>;
  readonly loginTrackedClients?: number;
}

/** Where the rendered gateway runs and what it talks to. */
export interface RenderTarget {
  readonly listener: SocketAddress;
  readonly admin: SocketAddress;
  /**
   * A second listener that forwards only the admin's metrics and readiness pages, for Prometheus and the
   * kubelet, which cannot reach the loopback-only admin from outside the pod (containers only).
   */
  readonly ops?: SocketAddress | undefined;
  readonly upstreams: Readonly<Record<ServiceName, Upstream>>;
  /** `STATIC` needs IP addresses; `STRICT_DNS` resolves names and follows their changes. */
  readonly upstreamDiscovery: 'STATIC' | 'STRICT_DNS';
  readonly issuer: string;
  readonly audience: string;
  readonly rateLimits?: RateLimitOverrides | undefined;
  /** Changes to the per-service limits (tests use tiny ones). */
  readonly upstreamLimits?: Partial<UpstreamLimits> | undefined;
  /**
   * The OpenTelemetry collector Envoy exports its spans to (OTLP over HTTP, `/v1/traces`). When set, Envoy
   * starts (or continues) a W3C trace on every request and forwards its `traceparent` upstream; when
   * absent, the config has no tracing at all.
   */
  readonly otlpCollector?: Upstream | undefined;
  /** How long Envoy keeps the JWKS before fetching it again (default JWT_POLICY.jwksCacheSeconds). */
  readonly jwksCacheSeconds?: number | undefined;
  /** More instances of a service, beside `upstreams` (local replicas; a cluster's Service balances itself). */
  readonly replicas?: Partial<Record<ServiceName, readonly Upstream[]>> | undefined;
  /**
   * Check each instance's `/readyz` (HEALTH_CHECK) and send nothing to one that fails it: for local replicas,
   * where nothing else takes a stopping instance out. On Kubernetes the upstream is a Service whose endpoints
   * already follow the pods' readiness.
   */
  readonly healthChecks?: boolean | undefined;
  /**
   * How many proxies in front of Envoy append to X-Forwarded-For (a load balancer, an ingress): the client
   * address, which the per-client login limit keys on, is then that many entries from the right of the
   * header. 0 (the default) trusts no header: the peer address is the client.
   */
  readonly trustedProxyHops?: number | undefined;
  /**
   * The browser origins allowed to call the API across origins (`https://app.example.com`, exact). Empty
   * or absent: CORS is off (CORS_POLICY).
   */
  readonly corsAllowedOrigins?: readonly string[] | undefined;
  /** The listener speaks TLS with this certificate and key (PEM files); plain HTTP when absent. */
  readonly tls?: TlsFiles | undefined;
  /**
   * The directory of the API reference's files (API_DOCS), which Envoy reads at start-up; without one
   * the gateway serves no API reference.
   */
  readonly apiDocsDirectory?: string | undefined;
}

/** Where the listener's certificate and private key are (GATEWAY_TLS has the chart's paths). */
export interface TlsFiles {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
}

export interface LocalTargetOptions {
  readonly listenerPort?: number | undefined;
  readonly adminPort?: number | undefined;
  readonly servicePorts?: Partial<Record<ServiceName, number>> | undefined;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  readonly rateLimits?: RateLimitOverrides | undefined;
  readonly upstreamLimits?: Partial<UpstreamLimits> | undefined;
  /** The OTLP/HTTP collector (an IP address: local clusters are STATIC); no tracing when absent. */
  readonly otlpCollector?: Upstream | undefined;
  /** A shorter JWKS cache, for tests of key rotation (default JWT_POLICY.jwksCacheSeconds). */
  readonly jwksCacheSeconds?: number | undefined;
  /** The ports of further local instances of a service (make dev's DEV_REPLICAS_<SERVICE>). */
  readonly replicaPorts?: Partial<Record<ServiceName, readonly number[]>> | undefined;
  /** Proxies in front that append to X-Forwarded-For (RenderTarget.trustedProxyHops; default 0). */
  readonly trustedProxyHops?: number | undefined;
  /** Browser origins allowed across origins (RenderTarget.corsAllowedOrigins; default none). */
  readonly corsAllowedOrigins?: readonly string[] | undefined;
  /** TLS on the listener (RenderTarget.tls; default none). */
  readonly tls?: TlsFiles | undefined;
  /** The API reference's files (default: the repository's, API_DOCS.repositoryDirectory). */
  readonly apiDocsDirectory?: string | undefined;
}

/** The API reference's files in this checkout. */
export const LOCAL_API_DOCS_DIRECTORY = join(import.meta.dirname, '..', '..', API_DOCS.repositoryDirectory);

/** The gateway as a local process: everything on 127.0.0.1, services on their local ports. */
export function localTarget(options: LocalTargetOptions = {}): RenderTarget {
  const upstreams = Object.fromEntries(
    SERVICES.map((service) => [
      service.name,
      { host: '127.0.0.1', port: options.servicePorts?.[service.name] ?? service.localPort },
    ]),
  ) as Record<ServiceName, Upstream>;
  return {
    listener: { address: '127.0.0.1', port: options.listenerPort ?? GATEWAY_PORTS.listener },
    admin: { address: GATEWAY_PORTS.adminAddress, port: options.adminPort ?? GATEWAY_PORTS.admin },
    upstreams,
    upstreamDiscovery: 'STATIC',
    issuer: options.issuer ?? JWT_POLICY.defaultIssuer,
    audience: options.audience ?? JWT_POLICY.defaultAudience,
    rateLimits: options.rateLimits,
    upstreamLimits: options.upstreamLimits,
    trustedProxyHops: options.trustedProxyHops,
    corsAllowedOrigins: options.corsAllowedOrigins,
    tls: options.tls,
    apiDocsDirectory: options.apiDocsDirectory ?? LOCAL_API_DOCS_DIRECTORY,
    ...(options.otlpCollector ? { otlpCollector: options.otlpCollector } : {}),
    ...(options.jwksCacheSeconds === undefined ? {} : { jwksCacheSeconds: options.jwksCacheSeconds }),
    replicas: Object.fromEntries(
      Object.entries(options.replicaPorts ?? {}).map(([name, ports]) => [
        name,
        (ports ?? []).map((port) => ({ host: '127.0.0.1', port })),
      ]),
    ),
    // Only where there is an instance to fail over to; a single instance is routed to regardless.
    healthChecks: Object.values(options.replicaPorts ?? {}).some((ports) => (ports ?? []).length > 0),
  };
}

/** What a gateway in a container (Kubernetes or Compose) can be told. */
export interface ContainerTargetOptions {
  readonly listenerPort?: number | undefined;
  readonly adminPort?: number | undefined;
  readonly opsPort?: number | undefined;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  readonly rateLimits?: RateLimitOverrides | undefined;
  /** The OTLP/HTTP collector (a DNS name, e.g. `otel-collector.observability`); no tracing when absent. */
  readonly otlpCollector?: Upstream | undefined;
  /** Proxies in front that append to X-Forwarded-For (RenderTarget.trustedProxyHops; default 0). */
  readonly trustedProxyHops?: number | undefined;
  /** Browser origins allowed across origins (RenderTarget.corsAllowedOrigins; default none). */
  readonly corsAllowedOrigins?: readonly string[] | undefined;
  /** TLS on the listener (RenderTarget.tls; default none). */
  readonly tls?: TlsFiles | undefined;
}

export interface KubernetesTargetOptions extends ContainerTargetOptions {
  /** The Helm release name; services are reached as `<release>-<service>`. */
  readonly release: string;
  /** When set, upstream names are fully qualified (`<release>-<service>.<namespace>.svc.cluster.local`). */
  readonly namespace?: string | undefined;
}

/**
 * The gateway in a container: listening on all interfaces with the ops listener beside it, services found
 * through DNS under the name `hostOf` gives them, on their container port.
 */
function containerTarget(
  options: ContainerTargetOptions,
  hostOf: (service: ServiceName) => string,
): RenderTarget {
  const upstreams = Object.fromEntries(
    SERVICES.map((service) => [service.name, { host: hostOf(service.name), port: service.containerPort }]),
  ) as Record<ServiceName, Upstream>;
  return {
    listener: { address: '0.0.0.0', port: options.listenerPort ?? GATEWAY_PORTS.listener },
    // Loopback even in a pod: the admin interface can drain and stop Envoy, so only the pod reaches it.
    admin: { address: GATEWAY_PORTS.adminAddress, port: options.adminPort ?? GATEWAY_PORTS.admin },
    ops: { address: '0.0.0.0', port: options.opsPort ?? GATEWAY_PORTS.ops },
    upstreams,
    upstreamDiscovery: 'STRICT_DNS',
    issuer: options.issuer ?? JWT_POLICY.defaultIssuer,
    audience: options.audience ?? JWT_POLICY.defaultAudience,
    rateLimits: options.rateLimits,
    trustedProxyHops: options.trustedProxyHops,
    corsAllowedOrigins: options.corsAllowedOrigins,
    tls: options.tls,
    ...(options.otlpCollector ? { otlpCollector: options.otlpCollector } : {}),
  };
}

/**
 * The gateway as a pod: services are the Helm release's Services, `<release>-<service>`. Envoy sees each
 * Service as one host, its cluster IP, whatever the number of pods behind it, so the per-instance limit
 * would cap a scaled-out service at one instance's share: there it is the service-wide one, and each pod
 * bounds its own work (HTTP_MAX_IN_FLIGHT; ADR 0022).
 */
export function kubernetesTarget(options: KubernetesTargetOptions): RenderTarget {
  const suffix = options.namespace ? `.${options.namespace}.svc.cluster.local` : '';
  return {
    ...containerTarget(options, (service) => `${options.release}-${service}${suffix}`),
    upstreamLimits: { maxConnectionsPerHost: UPSTREAM_LIMITS.maxConnections },
    // In the gateway's own image (images/gateway.Dockerfile).
    apiDocsDirectory: API_DOCS.containerDirectory,
  };
}

/**
 * The gateway in docker-compose: every service is reached by its Compose service name; the API reference's
 * files are mounted from the checkout (Compose runs the upstream Envoy image).
 */
export function composeTarget(options: ContainerTargetOptions = {}): RenderTarget {
  return { ...containerTarget(options, (service) => service), apiDocsDirectory: API_DOCS.containerDirectory };
}

const FILTER = {
  cors: 'envoy.filters.http.cors',
  headerMutation: 'envoy.filters.http.header_mutation',
  localRateLimit: 'envoy.filters.http.local_ratelimit',
  jwtAuthn: 'envoy.filters.http.jwt_authn',
  router: 'envoy.filters.http.router',
} as const;

/** The cluster of the OpenTelemetry collector (present only when tracing is on). */
const OTLP_COLLECTOR_CLUSTER = 'otlp-collector';
/** The admin interface as the ops listener's upstream (present only with an ops listener). */
const ADMIN_CLUSTER = 'envoy-admin';
/** How long one span export to the collector may take; Envoy drops the batch after that. */
const OTLP_EXPORT_TIMEOUT_MS = 1000;

const TYPE = {
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  cors: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors',
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  corsPolicy: 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
  headerMutation: 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
  localRateLimit: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
  jwtAuthn: 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  previousHosts: 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
  openTelemetry: 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
  stdoutLog: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  celFilter: 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter',
  downstreamConnections:
    'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
} as const;

/** Caps open client connections; Envoy warns at start-up without one, and it bounds memory under floods. */
const MAX_DOWNSTREAM_CONNECTIONS = 10_000;
/** Envoy's edge recommendation: bounds per-connection buffering against slow-reader attacks. */
const CONNECTION_BUFFER_LIMIT_BYTES = 32_768;

/**
 * Renders the Envoy v3 bootstrap for `target` from the gateway's routes and policies (gateway.ts).
 * Pure: the same target always gives the same config.
 */
export function renderEnvoyConfig(target: RenderTarget): EnvoyBootstrap {
  checkTarget(target);
  const rateLimits = mergeRateLimits(target.rateLimits);
  return {
    node: { id: 'mrp-gateway', cluster: 'mrp-gateway' },
    admin: { address: socketAddress(target.admin) },
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': TYPE.downstreamConnections,
            max_active_downstream_connections: MAX_DOWNSTREAM_CONNECTIONS,
          },
        },
      ],
    },
    static_resources: {
      listeners: [
        {
          name: 'gateway',
          address: socketAddress(target.listener),
          per_connection_buffer_limit_bytes: CONNECTION_BUFFER_LIMIT_BYTES,
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: httpConnectionManager(target, rateLimits),
                },
              ],
              // Last, so that the chart's template can leave it out (envoy/src/helm-template.ts).
              ...(target.tls ? { transport_socket: downstreamTls(target.tls) } : {}),
            },
          ],
        },
        ...(target.ops ? [opsListener(target.ops)] : []),
      ],
      clusters: [
        ...SERVICES.map((service) => cluster(service.name, target)),
        ...(target.otlpCollector ? [collectorCluster(target.otlpCollector, target)] : []),
        ...(target.ops ? [adminCluster(target.admin)] : []),
      ],
    },
  };
}

function httpConnectionManager(target: RenderTarget, rateLimits: RateLimitPolicy): JsonObject {
  return {
    '@type': TYPE.hcm,
    stat_prefix: 'gateway',
    codec_type: 'AUTO',
    server_name: 'mrp-gateway',
    // The client address, which the per-client login limit keys on: the peer's by default, so a client
    // cannot choose its own through X-Forwarded-For. Behind N proxies that each append the address they
    // saw, it is the N-th entry from the right of that header, which no client can forge.
    use_remote_address: true,
    xff_num_trusted_hops: target.trustedProxyHops ?? 0,
    // Route and JWT rules see one canonical path; `/v1/auth/../users` or `//v1/users` cannot slip past
    // them, and an encoded slash (%2F) is refused rather than guessed at.
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    generate_request_id: true,
    preserve_external_request_id: true,
    always_set_request_id_in_response: true,
    max_request_headers_kb: LIMITS.maxRequestHeadersKb,
    request_headers_timeout: duration(TIMEOUTS.requestHeadersMs),
    stream_idle_timeout: duration(TIMEOUTS.streamIdleMs),
    common_http_protocol_options: {
      idle_timeout: duration(TIMEOUTS.connectionIdleMs),
      // `x_user_id` would slip past the identity-header strip and could reach a framework that folds
      // it into `x-user-id`.
      headers_with_underscores_action: 'DROP_HEADER',
    },
    http2_protocol_options: {
      max_concurrent_streams: 100,
      initial_stream_window_size: 65_536,
      initial_connection_window_size: 1_048_576,
    },
    access_log: [accessLog(target.otlpCollector !== undefined)],
    ...(target.otlpCollector ? { tracing: tracing(target.otlpCollector) } : {}),
    local_reply_config: localReplyConfig(target.apiDocsDirectory !== undefined),
    route_config: routeConfig(rateLimits, target.corsAllowedOrigins ?? [], target.apiDocsDirectory),
    // Order matters: identity headers go before anything reads them; a CORS preflight is answered before
    // the limits and the token check (it carries no token); the flood limit runs before the (costlier)
    // signature check; the router is last.
    http_filters: [
      { name: FILTER.headerMutation, typed_config: stripIdentityHeaders() },
      { name: FILTER.cors, typed_config: { '@type': TYPE.cors } },
      { name: FILTER.localRateLimit, typed_config: gatewayRateLimit(rateLimits.gateway) },
      { name: FILTER.jwtAuthn, typed_config: jwtAuthentication(target) },
      { name: FILTER.router, typed_config: { '@type': TYPE.router } },
    ],
  };
}

/** The listener's TLS (GATEWAY_TLS): TLS 1.2 or later, HTTP/2 and HTTP/1.1 by ALPN. */
function downstreamTls(files: TlsFiles): JsonObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TYPE.downstreamTls,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: GATEWAY_TLS.minimumVersion },
        alpn_protocols: [...GATEWAY_TLS.alpnProtocols],
        tls_certificates: [
          {
            certificate_chain: { filename: files.certificateFile },
            private_key: { filename: files.privateKeyFile },
          },
        ],
      },
    },
  };
}

/**
 * The ops listener: the admin's Prometheus page and readiness, forwarded to the loopback admin; every other
 * path is a 404, so nothing that can change Envoy's state is reachable. It is not access-logged: it serves
 * probes and scrapes every few seconds.
 */
function opsListener(address: SocketAddress): JsonObject {
  const forward = (name: string, endpoint: Endpoint): JsonObject => ({
    name,
    match: exactMatch(endpoint),
    route: { cluster: ADMIN_CLUSTER, timeout: duration(TIMEOUTS.upstreamConnectMs * 5) },
  });
  return {
    name: 'ops',
    address: socketAddress(address),
    per_connection_buffer_limit_bytes: CONNECTION_BUFFER_LIMIT_BYTES,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': TYPE.hcm,
              stat_prefix: 'ops',
              codec_type: 'HTTP1',
              normalize_path: true,
              merge_slashes: true,
              path_with_escaped_slashes_action: 'REJECT_REQUEST',
              request_headers_timeout: duration(TIMEOUTS.requestHeadersMs),
              route_config: {
                name: 'ops',
                virtual_hosts: [
                  {
                    name: 'ops',
                    domains: ['*'],
                    routes: [
                      forward('metrics', OPS_ENDPOINTS.metrics),
                      forward('ready', OPS_ENDPOINTS.ready),
                      { name: 'not-found', match: { prefix: '/' }, direct_response: { status: 404 } },
                    ],
                  },
                ],
              },
              http_filters: [{ name: FILTER.router, typed_config: { '@type': TYPE.router } }],
            },
          },
        ],
      },
    ],
  };
}

function adminCluster(admin: SocketAddress): JsonObject {
  return {
    name: ADMIN_CLUSTER,
    type: 'STATIC',
    connect_timeout: duration(TIMEOUTS.upstreamConnectMs),
    lb_policy: 'ROUND_ROBIN',
    load_assignment: loadAssignment(ADMIN_CLUSTER, { host: admin.address, port: admin.port }),
  };
}

/**
 * The first filter: identity headers a client sends are removed before anything reads them, and every
 * answer, the gateway's own local replies (401, 429, 503) included, says `X-Content-Type-Options: nosniff`
 * and, unless the service chose its own caching (the JWKS does), `Cache-Control: no-store`.
 */
function stripIdentityHeaders(): JsonObject {
  return {
    '@type': TYPE.headerMutation,
    mutations: {
      request_mutations: STRIPPED_IDENTITY_HEADERS.map((header) => ({ remove: header })),
      response_mutations: Object.entries(EDGE_RESPONSE_HEADERS).map(([key, { value, onlyIfAbsent }]) => ({
        append: {
          header: { key, value },
          append_action: onlyIfAbsent ? 'ADD_IF_ABSENT' : 'OVERWRITE_IF_EXISTS_OR_ADD',
        },
      })),
    },
  };
}

/** What needs no token on this target: PUBLIC_ENDPOINTS, and the API reference where it is served. */
export function publicEndpoints(target: RenderTarget): readonly Endpoint[] {
  return [...PUBLIC_ENDPOINTS, ...(target.apiDocsDirectory === undefined ? [] : API_DOCS.endpoints)];
}

function jwtAuthentication(target: RenderTarget): JsonObject {
  const jwks = upstreamOf(target, JWT_POLICY.jwksService);
  return {
    '@type': TYPE.jwtAuthn,
    providers: {
      [JWT_POLICY.providerName]: {
        issuer: target.issuer,
        audiences: [target.audience],
        remote_jwks: {
          http_uri: {
            uri: `http://${hostForUri(jwks.host)}:${jwks.port}${JWT_POLICY.jwksPath}`,
            cluster: JWT_POLICY.jwksService,
            timeout: duration(JWT_POLICY.jwksFetchTimeoutMs),
          },
          cache_duration: duration((target.jwksCacheSeconds ?? JWT_POLICY.jwksCacheSeconds) * 1000),
          // Fetched and refreshed in the background. The listener opens once the first fetch ends,
          // failed or not (bounded by the fetch timeout), so Envoy serves before auth-service is up and
          // retries soon after. Only while no usable keys are cached does a request fetch them itself.
          async_fetch: {
            fast_listener: false,
            failed_refetch_duration: duration(JWT_POLICY.jwksFailedRefetchMs),
          },
        },
        // Only the Authorization header: tokens in query strings end up in logs.
        from_headers: [{ name: JWT_POLICY.tokenHeader, value_prefix: JWT_POLICY.tokenPrefix }],
        // Services verify the token again (zero trust), so it is forwarded as sent.
        forward: true,
        forward_payload_header: JWT_POLICY.payloadHeader,
        clock_skew_seconds: JWT_POLICY.clockSkewSeconds,
        payload_in_metadata: 'jwt_payload',
        jwt_cache_config: { jwt_cache_size: JWT_POLICY.verifiedTokenCacheSize },
      },
    },
    // First match wins: the public endpoints need nothing, everything else (unrouted paths too) needs a
    // verified token, so a route added without thought is protected.
    rules: [
      ...publicEndpoints(target).map((endpoint) => ({ match: exactMatch(endpoint) })),
      { match: { prefix: '/' }, requires: { provider_name: JWT_POLICY.providerName } },
    ],
  };
}

/**
 * The virtual host's CORS policy (CORS_POLICY): exact origins only, no credentials. With no origin listed
 * the filter matches none, adds no header and answers no preflight: CORS is off.
 */
function corsPolicy(allowedOrigins: readonly string[]): JsonObject {
  return {
    '@type': TYPE.corsPolicy,
    allow_origin_string_match: allowedOrigins.map((origin) => ({ exact: origin })),
    allow_methods: CORS_POLICY.allowMethods.join(','),
    allow_headers: CORS_POLICY.allowHeaders.join(','),
    expose_headers: CORS_POLICY.exposeHeaders.join(','),
    max_age: String(CORS_POLICY.maxAgeSeconds),
    allow_credentials: false,
  };
}

/**
 * A page or file the gateway answers itself (API_DOCS). Its content type is set by the local reply
 * mappers (Envoy's own answers get theirs there); the other headers here.
 */
function staticRoute(endpoint: StaticEndpoint, directory: string): JsonObject {
  const header = (key: string, value: string): JsonObject => ({
    header: { key, value },
    append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
  });
  const { body } = endpoint;
  return {
    name: endpoint.name,
    match: exactMatch(endpoint),
    direct_response: {
      status: 200,
      body: 'file' in body ? { filename: `${directory}/${body.file}` } : { inline_string: body.inline },
    },
    response_headers_to_add: [
      ...('file' in body && body.gzip ? [header('content-encoding', 'gzip')] : []),
      ...(endpoint.cacheControl ? [header('cache-control', endpoint.cacheControl)] : []),
      ...(endpoint.contentSecurityPolicy
        ? [header('content-security-policy', endpoint.contentSecurityPolicy)]
        : []),
    ],
  };
}

function routeConfig(
  rateLimits: RateLimitPolicy,
  corsAllowedOrigins: readonly string[],
  apiDocsDirectory: string | undefined,
): JsonObject {
  const routeAction = (cluster: ServiceName): JsonObject => ({
    cluster,
    timeout: duration(TIMEOUTS.routeMs),
    retry_policy: {
      retry_on: UPSTREAM_RETRY.retryOn.join(','),
      num_retries: UPSTREAM_RETRY.numRetries,
      // A retry goes to another instance when there is one.
      retry_host_predicate: [
        { name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': TYPE.previousHosts } },
      ],
      host_selection_retry_max_attempts: 3,
    },
  });
  return {
    name: 'gateway',
    ...(apiDocsDirectory === undefined ? {} : { max_direct_response_body_size_bytes: API_DOCS.maxBodyBytes }),
    virtual_hosts: [
      {
        name: 'gateway',
        domains: ['*'],
        typed_per_filter_config: { [FILTER.cors]: corsPolicy(corsAllowedOrigins) },
        routes: [
          {
            name: 'healthz',
            match: exactMatch(HEALTH_ENDPOINT),
            direct_response: { status: 200, body: { inline_string: JSON.stringify(HEALTH_ENDPOINT.body) } },
          },
          ...(apiDocsDirectory === undefined
            ? []
            : API_DOCS.endpoints.map((endpoint) => staticRoute(endpoint, apiDocsDirectory))),
          {
            name: 'auth-login',
            match: exactMatch(LOGIN_ENDPOINT),
            route: routeAction('auth-service'),
            typed_per_filter_config: { [FILTER.localRateLimit]: loginRateLimit(rateLimits) },
          },
          ...SERVICE_ROUTES.map((route) => ({
            name: route.name,
            match: { path_separated_prefix: route.pathPrefix },
            route: routeAction(route.service),
          })),
        ],
      },
    ],
  };
}

function rateLimitBase(statPrefix: string, bucket: TokenBucket): JsonObject {
  const always = (runtimeKey: string): JsonObject => ({
    default_value: { numerator: 100, denominator: 'HUNDRED' },
    runtime_key: runtimeKey,
  });
  return {
    '@type': TYPE.localRateLimit,
    stat_prefix: statPrefix,
    token_bucket: tokenBucket(bucket),
    filter_enabled: always(`${statPrefix}_rate_limit_enabled`),
    filter_enforced: always(`${statPrefix}_rate_limit_enforced`),
    enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
  };
}

function gatewayRateLimit(bucket: TokenBucket): JsonObject {
  return rateLimitBase('gateway', bucket);
}

/**
 * The login route's own limiter (it replaces the listener-wide one on that route): a wildcard
 * `remote_address` descriptor makes Envoy keep one bucket per client address (up to
 * `loginTrackedClients`, least recently seen evicted), and the default bucket stays a route-wide cap.
 */
function loginRateLimit(rateLimits: RateLimitPolicy): JsonObject {
  return {
    ...rateLimitBase('login', rateLimits.gateway),
    descriptors: [
      { entries: [{ key: 'remote_address' }], token_bucket: tokenBucket(rateLimits.loginPerClient) },
    ],
    rate_limits: [{ actions: [{ remote_address: {} }] }],
    max_dynamic_descriptors: rateLimits.loginTrackedClients,
    always_consume_default_token_bucket: true,
  };
}

function localReplyConfig(apiDocs: boolean): JsonObject {
  const statusIs = (status: number): JsonObject => ({
    status_code_filter: {
      comparison: {
        op: 'EQ',
        value: { default_value: status, runtime_key: `gateway_local_reply_${status}` },
      },
    },
  });
  const problem401 = LOCAL_REPLY_PROBLEMS.find((problem) => problem.status === 401)!;
  return {
    mappers: [
      // The API reference's files are direct responses too: each keeps its body, with its content type.
      ...(apiDocs ? API_DOCS.endpoints : []).map((endpoint) => ({
        filter: {
          extension_filter: {
            name: 'envoy.access_loggers.extension_filters.cel',
            typed_config: {
              '@type': TYPE.celFilter,
              expression: `request.url_path == '${endpoint.path}' && response.code == 200`,
            },
          },
        },
        body_format_override: {
          text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' },
          content_type: endpoint.contentType,
        },
      })),
      // Direct responses that succeed (/healthz) are local replies too; they keep their own body.
      {
        filter: {
          status_code_filter: {
            comparison: {
              op: 'LE',
              value: { default_value: 399, runtime_key: 'gateway_local_reply_success' },
            },
          },
        },
        body_format_override: {
          text_format_source: { inline_string: '%LOCAL_REPLY_BODY%' },
          content_type: 'application/json',
        },
      },
      // jwt_authn answers 403 for a token minted for another audience. For this gateway that token is
      // as invalid as any other (RFC 6750 `invalid_token`), so every jwt_authn refusal is a 401.
      {
        filter: {
          extension_filter: {
            name: 'envoy.access_loggers.extension_filters.cel',
            typed_config: {
              '@type': TYPE.celFilter,
              expression: "response.code_details.startsWith('jwt_authn_access_denied')",
            },
          },
        },
        status_code: 401,
        body_format_override: problemFormat(problem401),
      },
      // A circuit breaker refused it (upstream overflow): say when to come back.
      {
        filter: { response_flag_filter: { flags: ['UO'] } },
        headers_to_add: [
          {
            header: { key: 'retry-after', value: String(OVERLOADED_PROBLEM.retryAfterSeconds) },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
        body_format_override: problemFormat(OVERLOADED_PROBLEM),
      },
      ...LOCAL_REPLY_PROBLEMS.map((problem) => ({
        filter: statusIs(problem.status),
        body_format_override: problemFormat(problem),
      })),
    ],
    body_format: problemFormat(DEFAULT_LOCAL_REPLY_PROBLEM),
  };
}

function problemFormat(problem: Omit<LocalReplyProblem, 'status'> & { status?: number }): JsonObject {
  return {
    json_format: {
      type: `${PROBLEM_TYPE_PREFIX}${problem.code}`,
      title: problem.title,
      status: problem.status ?? '%RESPONSE_CODE%',
      detail: problem.detail ?? '%LOCAL_REPLY_BODY%',
      code: problem.code,
      request_id: `%REQ(${REQUEST_ID_HEADER.toUpperCase()})%`,
    },
    content_type: 'application/problem+json',
  };
}

/**
 * OpenTelemetry tracing: Envoy continues the client's W3C `traceparent` or starts a trace, sends its span
 * to the collector over OTLP/HTTP, and forwards the trace context to the service it routes to.
 */
function tracing(collector: Upstream): JsonObject {
  return {
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': TYPE.openTelemetry,
        service_name: 'gateway',
        http_service: {
          http_uri: {
            uri: `http://${hostForUri(collector.host)}:${collector.port}/v1/traces`,
            cluster: OTLP_COLLECTOR_CLUSTER,
            timeout: duration(OTLP_EXPORT_TIMEOUT_MS),
          },
        },
      },
    },
  };
}

function collectorCluster(collector: Upstream, target: RenderTarget): JsonObject {
  return {
    name: OTLP_COLLECTOR_CLUSTER,
    type: target.upstreamDiscovery,
    ...(target.upstreamDiscovery === 'STRICT_DNS' ? { dns_lookup_family: 'V4_PREFERRED' } : {}),
    connect_timeout: duration(TIMEOUTS.upstreamConnectMs),
    lb_policy: 'ROUND_ROBIN',
    load_assignment: loadAssignment(OTLP_COLLECTOR_CLUSTER, collector),
  };
}

/** A cluster's one endpoint. */
function loadAssignment(clusterName: string, ...endpoints: { host: string; port: number }[]): JsonObject {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        lb_endpoints: endpoints.map((endpoint) => ({
          endpoint: { address: socketAddress({ address: endpoint.host, port: endpoint.port }) },
        })),
      },
    ],
  };
}

function accessLog(traced: boolean): JsonObject {
  return {
    name: 'envoy.access_loggers.stdout',
    typed_config: {
      '@type': TYPE.stdoutLog,
      log_format: {
        json_format: {
          time: '%START_TIME%',
          service_name: 'gateway',
          request_id: `%REQ(${REQUEST_ID_HEADER.toUpperCase()})%`,
          method: '%REQ(:METHOD)%',
          path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
          protocol: '%PROTOCOL%',
          status: '%RESPONSE_CODE%',
          response_code_details: '%RESPONSE_CODE_DETAILS%',
          response_flags: '%RESPONSE_FLAGS%',
          duration_ms: '%DURATION%',
          upstream_service_time_ms: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
          upstream_cluster: '%UPSTREAM_CLUSTER%',
          upstream_host: '%UPSTREAM_HOST%',
          client_address: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
          user_agent: '%REQ(USER-AGENT)%',
          authority: '%REQ(:AUTHORITY)%',
          bytes_received: '%BYTES_RECEIVED%',
          bytes_sent: '%BYTES_SENT%',
          user_sub: '%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:jwt_payload:sub)%',
          traceparent: '%REQ(TRACEPARENT)%',
          ...(traced ? { trace_id: '%TRACE_ID%' } : {}),
        },
      },
    },
  };
}

function cluster(name: ServiceName, target: RenderTarget): JsonObject {
  const upstream = upstreamOf(target, name);
  return {
    name,
    type: target.upstreamDiscovery,
    ...(target.upstreamDiscovery === 'STRICT_DNS' ? { dns_lookup_family: 'V4_PREFERRED' } : {}),
    connect_timeout: duration(TIMEOUTS.upstreamConnectMs),
    lb_policy: 'ROUND_ROBIN',
    per_connection_buffer_limit_bytes: CONNECTION_BUFFER_LIMIT_BYTES,
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TYPE.httpProtocolOptions,
        common_http_protocol_options: { idle_timeout: duration(TIMEOUTS.upstreamIdleMs) },
        explicit_http_config: { http_protocol_options: {} },
      },
    },
    load_assignment: loadAssignment(name, upstream, ...(target.replicas?.[name] ?? [])),
    circuit_breakers: circuitBreakers({ ...UPSTREAM_LIMITS, ...target.upstreamLimits }),
    ...(target.healthChecks
      ? {
          health_checks: [
            {
              timeout: duration(HEALTH_CHECK.timeoutMs),
              interval: duration(HEALTH_CHECK.intervalMs),
              no_traffic_interval: duration(HEALTH_CHECK.noTrafficIntervalMs),
              unhealthy_threshold: HEALTH_CHECK.unhealthyThreshold,
              healthy_threshold: HEALTH_CHECK.healthyThreshold,
              http_health_check: { path: HEALTH_CHECK.path },
            },
          ],
        }
      : {}),
  };
}

function circuitBreakers(limits: UpstreamLimits): JsonObject {
  return {
    thresholds: [
      {
        priority: 'DEFAULT',
        max_connections: limits.maxConnections,
        max_pending_requests: limits.maxPendingRequests,
        max_requests: limits.maxRequests,
        max_retries: limits.maxRetries,
      },
    ],
    // Envoy supports only max_connections per host.
    per_host_thresholds: [{ priority: 'DEFAULT', max_connections: limits.maxConnectionsPerHost }],
  };
}

function exactMatch(endpoint: Endpoint): JsonObject {
  return {
    path: endpoint.path,
    headers: [{ name: ':method', string_match: { exact: endpoint.method } }],
  };
}

function tokenBucket(bucket: TokenBucket): JsonObject {
  return {
    max_tokens: bucket.maxTokens,
    tokens_per_fill: bucket.tokensPerFill,
    fill_interval: duration(bucket.fillIntervalSeconds * 1000),
  };
}

function socketAddress(address: SocketAddress): JsonObject {
  return { socket_address: { address: address.address, port_value: address.port } };
}

/** Protobuf JSON duration ("1.5s"). */
function duration(ms: number): string {
  return `${ms / 1000}s`;
}

function hostForUri(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function mergeRateLimits(overrides: RateLimitOverrides | undefined): RateLimitPolicy {
  return checkRateLimits({
    gateway: { ...RATE_LIMITS.gateway, ...overrides?.gateway },
    loginPerClient: { ...RATE_LIMITS.loginPerClient, ...overrides?.loginPerClient },
    loginTrackedClients: overrides?.loginTrackedClients ?? RATE_LIMITS.loginTrackedClients,
  });
}

function checkTarget(target: RenderTarget): void {
  const checkPort = (what: string, port: number): void => {
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw new Error(`${what} port ${port} is not a TCP port`);
  };
  checkPort('listener', target.listener.port);
  checkPort('admin', target.admin.port);
  if (target.ops) {
    checkPort('ops', target.ops.port);
    if (target.ops.port === target.listener.port || target.ops.port === target.admin.port) {
      throw new Error(`ops port ${target.ops.port} collides with the listener or admin port`);
    }
  }
  for (const service of SERVICES) {
    const upstream = upstreamOf(target, service.name);
    checkPort(service.name, upstream.port);
    if (target.upstreamDiscovery === 'STATIC' && isIP(upstream.host) === 0) {
      throw new Error(
        `${service.name} host "${upstream.host}" is not an IP address, which STATIC discovery needs`,
      );
    }
  }
  if (target.otlpCollector) {
    checkPort('OTLP collector', target.otlpCollector.port);
    if (target.upstreamDiscovery === 'STATIC' && isIP(target.otlpCollector.host) === 0) {
      throw new Error(
        `OTLP collector host "${target.otlpCollector.host}" is not an IP address, which STATIC discovery needs`,
      );
    }
  }
  if (!target.issuer || !target.audience) throw new Error('issuer and audience must not be empty');
}

function checkRateLimits(policy: RateLimitPolicy): RateLimitPolicy {
  for (const [name, bucket] of [
    ['gateway', policy.gateway],
    ['loginPerClient', policy.loginPerClient],
  ] as const) {
    if (!Number.isInteger(bucket.maxTokens) || bucket.maxTokens < 1)
      throw new Error(`${name}.maxTokens must be a positive integer`);
    if (!Number.isInteger(bucket.tokensPerFill) || bucket.tokensPerFill < 1) {
      throw new Error(`${name}.tokensPerFill must be a positive integer`);
    }
    // Envoy's floor for a refill interval.
    if (!(bucket.fillIntervalSeconds >= 0.05))
      throw new Error(`${name}.fillIntervalSeconds must be at least 0.05`);
  }
  if (!Number.isInteger(policy.loginTrackedClients) || policy.loginTrackedClients < 1) {
    throw new Error('loginTrackedClients must be a positive integer');
  }
  return policy;
}

/** Where a registered service is reached on this target; every service of the registry must have one. */
function upstreamOf(target: RenderTarget, name: ServiceName): Upstream {
  const upstream = target.upstreams[name];
  if (!upstream) throw new Error(`the render target has no upstream for ${name}`);
  return upstream;
}
