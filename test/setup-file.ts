/** Runs before each test file, in its worker: what the file opened is closed when it has run (`helpers/file-end.ts`). */
import { afterAll } from 'vitest';
import { closeFileResources } from './helpers/file-end.ts';

afterAll(closeFileResources);
