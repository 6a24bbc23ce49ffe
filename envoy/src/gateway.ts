/**
 * The gateway's routes and policies as plain data. This is the one place they are decided: the Envoy
 * bootstrap for local processes and for Kubernetes is rendered from it (render-envoy-config.ts), and the
 * Helm chart renders the same data, so nothing here may be Envoy-specific syntax. Which services there are
 * comes from services/registry.json (service-registry.ts).
 */
import { SERVICE_REGISTRY } from './service-registry.ts';

/** The services behind the gateway, by their deployment name (services/registry.json). */
export type ServiceName = string;

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** A service the gateway forwards to. */
export interface GatewayService {
  readonly name: ServiceName;
  /** Where it listens when run as a local process. */
  readonly localPort: number;
  /** Where it listens inside its container. */
  readonly containerPort: number;
}

/** Every container of the platform's services listens here. */
export const CONTAINER_PORT = 8080;

/** Every service reachable through the gateway, in the registry's order (the order clusters are rendered in). */
export const SERVICES: readonly GatewayService[] = SERVICE_REGISTRY.map((service) => ({
  name: service.name,
  localPort: service.port,
  containerPort: CONTAINER_PORT,
}));

/**
 * The gateway's own ports. The admin interface is bound to loopback only: it can stop Envoy. In a container
 * the `ops` listener publishes the two admin pages others need (metrics and readiness), and nothing else.
 */
export const GATEWAY_PORTS = {
  listener: 8080,
  admin: 9901,
  adminAddress: '127.0.0.1',
  ops: 9902,
} as const;

/**
 * TLS at the gateway (off by default: TLS usually ends in front of it, at an ingress or a load balancer).
 * The chart mounts a `kubernetes.io/tls` Secret here when `tls.enabled` is set; the listener then speaks
 * only TLS 1.2 or later, with HTTP/2 and HTTP/1.1 offered by ALPN.
 */
export const GATEWAY_TLS = {
  certificateFile: '/etc/envoy-tls/tls.crt',
  privateKeyFile: '/etc/envoy-tls/tls.key',
  minimumVersion: 'TLSv1_2',
  alpnProtocols: ['h2', 'http/1.1'],
} as const;

/** The admin pages the ops listener forwards (exact paths, GET only). */
export const OPS_ENDPOINTS = {
  metrics: { method: 'GET', path: '/stats/prometheus' },
  ready: { method: 'GET', path: '/ready' },
} as const satisfies Record<string, Endpoint>;

/**
 * A route to a service. `pathPrefix` matches whole path segments (`/v1/users` matches `/v1/users` and
 * `/v1/users/42`, never `/v1/usersX`), and the path is forwarded unchanged: every service serves its full
 * public paths, so a request means the same through the gateway and on the service's own port.
 */
export interface ServiceRoute {
  readonly name: string;
  readonly pathPrefix: string;
  readonly service: ServiceName;
}

/** Everything the gateway forwards. Any other path (including `/internal/...`) is answered 404 by Envoy. */
export const SERVICE_ROUTES: readonly ServiceRoute[] = SERVICE_REGISTRY.flatMap((service) =>
  service.routes.map((route) => ({ name: route.name, pathPrefix: route.pathPrefix, service: service.name })),
);

/** One exact method and path. */
export interface Endpoint {
  readonly method: HttpMethod;
  readonly path: string;
}

/** The gateway's own liveness endpoint, answered by Envoy without calling any service. */
export const HEALTH_ENDPOINT = {
  method: 'GET',
  path: '/healthz',
  body: { status: 'ok', service: 'gateway' },
} as const satisfies Endpoint & { body: unknown };

/** Where clients log in; it needs no token and is rate limited per client address. */
export const LOGIN_ENDPOINT: Endpoint = { method: 'POST', path: '/v1/auth/login' };

/** Where clients fetch the public signing keys through the gateway. */
export const PUBLIC_JWKS_ENDPOINT: Endpoint = { method: 'GET', path: '/v1/auth/.well-known/jwks.json' };

/** A file the gateway answers itself: from the API reference's directory, or written here. */
export interface StaticEndpoint extends Endpoint {
  readonly name: string;
  readonly contentType: string;
  /** A file in API_DOCS' directory (`gzip`: stored compressed, answered with `Content-Encoding: gzip`). */
  readonly body: { readonly file: string; readonly gzip: boolean } | { readonly inline: string };
  /** `Cache-Control`; the edge's `no-store` when absent. */
  readonly cacheControl?: string;
  /** `Content-Security-Policy` of a page. */
  readonly contentSecurityPolicy?: string;
}

