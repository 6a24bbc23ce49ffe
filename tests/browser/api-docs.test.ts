/**
 * The gateway's API reference in a real browser: Debian's Chromium (or MRP_CHROMIUM), driven by
 * playwright-core, loads `/docs` through the real Envoy in front of the five services, and must render every
 * operation of the merged document with no console error and no request to another origin. The screenshot
 * stays in test-results/ (the workflow uploads it).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { API_DOCS_MERGED_FILE } from '@mrp/gateway';
import { startFullPlatform, type FullPlatform } from '../support/full-platform.ts';
import { chromiumPath } from '../support/chromium.ts';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-results');

describe('the API reference at /docs, in headless Chromium through the real Envoy', function () {
  this.timeout(120_000);
  let platform: FullPlatform | undefined;
  let browser: Browser | undefined;

  before(async function () {
    platform = await startFullPlatform();
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  });
  after(async function () {
    await browser?.close();
    await platform?.stop();
  });

  it('renders every operation of the merged document, with no console error, fetching only from the gateway', async function () {
    const merged = JSON.parse(await readFile(API_DOCS_MERGED_FILE, 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const expected = Object.entries(merged.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const origins = new Set<string>();
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
    page.on('requestfailed', (request) => errors.push(`failed: ${request.url()}`));
    page.on('request', (request) => origins.add(new URL(request.url()).origin));

    const gateway = platform!.url;
    const response = await page.goto(`${gateway}/docs`, { waitUntil: 'load' });
    expect(response?.status()).to.equal(200);
    // Swagger UI renders once it has fetched and parsed /openapi.json: wait for the last operation.
    await page
      .locator('.opblock')
      .nth(expected.length - 1)
      .waitFor({ timeout: 30_000 });
    const rendered: string[] = [];
    for (const block of await page.locator('.opblock').all()) {
      const method = (await block.locator('.opblock-summary-method').textContent()) ?? '';
      const path = await block.locator('.opblock-summary-path').getAttribute('data-path');
      rendered.push(`${method.trim().toUpperCase()} ${path ?? ''}`);
    }
    expect(rendered.sort()).to.deep.equal(expected.sort());
    // Swagger UI's own warnings and errors about the document (its `errors-wrapper` box).
    expect(await page.locator('.errors-wrapper').count(), 'Swagger UI reports a problem').to.equal(0);
    expect(await page.textContent('.info .title')).to.include('microservices-reference-platform API');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'api-docs.png'), fullPage: true });
    expect(errors).to.deep.equal([]);
    expect([...origins]).to.deep.equal([gateway]);
  });
});
