import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'chai';
import { loadAuthServiceConfig } from '@mrp/auth-service';
import { loadCaseServiceConfig } from '@mrp/case-service';
import { SERVICE_REGISTRY } from '@mrp/gateway';
import { ConfigError, DEVELOPMENT_SECRETS, isDevelopmentSecret } from '@mrp/platform';

const root = resolve(import.meta.dirname, '..', '..');
const OWN_SECRET = 'a-secret-of-the-deployments-own-0123456789';

/**
 * Production refuses every development secret this repository publishes (Compose's defaults, Tilt's fixed
 * Secrets, the dev service client), at boot and with the variable named: a copy of the dev setup can
 * never run as production by accident.
 */
describe('APP_ENV=production refuses development secrets', () => {
  it("case-service refuses its service client secret's development default, and accepts one of its own", () => {
    expect(() => loadCaseServiceConfig({ APP_ENV: 'production' })).to.throw(
      ConfigError,
      /SERVICE_CLIENT_SECRET/,
    );
    expect(loadCaseServiceConfig({ APP_ENV: 'production', SERVICE_CLIENT_SECRET: OWN_SECRET })).to.include({
      serviceClientSecret: OWN_SECRET,
    });
    // Development keeps its convenience.
    expect(loadCaseServiceConfig({ APP_ENV: 'development' }).serviceClientSecret).to.equal(
      'dev-case-service-secret',
    );
  });

  it('refuses a published development password in a database URL, and a Tilt secret given explicitly', () => {
    const production = { APP_ENV: 'production', SERVICE_CLIENT_SECRET: OWN_SECRET };
    expect(() =>
      loadCaseServiceConfig({
        ...production,
        DATABASE_URL: 'postgres://mrp_case:mrp-case-dev-only@postgres:5432/mrp_case',
      }),
    ).to.throw(ConfigError, /DATABASE_URL carries a development password/);
    expect(() =>
      loadCaseServiceConfig({ ...production, SERVICE_CLIENT_SECRET: 'mrp-dev-case-service-client' }),
    ).to.throw(ConfigError, /SERVICE_CLIENT_SECRET is a development secret/);
    expect(
      loadCaseServiceConfig({
        ...production,
        DATABASE_URL: `postgres://mrp_case:${OWN_SECRET}@postgres:5432/mrp_case`,
      }).databaseUrl,
    ).to.include(OWN_SECRET);
  });

  it('auth-service refuses a service client whose secret is a development one', () => {
    const key = 'unused';
    expect(() =>
      loadAuthServiceConfig({
        APP_ENV: 'production',
        AUTH_SIGNING_KEY: key,
        AUTH_SERVICE_CLIENTS: 'case-service:mrp-dev-case-service-client',
      }),
    ).to.throw(ConfigError, /secret of case-service is a development secret/);
  });

  it('a service started with one exits 2 and names the variable', () => {
    const result = spawnSync(process.execPath, ['services/case-service/src/main.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: process.env.PATH, APP_ENV: 'production', OTEL_SDK_DISABLED: 'true' },
    });
    expect(result.status, result.stderr).to.equal(2);
    expect(result.stderr).to.include('SERVICE_CLIENT_SECRET is a development secret');
  });

  it('knows every development secret the Compose file and the Tiltfile publish', () => {
    const compose = readFileSync(resolve(root, 'docker-compose.yml'), 'utf8');
    // The stores' passwords (Grafana's admin password is Grafana's, not a service's).
    const composeDefaults = [...compose.matchAll(/\$\{MRP_(?!GRAFANA)[A-Z_]*PASSWORD:-([^}]+)\}/g)].map(
      (match) => match[1]!,
    );
    const tilt = readFileSync(resolve(root, 'Tiltfile'), 'utf8');
    const tiltSecrets = [...tilt.matchAll(/'(mrp-dev-[a-z-]+)'/g)].map((match) => match[1]!);
    // Each database of services/registry.json gets the password 'mrp-dev-' + its name there.
    expect(tilt).to.include("DATABASES = {entry['name']: 'mrp_' + entry['database']");
    expect(tilt).to.include("password = 'mrp-dev-' + database");
    const tiltDatabases = SERVICE_REGISTRY.flatMap((service) =>
      service.database === null ? [] : [`mrp-dev-mrp_${service.database}`],
    );
    expect(composeDefaults).to.have.length.above(2);
    expect(tiltSecrets).to.have.length.above(1);
    expect(tiltDatabases).to.have.length.above(2);
    for (const secret of [...composeDefaults, ...tiltSecrets, ...tiltDatabases])
      expect(isDevelopmentSecret(secret), secret).to.equal(true);
    expect(isDevelopmentSecret(DEVELOPMENT_SECRETS[0]!)).to.equal(true);
    // A service added later is covered by the naming convention alone.
    expect(isDevelopmentSecret('mrp-dev-mrp_invoice')).to.equal(true);
    expect(isDevelopmentSecret('mrp-invoice-dev-only')).to.equal(true);
    expect(isDevelopmentSecret('mrp-development')).to.equal(false);
    expect(isDevelopmentSecret('s3cret-mrp-dev-x')).to.equal(false);
  });
});