/** The page's script: Swagger UI over the merged document (relative, so a path prefix in front works). */
const API_DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#api-docs',
  deepLinking: true,
  docExpansion: 'list',
  validatorUrl: null,
});
`;

const API_DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>microservices-reference-platform API</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="docs/swagger-ui.css" />
  </head>
  <body>
    <div id="api-docs"></div>
    <script src="docs/swagger-ui-bundle.js"></script>
    <script src="docs/init.js"></script>
  </body>
</html>
`;

/**
 * The API reference, served by Envoy itself without a token (ADR 0024): `/openapi.json` is one document
 * merged from every service's (api-docs.ts; `make api-docs` writes it, a test keeps it current), `/docs` a
 * Swagger UI page over it, whose script and styles come from the npm package `swagger-ui-dist`, stored
 * gzip-compressed (the bundle is 1.7 MB, 0.46 MB compressed). Nothing is fetched from another origin: the
 * page's policy allows only the gateway itself.
 */
export const API_DOCS = {
  /** Where the files are, from the repository root (the gateway chart's files: its ConfigMap holds them). */
  repositoryDirectory: 'charts/gateway/files/docs',
  /** Where the gateway in a container finds them. */
  containerDirectory: '/etc/envoy-docs',
  /** The merged document, committed (the assets beside it are copied from npm when missing). */
  document: 'openapi.json',
  /** Copied from `swagger-ui-dist` and compressed by scripts/toolchain.sh (api-docs.ts). */
  assets: { 'swagger-ui-bundle.js.gz': 'swagger-ui-bundle.js', 'swagger-ui.css.gz': 'swagger-ui.css' },
  /** Envoy refuses a direct response larger than this (its default is 4 KiB). */
  maxBodyBytes: 1_048_576,
  endpoints: [
    {
      name: 'openapi',
      method: 'GET',
      path: '/openapi.json',
      contentType: 'application/json',
      body: { file: 'openapi.json', gzip: false },
      cacheControl: 'no-cache',
    },
    {
      name: 'docs',
      method: 'GET',
      path: '/docs',
      contentType: 'text/html; charset=utf-8',
      body: { inline: API_DOCS_PAGE },
      cacheControl: 'no-cache',
      // Swagger UI sets inline styles; everything else comes from this origin.
      contentSecurityPolicy:
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    },
    {
      name: 'docs-init',
      method: 'GET',
      path: '/docs/init.js',
      contentType: 'text/javascript; charset=utf-8',
      body: { inline: API_DOCS_INIT },
      cacheControl: 'no-cache',
    },
    {
      name: 'docs-bundle',
      method: 'GET',
      path: '/docs/swagger-ui-bundle.js',
      contentType: 'text/javascript; charset=utf-8',
      body: { file: 'swagger-ui-bundle.js.gz', gzip: true },
      cacheControl: 'public, max-age=86400',
    },
    {
      name: 'docs-styles',
      method: 'GET',
      path: '/docs/swagger-ui.css',
      contentType: 'text/css; charset=utf-8',
      body: { file: 'swagger-ui.css.gz', gzip: true },
      cacheControl: 'public, max-age=86400',
    },
  ] satisfies StaticEndpoint[],
} as const;

/**
 * The only requests that reach a service without a verified token (and the API reference, where the
 * gateway serves one). Everything else, including paths no route matches, must carry a valid token first
 * (deny by default).
 */
export const PUBLIC_ENDPOINTS: readonly Endpoint[] = [HEALTH_ENDPOINT, LOGIN_ENDPOINT, PUBLIC_JWKS_ENDPOINT];

/** How the gateway verifies access tokens. */
export const JWT_POLICY = {
  /** Names the provider in Envoy's config and stats. */
  providerName: 'mrp-auth',
  defaultIssuer: 'mrp-auth',
  defaultAudience: 'mrp-platform',
  /**
   * The only algorithm auth-service signs with. Envoy has no allow-list: it refuses `none` and any
   * algorithm the JWKS key (EC P-256, `alg: ES256`) cannot verify, which leaves exactly this one.
   */
  algorithm: 'ES256',
  /** Envoy fetches the keys from auth-service directly (not through its own listener). */
  jwksService: 'auth-service' satisfies ServiceName,
  jwksPath: '/.well-known/jwks.json',
  jwksFetchTimeoutMs: 1000,
  /**
   * Keys are cached this long, then refetched in the background. Envoy does not refetch when a token
   * names an unknown `kid`, so a rotated-in key must be published at least this long before use.
   */
  jwksCacheSeconds: 300,
  /** After a failed fetch (auth-service not up yet), try again this soon. */
  jwksFailedRefetchMs: 1000,
  /**
   * Tokens Envoy remembers as verified (per worker thread, least recently used out), each until its own
   * `exp`: a client's next request with the same token skips the ES256 check. The cache is not emptied
   * when the key set changes; the services verify every token again against the current keys (ADR 0016).
   */
  verifiedTokenCacheSize: 1000,
  tokenHeader: 'authorization',
  tokenPrefix: 'Bearer ',
  clockSkewSeconds: 30,
  /** The verified claims, base64url-encoded JSON, as Envoy forwards them to services. */
  payloadHeader: 'x-jwt-payload',
} as const;

