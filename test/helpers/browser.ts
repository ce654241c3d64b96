/**
 * Headless Debian Chromium for the browser tests. Chromium is the one thing `npm test` needs beyond `npm install`:
 * where it is missing, a browser test is skipped with a warning that names it; under CI (`CI=true`, as CI services
 * set it, and as .ci/run installs Chromium) a missing Chromium is a failure, so CI never passes without them.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IN_CI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const MISSING = `Chromium not found at ${CHROMIUM}: install the Debian package "chromium" (.ci/run does) or set CHROMIUM_PATH.`;
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

/** Whether the browser test named `what` must be skipped (warned about once, loudly). */
export function browserMissing(what: string): boolean {
  const skipped = !existsSync(CHROMIUM) && !IN_CI;
  if (skipped) {
    const line = '!'.repeat(100);
    console.warn(`${line}\n!! SKIPPED ${what}. ${MISSING}\n!! (CI=true makes this a failure.)\n${line}`);
  }
  return skipped;
}

/** Starts Chromium (generous time: it shares two cores with the rest of the suite in CI). */
export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${MISSING} (CI is set: the browser test must run.)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 120_000 });
}

/** Lets a page reach only 127.0.0.1 (and data:/blob: URLs); returns the addresses it tried beyond. */
export async function blockNonLocal(page: Page): Promise<string[]> {
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    external.push(url.href);
    return route.abort();
  });
  return external;
}
