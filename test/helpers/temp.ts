import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** Every folder tempDir() made in this test file (each file loads its own copy of this module). */
const made: string[] = [];

// Registered once, as this module loads with a test file's imports, so at the file's top level: vitest never runs
// an afterAll registered from inside a test or another hook, and folders made there (a seeded catalog in a
// beforeAll, a scratch folder in a test) used to stay behind in the temp folder. As the file's first after-hook it
// runs last, once servers and connections the other hooks close are gone.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, removed when the test file finishes (wherever this is called). */
export function tempDir(prefix = 'dn-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
