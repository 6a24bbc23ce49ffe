import { errors, httpRequest, type HttpResponse } from '@mrp/platform';
import type { VerifiedIdentity } from '@mrp/schemas';
import type { TokenIssuer } from '../domain/token-issuer.ts';

export interface UserDirectoryOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly serviceName: string;
}

/** auth-service's view of user-service: the internal credential check, called with a service token. */
export class UserDirectoryClient {
  readonly #options: UserDirectoryOptions;
  readonly #tokens: TokenIssuer;
  #cached: { token: string; renewAt: number } | undefined;

  constructor(tokens: TokenIssuer, options: UserDirectoryOptions) {
    this.#tokens = tokens;
    this.#options = options;
  }

  async #serviceToken(): Promise<string> {
    const now = Date.now();
    if (!this.#cached || now >= this.#cached.renewAt) {
      const issued = await this.#tokens.issueServiceToken(this.#options.serviceName);
      // Renew at half-life so a token never expires in flight.
      this.#cached = { token: issued.token, renewAt: now + (issued.expiresIn * 1000) / 2 };
    }
    return this.#cached.token;
  }

  /** The identity behind the credentials, `undefined` when they match no user; throws 503 when user-service cannot answer. */
  async verifyCredentials(
    email: string,
    password: string,
    requestId: string,
  ): Promise<VerifiedIdentity | undefined> {
    let response: HttpResponse;
    try {
      response = await httpRequest(new URL('/internal/v1/credentials/verify', this.#options.baseUrl), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await this.#serviceToken()}`,
          'content-type': 'application/json',
          'x-request-id': requestId,
        },
        body: JSON.stringify({ email, password }),
        timeoutMs: this.#options.timeoutMs,
      });
    } catch (error) {
      throw errors.unavailable('the user directory cannot be reached', error);
    }
    if (response.status === 200) return response.json() as VerifiedIdentity;
    const problem = ((): { code?: string } => {
      try {
        return response.json() as { code?: string };
      } catch {
        return {};
      }
    })();
    // Credentials that match no user (or could never match, e.g. too long) are a normal "no"; anything
    // else, such as user-service refusing our service token, is a fault on our side.
    if (problem.code === 'invalid_credentials' || problem.code === 'validation_failed') return undefined;
    throw errors.unavailable(`the user directory answered ${response.status} (${problem.code ?? 'no code'})`);
  }
}
