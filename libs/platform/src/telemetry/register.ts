/**
 * The tracing preload: `node --import @mrp/platform/telemetry/register src/main.ts`. Starts tracing before
 * the service loads, so its first request is traced. Nothing is patched and no loader hook is registered:
 * the platform makes its spans itself (telemetry.ts). `OTEL_SDK_DISABLED=true` leaves the process
 * untouched.
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
