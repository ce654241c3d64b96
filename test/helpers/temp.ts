import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { atFileEnd } from './file-end.ts';

/** A fresh directory under the OS temp dir, removed when the test file finishes (wherever this is called). */
export function tempDir(prefix = 'dn-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
