/**
 * The tracing preload: `node --import @mrp/platform/telemetry/register src/main.ts`. Starts tracing before
 * the service (and the libraries it instruments: pg, ioredis) loads. Those libraries are
 * CommonJS or Node built-ins, which OpenTelemetry patches through `require`, so no ESM loader hook is
 * registered: the hook (import-in-the-middle) routes every module load of the process through a worker
 * thread and cost seconds of start-up. `OTEL_SDK_DISABLED=true` leaves the process untouched.
 */
import { startTelemetry } from '../telemetry.ts';
import { shutdownTelemetry } from '../tracing.ts';

if (startTelemetry()) {
  // Services call shutdownTelemetry() themselves on SIGTERM/SIGINT (runService); this covers a process
  // that ends on its own.
  process.once('beforeExit', () => {
    void shutdownTelemetry();
  });
}