/**
 * Headers on every answer of the gateway: browsers must not guess a content type (a problem+json body is
 * never HTML), and nothing an API answers is cached by a browser or proxy unless the service said so
 * (`onlyIfAbsent`: the JWKS keeps its own `Cache-Control`).
 */
export const EDGE_RESPONSE_HEADERS: Readonly<Record<string, { value: string; onlyIfAbsent: boolean }>> = {
  'x-content-type-options': { value: 'nosniff', onlyIfAbsent: false },
  'cache-control': { value: 'no-store', onlyIfAbsent: true },
};

/**
 * Cross-origin requests from browsers (CORS), answered at the edge. Off by default: no origin is allowed
 * unless a deployment lists it (the gateway chart's `cors.allowedOrigins`, `RenderTarget.corsAllowedOrigins`),
 * and then only exact origins. A preflight from an allowed origin is answered by Envoy without a token; any
 * other origin gets no `Access-Control-*` header, so the browser keeps the answer from the page. Credentials
 * (cookies) are never allowed: the API takes bearer tokens.
 */
export const CORS_POLICY = {
  allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'] satisfies HttpMethod[],
  allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
  exposeHeaders: [
    'x-request-id',
    'location',
    'retry-after',
    'idempotent-replayed',
    'x-ratelimit-limit',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
  ],
  /** How long a browser may reuse a preflight's answer. */
  maxAgeSeconds: 600,
} as const;

/**
 * Identity headers a client could send to impersonate someone, stripped at the edge before the token is
 * verified so that the only identity a service sees is the one Envoy verified (`x-jwt-payload`) or the
 * token itself.
 */
export const STRIPPED_IDENTITY_HEADERS: readonly string[] = [
  JWT_POLICY.payloadHeader,
  'x-jwt-claims',
  'x-user',
  'x-user-id',
  'x-user-email',
  'x-user-name',
  'x-user-roles',
  'x-user-role',
  'x-roles',
  'x-principal',
  'x-subject',
  'x-auth-user',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-remote-user',
  'x-remote-group',
  'remote-user',
  'x-authenticated-user',
  'x-authenticated-userid',
  'x-consumer-id',
  'x-consumer-username',
];

/** A token bucket: `maxTokens` burst, refilled with `tokensPerFill` every `fillIntervalSeconds`. */
export interface TokenBucket {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalSeconds: number;
}

export interface RateLimitPolicy {
  /** Shared by all clients of one gateway instance; a backstop against floods, not a fairness tool. */
  readonly gateway: TokenBucket;
  /** One bucket per client address on the login endpoint, against password guessing. */
  readonly loginPerClient: TokenBucket;
  /** How many client addresses the login limiter tracks at once (least recently seen are forgotten). */
  readonly loginTrackedClients: number;
}

export const RATE_LIMITS: RateLimitPolicy = {
  // Well above what one instance serves, so it only ever cuts floods (a 2-core dev box serves ~1,200 req/s).
  gateway: { maxTokens: 20_000, tokensPerFill: 10_000, fillIntervalSeconds: 1 },
  loginPerClient: { maxTokens: 20, tokensPerFill: 20, fillIntervalSeconds: 60 },
  loginTrackedClients: 10_000,
};

/** Time limits at the edge. */
export const TIMEOUTS = {
  upstreamConnectMs: 1000,
  /** Whole request to a service, including its retries and its calls to other services. */
  routeMs: 15_000,
  /** A client has this long to send its request headers. */
  requestHeadersMs: 10_000,
  streamIdleMs: 60_000,
  connectionIdleMs: 300_000,
  /**
   * Envoy drops an idle upstream connection before the service does: Node closes idle keep-alive
   * connections after 5 s, and a request sent on a connection the service is closing fails with a 503.
   */
  upstreamIdleMs: 4000,
} as const;

/**
 * Retries only where the service cannot have seen the request (no connection, or reset before a byte
 * was sent), so retrying a POST is safe; anything later is the service's answer and passes through.
 */
export const UPSTREAM_RETRY = {
  retryOn: ['connect-failure', 'reset-before-request'],
  numRetries: 1,
} as const;

/**
 * The local gateway's active health check of each service instance: an instance whose `/readyz` fails
 * (it is stopping, or its database is gone) gets no new requests until it passes again. With every
 * instance failing, Envoy's panic mode sends to all of them anyway, so a shared outage still gets the
 * services' own 503 answers.
 */
