import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthService, loadAuthServiceConfig, type AuthService } from '@mrp/auth-service';
import { createLogger, listen, type RunningServer } from '@mrp/platform';
import { createUserService, loadUserServiceConfig, type UserService } from '@mrp/user-service';
import { LogCapture } from './log-capture.ts';
import { freePort } from './ports.ts';
import { createTestDatabase } from './test-database.ts';

export const ISSUER = 'mrp-auth';
export const AUDIENCE = 'mrp-platform';

/** The dev users every test platform is seeded with. */
export const USERS = {
  admin: { username: 'admin@example.com', password: 'admin123' },
  analyst: { username: 'analyst@example.com', password: 'analyst123' },
  viewer: { username: 'viewer@example.com', password: 'viewer123' },
} as const;

export type RoleName = keyof typeof USERS;

export interface TestPlatform {
  readonly authUrl: string;
  readonly userUrl: string;
  readonly authPort: number;
  readonly userPort: number;
  readonly databaseUrl: string;
  readonly logs: { readonly auth: LogCapture; readonly user: LogCapture };
  readonly auth: AuthService;
  readonly user: UserService;
  /** The signing key folder, for tests that sign tokens of their own with the real key. */
  readonly keysDir: string;
  stop(): Promise<void>;
}

export interface TestPlatformOptions {
  /** Extra environment for user-service (e.g. a DATABASE_URL through a fault proxy). */
  readonly userEnv?: Record<string, string>;
  readonly authEnv?: Record<string, string>;
  /** Rewrites the test database URL user-service connects to (e.g. to go through a TcpProxy). */
  readonly userDatabaseUrl?: (url: string) => string;
}

/**
 * auth-service and user-service in this process, on free ports, against a fresh database on the real
 * Postgres, with their logs captured. The same code that `make dev` runs, minus the process boundary.
 */
export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const database = await createTestDatabase('users');
  const keysDir = mkdtempSync(join(tmpdir(), 'mrp-keys-'));
  const [authPort, userPort] = [await freePort(), await freePort()];
  const authUrl = `http://127.0.0.1:${authPort}`;
  const userUrl = `http://127.0.0.1:${userPort}`;
  const logs = { auth: new LogCapture(), user: new LogCapture() };

  const userConfig = loadUserServiceConfig({
    APP_ENV: 'test',
    DATABASE_URL: options.userDatabaseUrl ? options.userDatabaseUrl(database.url) : database.url,
    AUTH_JWKS_URL: `${authUrl}/.well-known/jwks.json`,
    ...options.userEnv,
  });
  const user = await createUserService(
    userConfig,
    createLogger({ serviceName: 'user-service', level: 'debug', destination: logs.user }),
  );
  const authConfig = loadAuthServiceConfig({
    APP_ENV: 'test',
    AUTH_DEV_KEYS_DIR: keysDir,
    USER_SERVICE_URL: userUrl,
    ...options.authEnv,
  });
  const auth = await createAuthService(
    authConfig,
    createLogger({ serviceName: 'auth-service', level: 'debug', destination: logs.auth }),
  );

  const servers: RunningServer[] = [
    await listen(auth.service, authPort),
    await listen(user.service, userPort),
  ];
  return {
    authUrl,
    userUrl,
    authPort,
    userPort,
    databaseUrl: database.url,
    logs,
    auth,
    user,
    keysDir,
    async stop() {
      await Promise.all(servers.map((server) => server.close(500)));
      await user.close();
      await database.drop();
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

/** Logs in through `baseUrl` (a service or the gateway) and returns the access token. */
export async function login(baseUrl: string, role: RoleName): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(USERS[role]).toString(),
  });
  if (response.status !== 200)
    throw new Error(`login as ${role} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}
