import { randomUUID } from 'node:crypto';
import { scopesOfClient } from '@mrp/schemas';
import { SignJWT } from 'jose';
import { SIGNING_ALGORITHM, type SigningKey } from './key-store.ts';

export interface TokenIssuerOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Service tokens' own audience, which the gateway does not accept: they are for service-to-service calls. */
  readonly serviceAudience: string;
  readonly accessTokenTtlSeconds: number;
  readonly serviceTokenTtlSeconds: number;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresIn: number;
}

/** Signs short-lived access tokens: `iss`, `aud`, `sub`, `roles`, `jti`, `iat`, `exp`, and `kid` in the header. */
export class TokenIssuer {
  readonly #keys: { readonly signing: SigningKey };
  readonly #options: TokenIssuerOptions;

  /** `keys.signing` is read for every token, so a key ring's rotation applies to the next one. */
  constructor(keys: { readonly signing: SigningKey }, options: TokenIssuerOptions) {
    this.#keys = keys;
    this.#options = options;
  }

  async #sign(
    subject: string,
    claims: Record<string, unknown>,
    ttlSeconds: number,
    audience = this.#options.audience,
  ): Promise<IssuedToken> {
    const key = this.#keys.signing;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.#options.issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(key.privateKey);
    return { token, expiresIn: ttlSeconds };
  }

  /** A user's access token, carrying the user's role. */
  issueAccessToken(user: {
    id: string;
    email: string;
    role: string;
    token_version: number;
  }): Promise<IssuedToken> {
    return this.#sign(
      user.id,
      // `ver`: the user's token version; a token older than the user's last change of role or password
      // (or deletion) is refused by every service (ADR 0021).
      { roles: [user.role], email: user.email, ver: user.token_version },
      this.#options.accessTokenTtlSeconds,
    );
  }

  /**
   * A token for work done by a service itself, not on a user's behalf: role `service`, the services'
   * audience, and the scopes SERVICE_CLIENT_SCOPES grants this client.
   */
  issueServiceToken(serviceName: string): Promise<IssuedToken> {
    const scopes = scopesOfClient(serviceName);
    return this.#sign(
      `service:${serviceName}`,
      { roles: ['service'], ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}) },
      this.#options.serviceTokenTtlSeconds,
      this.#options.serviceAudience,
    );
  }
}
