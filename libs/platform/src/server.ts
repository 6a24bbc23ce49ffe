import type { Server } from 'node:http';
import { http } from './commonjs.ts';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';
import type { ServiceApp } from './app.ts';
import { shutdownTelemetry, traceRequests } from './tracing.ts';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `port` (0 picks a free one) and resolves once the socket is bound. */
export async function listen(service: ServiceApp, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const handle = service.app.callback();
  const server = http.createServer(
    traceRequests((request, response) => {
      void handle(request, response);
    }),
  );
  // Envoy keeps upstream connections alive for up to an hour by default; stay open longer than it does
  // so it never reuses a connection we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    async close(graceMs = 10_000) {
      service.markShuttingDown();
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

export interface RunServiceOptions {
  readonly service: ServiceApp;
  /**
   * Where to listen and how to stop, as every service's config has them (serviceKeys): after SIGTERM the
   * service keeps serving with readiness failing for `shutdownDrainMs`, then gives requests in progress
   * `shutdownGraceMs`.
   */
  readonly config: {
    readonly port: number;
    readonly host: string;
    readonly shutdownDrainMs: number;
    readonly shutdownGraceMs: number;
  };
  readonly logger: Logger;
  /** Released after the server has stopped (pools, clients), in order. */
  readonly cleanup?: readonly (() => Promise<void>)[];
}

/**
 * Runs a service until SIGTERM or SIGINT, then shuts down gracefully: readiness fails first and the service
 * keeps serving for `shutdownDrainMs` (so a load balancer that checks readiness moves new requests
 * elsewhere), then it stops accepting connections, in-flight requests finish (up to `shutdownGraceMs`),
 * resources are released, and the process exits 0 (1 if shutdown itself failed).
 */
export async function runService(options: RunServiceOptions): Promise<RunningServer> {
  const { port, host, shutdownDrainMs, shutdownGraceMs } = options.config;
  const running = await listen(options.service, port, host);
  options.logger.info({ port: running.port, host }, 'listening');
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, 'shutting down');
    void (async () => {
      try {
        if (shutdownDrainMs > 0) {
          options.service.markShuttingDown();
          await new Promise((resolve) => setTimeout(resolve, shutdownDrainMs));
        }
        await running.close(shutdownGraceMs);
        for (const release of options.cleanup ?? []) await release();
        // The last spans (this shutdown's included) are exported before the process goes.
        await shutdownTelemetry();
        options.logger.info('stopped');
        options.logger.flush();
        process.exitCode = 0;
      } catch (error) {
        options.logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      }
      // Anything still holding the event loop (a stray timer) must not keep a stopped service alive.
      setTimeout(() => process.exit(), 200).unref();
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return running;
}
