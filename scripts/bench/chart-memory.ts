/**
 * The memory each service gets from its Helm chart: `resources.limits.memory` and the V8 heap cap the
 * chart derives from it (`heapPercentOfLimit`, rendered by mrp-lib as --max-old-space-size). The services
 * are started with that cap, so the figures under load are the ones a pod would reach, and each is
 * reported as a share of the limit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './settings.ts';

export interface ChartMemory {
  readonly limitMiB: number;
  readonly heapMiB: number;
}

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** A Kubernetes memory quantity in bytes (the forms mrp-lib accepts); undefined for any other. */
export function quantityBytes(quantity: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2] ?? '']!;
}

/** The limit and heap cap in a service chart's values.yaml, computed as mrp-lib's template does. */
export function chartMemory(service: string, root = ROOT): ChartMemory | undefined {
  const values = parse(readFileSync(join(root, 'charts', service, 'values.yaml'), 'utf8')) as {
    resources?: { limits?: { memory?: unknown } };
    heapPercentOfLimit?: unknown;
  };
  const limit = values.resources?.limits?.memory;
  const percent = values.heapPercentOfLimit;
  const bytes =
    typeof limit === 'string' || typeof limit === 'number' ? quantityBytes(String(limit)) : undefined;
  if (bytes === undefined || typeof percent !== 'number') return undefined;
  return { limitMiB: bytes / 1024 ** 2, heapMiB: Math.floor((bytes * percent) / 100 / 1024 ** 2) };
}

/** `DEV_NODE_FLAGS_<SERVICE>` for each service: its chart's heap cap, then any flags given in `extra`. */
export function chartHeapFlags(
  services: readonly string[],
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return Object.fromEntries(
    services.map((service) => {
      const variable = `DEV_NODE_FLAGS_${service.toUpperCase().replace(/-/g, '_')}`;
      const heap = chartMemory(service);
      const flags = [heap ? `--max-old-space-size=${heap.heapMiB}` : '', extra[variable] ?? ''];
      return [variable, flags.filter(Boolean).join(' ')];
    }),
  );
}
