/**
 * GraphiQL must work offline: headless Debian Chromium loads /graphql with every non-local request blocked, a
 * query typed into the editor runs, and its result appears.
 *
 * Chromium is the one thing `npm test` needs beyond `npm install`. Where it is missing, this test is skipped with a
 * warning that names it; under CI (`CI=true`, as CI services set it, and as .ci/run installs Chromium) a missing
 * Chromium is a failure, so CI never passes without having run it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IN_CI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const MISSING = `Chromium not found at ${CHROMIUM}: install the Debian package "chromium" (.ci/run does) or set CHROMIUM_PATH.`;
const skipped = !existsSync(CHROMIUM) && !IN_CI;
if (skipped) {
  const line = '!'.repeat(100);
  console.warn(
    `${line}\n!! SKIPPED the GraphiQL browser test. ${MISSING}\n!! (CI=true makes this a failure.)\n${line}`,
  );
}
// Flags that keep Chromium from phoning home (those connections are refused here and slow it down).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(skipped)('GraphiQL in a real browser, offline', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${MISSING} (CI is set: the browser test must run.)`);
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 120_000 });
  }, 180_000);
  afterAll(async () => browser?.close());

  // Generous timeouts: Chromium shares two cores with the rest of the suite in CI.
  it('loads without any non-local request and runs a query typed into the editor', { timeout: 180_000 }, async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      external.push(url.href);
      return route.abort();
    });
    // GraphiQL runs nothing until it has the schema: wait for its introspection answer before using the editor.
    const introspected = page.waitForResponse(
      (r) => r.request().method() === 'POST' && (r.request().postData() ?? '').includes('IntrospectionQuery'),
      { timeout: 60_000 },
    );
    const response = await page.goto(server.url, { timeout: 60_000 });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/text\/html/);
    expect((await introspected).status()).toBe(200);

    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await editor.waitFor({ timeout: 60_000 });
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('query FromTheBrowser { health { journalMode schemaVersion } }');
    // The editor hands its text to GraphiQL after a short debounce (it also saves it then): run once it has.
    await page.waitForFunction(
      () =>
        Object.keys(localStorage).some(
          (key) => key.endsWith('query') && localStorage.getItem(key)?.includes('FromTheBrowser'),
        ),
      undefined,
      { timeout: 60_000 },
    );
    await page.locator('.graphiql-execute-button').click();

    const result = page.locator('.result-window').filter({ hasText: 'journalMode' });
    await result.waitFor({ timeout: 60_000 });
    // Monaco renders with non-breaking spaces; compare the text, not a JSON parse of the rendering. The rendered text
    // (innerText), not the DOM's: Monaco keeps lines out of view in its DOM too.
    // Long values wrap onto the next line (a migration name of 37 characters did): white space is compared as one.
    // biome-ignore lint/performance/useDomNodeTextContent: the text as shown is what this checks
    const shown = (await result.innerText()).replace(/\s+/g, ' ');
    expect(shown).toMatch(/"journalMode": "wal"/);
    expect(shown).toMatch(/"schemaVersion": "\d{14}_\w+"/);
    expect(external).toEqual([]);
    await page.close();
  });
});