export const HEALTH_CHECK = {
  path: '/readyz',
  intervalMs: 1000,
  timeoutMs: 1000,
  unhealthyThreshold: 1,
  healthyThreshold: 1,
  /** Between checks while a service gets no traffic (Envoy's default is a minute). */
  noTrafficIntervalMs: 5000,
} as const;

/**
 * Per service, what the gateway lets through at once (Envoy's circuit breakers on each cluster): past
 * them Envoy answers 503 `overloaded` with `Retry-After` at once instead of queueing. Each instance of a
 * service gets at most `maxConnectionsPerHost` requests at a time (HTTP/1.1: one per connection): a few
 * times what one Node process needs to run at its full rate (`make bench` saturates case-service with
 * about ten), and far below what a service admits itself (HTTP_MAX_IN_FLIGHT, 256), because a refusal at
 * the gateway costs the service nothing while one in the service still costs it the request's parsing,
 * logging and answer. What waits for a connection is bounded by `maxPendingRequests`, so an admitted
 * request waits about (per-host limit + pending) ÷ throughput at most (ADR 0022).
 */
export interface UpstreamLimits {
  /** Connections to one instance of the service (HTTP/1.1: requests in progress); Envoy's per-host threshold. */
  readonly maxConnectionsPerHost: number;
  /** Connections to all the instances of the service together. */
  readonly maxConnections: number;
  /** Requests waiting for a connection, across the service's instances. */
  readonly maxPendingRequests: number;
  /** Requests in progress (multiplexed protocols). */
  readonly maxRequests: number;
  /** Retries in progress. */
  readonly maxRetries: number;
}

export const UPSTREAM_LIMITS: UpstreamLimits = {
  maxConnectionsPerHost: 32,
  maxConnections: 1024,
  maxPendingRequests: 32,
  maxRequests: 1024,
  maxRetries: 16,
};

/** The local reply for a request refused by those limits (response flag UO), with its Retry-After. */
export const OVERLOADED_PROBLEM = {
  status: 503,
  code: 'overloaded',
  title: 'The gateway is overloaded',
  detail: 'too many requests to this service are in progress; retry after the delay in Retry-After',
  retryAfterSeconds: 1,
} as const;

export const LIMITS = {
  /** Generous for a bearer token and cookies, small enough to refuse header-stuffing. */
  maxRequestHeadersKb: 32,
} as const;

/**
 * The RFC 9457 problem Envoy answers for one status of its own (local) replies. `code` and `type`
 * follow the services' scheme (`urn:problem-type:mrp:<code>`), so a client handles an error the same
 * whichever side produced it.
 */
export interface LocalReplyProblem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  /** Fixed detail; without it, Envoy's own reason (e.g. "Jwt is expired") is the detail. */
  readonly detail?: string;
}

export const PROBLEM_TYPE_PREFIX = 'urn:problem-type:mrp:';

export const LOCAL_REPLY_PROBLEMS: readonly LocalReplyProblem[] = [
  {
    status: 400,
    code: 'bad_request',
    title: 'The request is not valid',
    detail: 'the request could not be parsed, or its path contains an encoded slash',
  },
  { status: 401, code: 'unauthorized', title: 'Authentication is required' },
  { status: 403, code: 'forbidden', title: 'Not allowed' },
  {
    status: 404,
    code: 'not_found',
    title: 'Not found',
    detail: 'no gateway route matches this method and path',
  },
  {
    status: 408,
    code: 'request_timeout',
    title: 'The request took too long to arrive',
    detail: 'the request was not received in time',
  },
  {
    status: 413,
    code: 'payload_too_large',
    title: 'The request body is too large',
    detail: 'the request body exceeds what the gateway buffers',
  },
  {
    status: 429,
    code: 'rate_limited',
    title: 'Too many requests',
    detail: 'the rate limit was exceeded; retry later',
  },
  {
    status: 431,
    code: 'headers_too_large',
    title: 'The request headers are too large',
    detail: `the request headers exceed ${LIMITS.maxRequestHeadersKb} KiB`,
  },
  { status: 502, code: 'bad_gateway', title: 'Bad gateway', detail: 'the upstream service answered badly' },
  {
    status: 503,
    code: 'service_unavailable',
    title: 'Service unavailable',
    detail: 'the upstream service is unavailable; retry later',
  },
  {
    status: 504,
    code: 'upstream_timeout',
    title: 'Upstream timeout',
    detail: 'the upstream service did not answer in time',
  },
];

/** For local replies with a status not listed above. */
export const DEFAULT_LOCAL_REPLY_PROBLEM: Omit<LocalReplyProblem, 'status'> = {
  code: 'gateway_error',
  title: 'The gateway could not handle the request',
};

/** The request ID header: generated when absent, kept when sent, returned on every response. */
export const REQUEST_ID_HEADER = 'x-request-id';
