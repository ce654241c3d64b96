/**
 * Before the suite: dist/ is brought up to date with src/ once, so the CLI and server processes the tests start
 * (`bin/diffusion-nexus.js`, as users run them) find it current instead of racing to rebuild it. The per-user data
 * folder (`XDG_DATA_HOME`, which the default data directory is under) points into a temp folder for the run, so a
 * command run without `--data-dir` never touches the real catalog of whoever runs the tests. Seeded catalogs are kept
 * in another temp folder for the run (`seededCatalog` copies them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';

/** Where the suite keeps the catalogs it has seeded, for the run (see `seededCatalog`). */
export const SEED_CACHE_ENV = 'DN_TEST_SEED_CACHE';

export default async function setup(): Promise<() => void> {
  await ensureBuilt();
  const dataHome = mkdtempSync(path.join(os.tmpdir(), 'dn-test-xdg-'));
  process.env.XDG_DATA_HOME = dataHome;
  const seeds = mkdtempSync(path.join(os.tmpdir(), 'dn-test-seeds-'));
  process.env[SEED_CACHE_ENV] = seeds;
  return () => {
    rmSync(dataHome, { recursive: true, force: true });
    rmSync(seeds, { recursive: true, force: true });
  };
}
