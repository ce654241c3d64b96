/**
 * The README's test command after `npm install` on a fresh machine: the tests that once needed system tools are run
 * here as their own vitest processes, in an environment without those tools. The hashing tests need nothing but
 * the npm packages; the GraphiQL browser test, without Chromium, is skipped with a warning naming it — and fails
 * when CI is set, so CI cannot pass without running it.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { tempDir } from './helpers/temp.ts';

const VITEST = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** `vitest run <args>` as a child process, with this run's own vitest and CI settings left out of its environment. */
function vitest(args: string[], env: NodeJS.ProcessEnv) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^VITEST|^CI$|^CHROMIUM_PATH$/.test(key)),
  );
  const run = spawnSync(process.execPath, [VITEST, 'run', '--color=false', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...inherited, ...env },
    timeout: 170_000,
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe('npm test on a machine with nothing but Node.js and npm install', () => {
  const emptyBin = tempDir('dn-no-tools-');

  it('hashes are checked without sha256sum, b3sum or crc32 on the PATH', { timeout: 180_000 }, () => {
    // An empty PATH: none of the system hash tools can be found (the child is started by absolute path).
    const run = vitest(['test/hashing.test.ts', '-t', 'hello world'], { PATH: emptyBin });
    expect(run.output).toMatch(/1 passed/);
    expect(run.status, run.output).toBe(0);
  });

  const missingChromium = path.join(emptyBin, 'chromium');

  it('without Chromium the browser test is skipped, saying so', { timeout: 180_000 }, () => {
    const run = vitest(['test/graphiql.browser.test.ts'], { CHROMIUM_PATH: missingChromium });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain(`SKIPPED the GraphiQL browser test. Chromium not found at ${missingChromium}`);
    expect(run.output).toMatch(/1 skipped/);
  });

  it('without Chromium under CI=true the browser test fails', { timeout: 180_000 }, () => {
    const run = vitest(['test/graphiql.browser.test.ts'], { CHROMIUM_PATH: missingChromium, CI: 'true' });
    expect(run.status, run.output).toBe(1);
    expect(run.output).toContain(`Chromium not found at ${missingChromium}`);
    expect(run.output).toMatch(/1 failed/);
  });
});
