/**
 * Before the suite: dist/ is brought up to date with src/ once, so the CLI and server processes the tests start
 * (`bin/diffusion-nexus.js`, as users run them) find it current instead of racing to rebuild it. The per-user data
 * folder (`XDG_DATA_HOME`, which the default data directory is under) points into a temp folder for the run, so a
 * command run without `--data-dir` never touches the real catalog of whoever runs the tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';

export default async function setup(): Promise<() => void> {
  await ensureBuilt();
  const dataHome = mkdtempSync(path.join(os.tmpdir(), 'dn-test-xdg-'));
  process.env.XDG_DATA_HOME = dataHome;
  return () => rmSync(dataHome, { recursive: true, force: true });
}
