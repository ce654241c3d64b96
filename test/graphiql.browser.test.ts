/**
 * GraphiQL must work offline: headless Debian Chromium loads /graphql with every non-local request blocked, a
 * query typed into the editor runs, and its result appears.
 * Chromium: `helpers/browser.ts`.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockNonLocal, browserMissing, launchBrowser } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const skipped = browserMissing('the GraphiQL browser test');

describe.skipIf(skipped)('GraphiQL in a real browser, offline', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => browser?.close());

  // Generous timeouts: Chromium shares two cores with the rest of the suite in CI.
  it('loads without any non-local request, runs a query typed into the editor and shows deferred parts merged', {
    timeout: 180_000,
  }, async () => {
    const page = await browser.newPage();
    const external = await blockNonLocal(page);
    // GraphiQL runs nothing until it has the schema: wait for its introspection answer before using the editor.
    const introspected = page.waitForResponse(
      (r) => r.request().method() === 'POST' && (r.request().postData() ?? '').includes('IntrospectionQuery'),
      { timeout: 60_000 },
    );
    const response = await page.goto(server.url, { timeout: 60_000 });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/text\/html/);
    expect((await introspected).status()).toBe(200);

    const shown = await runTyped(page, 'query FromTheBrowser { health { journalMode schemaVersion } }', 'journalMode');
    expect(shown).toMatch(/"journalMode": "wal"/);
    expect(shown).toMatch(/"schemaVersion": "\d{14}_\w+"/);

    // Incremental delivery: GraphiQL asks for multipart answers, and merges the deferred part into what it shows
    // (the browser keeps no body of a streamed answer to read back; test/deferred-fields.test.ts reads the parts).
    const deferredAnswer = page.waitForResponse((r) => (r.request().postData() ?? '').includes('query Deferred'), {
      timeout: 60_000,
    });
    const merged = await runTyped(
      page,
      'query Deferred { health { ok } ... @defer(label: "later") { libraryStats { models } } }',
      'libraryStats',
    );
    const answer = await deferredAnswer;
    expect(answer.headers()['content-type']).toMatch(/^multipart\/mixed/);
    expect(merged).toMatch(/"ok": true/);
    expect(merged).toMatch(/"libraryStats": \{ "models": 0/);
    expect(external).toEqual([]);
    await page.close();
  });
});

/** Types `text` into GraphiQL's editor, runs it, and returns the result as shown once it holds `awaited`. */
async function runTyped(page: Page, text: string, awaited: string): Promise<string> {
  const name = /^(?:query|mutation)\s+(\w+)/.exec(text)![1]!;
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.waitFor({ timeout: 60_000 });
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  // The editor hands its text to GraphiQL after a short debounce (it also saves it then): run once it has.
  await page.waitForFunction(
    (operation) =>
      Object.keys(localStorage).some((key) => key.endsWith('query') && localStorage.getItem(key)?.includes(operation)),
    name,
    { timeout: 60_000 },
  );
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.result-window').filter({ hasText: awaited });
  await result.waitFor({ timeout: 60_000 });
  // Monaco renders with non-breaking spaces; compare the text, not a JSON parse of the rendering. The rendered text
  // (innerText), not the DOM's: Monaco keeps lines out of view in its DOM too.
  // Long values wrap onto the next line (a migration name of 37 characters did): white space is compared as one.
  // biome-ignore lint/performance/useDomNodeTextContent: the text as shown is what this checks
  return (await result.innerText()).replace(/\s+/g, ' ');
}
