/**
 * Before the suite: dist/ is brought up to date with src/ once, so the CLI and server processes the tests start
 * (`bin/diffusion-nexus.js`, as users run them) find it current instead of racing to rebuild it.
 */
import { ensureBuilt } from '../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await ensureBuilt();
}
