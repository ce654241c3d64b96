/** Runs before each test file, in its worker: what the file opened is closed when it has run (`helpers/file-end.ts`). */
import { afterAll } from 'vitest';
import { closeFileResources } from './helpers/file-end.ts';

// One hook for everything the file opened: servers stop within seconds, but a file may hold several.
afterAll(closeFileResources, 120_000);
