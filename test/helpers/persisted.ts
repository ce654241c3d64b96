import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp.ts';

/** A persisted-documents manifest (`{ "<id>": "<document>" }`) of `entries` as given, in a file of its own. */
export function manifestFile(entries: Record<string, string>): string {
  const file = path.join(tempDir('dn-manifest-'), 'manifest.json');
  writeFileSync(file, JSON.stringify(entries));
  return file;
}
