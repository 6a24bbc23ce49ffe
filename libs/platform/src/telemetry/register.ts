/**
 * The tracing preload: `node --import @mrp/platform/telemetry/register src/main.ts`. Registers the ESM
 * loader hook that lets instrumentations patch ES modules, then starts the OpenTelemetry SDK before the
 * service (and the libraries it instruments: http, undici, Koa, pg, ioredis) loads. `OTEL_SDK_DISABLED=true`
 * leaves the process untouched apart from the hook.
 */
import { register } from 'node:module';
import { startTelemetry } from '../telemetry.ts';
import { shutdownTelemetry } from '../tracing.ts';

if (process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true') {
  // The loader hook OpenTelemetry documents for ESM (import-in-the-middle, off-thread). Node 24 marks
  // module.register() deprecated in favour of registerHooks(), which @opentelemetry/instrumentation does
  // not ship a hook for yet.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  if (startTelemetry()) {
    // Services call shutdownTelemetry() themselves on SIGTERM/SIGINT (runService); this covers a
    // process that ends on its own.
    process.once('beforeExit', () => {
      void shutdownTelemetry();
    });
  }
}
