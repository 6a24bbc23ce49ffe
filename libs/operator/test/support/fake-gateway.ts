import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGatewayOptions {
  /** The admin's password (default admin123, the seeded dev user's). */
  readonly password?: string;
  /** Audit queries that list nothing before the case_created event shows up (default 0). */
  readonly auditLag?: number;
  /** Idempotent replays forget the Idempotent-Replayed header (a regression to catch). */
  readonly forgetReplayHeader?: boolean;
  /** Logins answered 503 temporarily_unavailable with Retry-After: 0 before one succeeds (default 0). */
  readonly loginUnavailable?: number;
}

/**
 * A stand-in for the platform behind Envoy, with the seed flow's contract and nothing more: login,
 * a 401 problem without a token, create user, create case with idempotency keys, and the audit log.
 * It lets the smoke's runner be tested without Postgres, Redis or Envoy (the e2e test uses the real ones).
 */
export class FakeGateway {
  /** `METHOD /path` of every request, in order. */
  readonly calls: string[] = [];
  private readonly server: Server;
  private readonly token = `token-${randomUUID()}`;
  private readonly cases = new Map<string, { body: string; answer: object }>();
  private auditQueries = 0;
  private logins = 0;
  private readonly options: FakeGatewayOptions;

  private constructor(options: FakeGatewayOptions) {
    this.options = options;
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  static async start(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
    const gateway = new FakeGateway(options);
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    return gateway;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const requestId = randomUUID();
    const reply = this.reply(req, Buffer.concat(chunks).toString('utf8'), requestId);
    res.writeHead(reply.status, {
      'content-type': reply.type ?? 'application/json',
      'x-request-id': requestId,
      ...reply.headers,
    });
    res.end(JSON.stringify(reply.body));
  }

  private reply(req: IncomingMessage, body: string, requestId: string): Reply {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    this.calls.push(route);
    const problem = (status: number, code: string, title: string, detail: string): Reply => ({
      status,
      type: 'application/problem+json',
      body: { type: `urn:problem-type:mrp:${code}`, title, status, detail, code, request_id: requestId },
    });

    if (route === 'GET /healthz') return { status: 200, body: { status: 'ok', service: 'gateway' } };
    if (route === 'POST /v1/auth/login') {
      this.logins += 1;
      if (this.logins <= (this.options.loginUnavailable ?? 0))
        return {
          status: 503,
          headers: { 'retry-after': '0' },
          body: {
            error: 'temporarily_unavailable',
            error_description: 'token issuing is temporarily unavailable, try again shortly',
          },
        };
      const form = new URLSearchParams(body);
      if (
        form.get('username') !== 'admin@example.com' ||
        form.get('password') !== (this.options.password ?? 'admin123')
      )
        return {
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'the username or password is wrong',
            type: 'urn:problem-type:mrp:oauth:invalid_grant',
            title: 'The token request was refused',
            status: 400,
            request_id: requestId,
          },
        };
      return { status: 200, body: { access_token: this.token, token_type: 'Bearer', expires_in: 900 } };
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return problem(401, 'unauthorized', 'Authentication is required', 'Jwt is missing');

    if (route === 'POST /v1/users')
      return { status: 201, body: { id: randomUUID(), ...(JSON.parse(body) as object) } };
    if (route === 'POST /v1/cases') {
      const key = req.headers['idempotency-key'];
      const known = typeof key === 'string' ? this.cases.get(key) : undefined;
      if (known) {
        if (known.body !== body) return problem(422, 'idempotency_key_reused', 'Key reused', 'another body');
        const headers: Record<string, string> = this.options.forgetReplayHeader
          ? {}
          : { 'idempotent-replayed': 'true' };
        return { status: 201, body: known.answer, headers };
      }
      const answer = { id: randomUUID(), ...(JSON.parse(body) as object), status: 'SCORED', score: 0.42 };
      if (typeof key === 'string') this.cases.set(key, { body, answer });
      return { status: 201, body: answer };
    }
    if (route === 'GET /v1/audit') {
      this.auditQueries += 1;
      const caseId = url.searchParams.get('case_id');
      const listed = this.auditQueries > (this.options.auditLag ?? 0);
      const items =
        listed && caseId ? [{ id: randomUUID(), type: 'case_created', subject: `case:${caseId}` }] : [];
      return { status: 200, body: { items, next_cursor: null } };
    }
    return problem(404, 'not_found', 'Not found', 'no gateway route matches this method and path');
  }
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly type?: string;
  readonly headers?: Readonly<Record<string, string>>;
}
