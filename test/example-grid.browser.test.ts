/**
 * The example grid page (`examples/grid.html`, served at /examples/grid) in headless Debian Chromium: it shows the
 * catalog's models with their deferred thumbnails, follows `catalogChanged`, and shows a name changed by a mutation
 * without being reloaded. Skipped with a warning where Chromium is missing, a failure under CI (as the GraphiQL
 * browser test).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockNonLocal, browserMissing, launchBrowser } from './helpers/browser.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const skipped = browserMissing('the example grid browser test');

describe.skipIf(skipped)('the example grid page in a real browser', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const catalog = await seededCatalog();
    server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => browser?.close());

  it('shows models with deferred thumbnails and a name changed by a mutation', { timeout: 180_000 }, async () => {
    const page = await browser.newPage();
    // The page is served whole: it must not need anything from elsewhere.
    const external = await blockNonLocal(page);
    const gridAnswer = page.waitForResponse((r) => (r.request().postData() ?? '').includes('query Grid'), {
      timeout: 60_000,
    });
    const response = await page.goto(`${server.origin}/examples/grid`, { timeout: 60_000 });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/text\/html/);
    // Live once the subscription's first event has arrived; thumbnails are the deferred parts.
    await page.waitForSelector('body[data-revision]', { timeout: 60_000 });
    await page.waitForSelector('.thumb[src^="data:image/"]', { timeout: 60_000 });
    // Names first, thumbnails in later parts of the same answer (SSE messages: the result, then `incremental`).
    const messages = (await (await gridAnswer).text())
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.length > 6)
      .map((line) => JSON.parse(line.slice(6)));
    expect(messages[0].data.models.nodes[0].name).toEqual(expect.any(String));
    expect(messages[0].data.models.nodes[0].primaryImage).toBeUndefined();
    expect(messages.some((m) => m.incremental?.some((part: { data: object }) => 'primaryImage' in part.data))).toBe(
      true,
    );
    const cards = page.locator('.card');
    expect(await cards.count()).toBeGreaterThan(1);

    const first = cards.first();
    const id = (await first.getAttribute('data-id')) as string;
    const renamed = await server.graphql(
      `mutation($id: ID!, $name: String!) { updateModel(id: $id, input: { name: $name }) { name } }`,
      { id, name: 'Renamed while the page watched' },
    );
    expect(renamed.errors).toBeUndefined();
    await page.waitForFunction(
      (cardId) =>
        document.querySelector(`[data-id="${CSS.escape(cardId)}"] .name`)?.textContent ===
        'Renamed while the page watched',
      id,
      { timeout: 30_000 },
    );
    expect(external).toEqual([]);
    await page.close();
  });

  it('says why when the server runs persisted documents only (the page sends its documents as text)', async () => {
    const trusted = await startTestServer({ trustedDocumentsOnly: true });
    const page = await browser.newPage();
    await page.goto(`${trusted.origin}/examples/grid`, { timeout: 60_000 });
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent?.includes('PERSISTED_DOCUMENTS_ONLY'),
      undefined,
      { timeout: 30_000 },
    );
    await page.close();
  });
});
