/**
 * The renderings of the gateway that live in the repository, because what reads them cannot run this
 * renderer: the Helm chart's templates and docker-compose's config. `make render-gateway` writes them; a
 * test fails when one is stale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderHelmBootstrapTemplate } from './helm-template.ts';
import { composeTarget, renderEnvoyConfig } from './render-envoy-config.ts';

export interface CommittedRendering {
  /** From the repository root. */
  readonly path: string;
  readonly render: () => string;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export const COMMITTED_RENDERINGS: readonly CommittedRendering[] = [
  { path: 'charts/gateway/files/envoy.json', render: () => renderHelmBootstrapTemplate({ traced: false }) },
  {
    path: 'charts/gateway/files/envoy-traced.json',
    render: () => renderHelmBootstrapTemplate({ traced: true }),
  },
  {
    path: 'envoy/rendered/compose.json',
    render: () =>
      json(renderEnvoyConfig(composeTarget({ otlpCollector: { host: 'otel-collector', port: 4318 } }))),
  },
];

/** Writes every committed rendering again (`make render-gateway`). */
async function writeAll(): Promise<void> {
  const root = join(import.meta.dirname, '..', '..');
  for (const rendering of COMMITTED_RENDERINGS) {
    const file = join(root, rendering.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, rendering.render());
    process.stdout.write(`wrote ${rendering.path}\n`);
  }
}

if (import.meta.main) await writeAll();
