import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/db/project-paths.ts';

/** The project's own fixtures (written for these tests). */
export function ownFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'civitai', name), 'utf8')) as unknown;
}

/** Real Civitai payloads beside the project (`../shared`), present in CI and developer sessions. */
export const SHARED_FIXTURES = path.resolve(PROJECT_ROOT, '..', 'shared', 'fixtures', 'civitai');
export const hasSharedFixtures = existsSync(SHARED_FIXTURES);

export function sharedFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(SHARED_FIXTURES, name), 'utf8')) as unknown;
}
