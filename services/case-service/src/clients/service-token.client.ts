import { errors, httpRequest, type HttpResponse } from '@mrp/platform';

export interface ServiceTokenOptions {
  /** auth-service's internal token endpoint. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs: number;
}

/**
 * case-service's own token, from auth-service's client credentials grant: the only token it calls
 * scoring-service with (creating a case as well as re-scoring), since scoring a case is for the service
 * role alone. Cached and renewed at half its lifetime; concurrent callers share one request.
 */
export class ServiceTokenClient {
  readonly #options: ServiceTokenOptions;
  #cached: { token: string; renewAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: ServiceTokenOptions) {
    this.#options = options;
  }

  async token(): Promise<string> {
    if (this.#cached && Date.now() < this.#cached.renewAt) return this.#cached.token;
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetch(): Promise<string> {
    const now = Date.now();
    let response: HttpResponse;
    try {
      response = await httpRequest(this.#options.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.#options.clientId,
          client_secret: this.#options.clientSecret,
        }).toString(),
        timeoutMs: this.#options.timeoutMs,
      });
    } catch (error) {
      throw errors.unavailable('auth-service cannot be reached for a service token', error);
    }
    if (!response.ok) throw errors.unavailable(`auth-service refused a service token (${response.status})`);
    const body = response.json() as { access_token: string; expires_in: number };
    this.#cached = { token: body.access_token, renewAt: now + (body.expires_in * 1000) / 2 };
    return body.access_token;
  }
}
