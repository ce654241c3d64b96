/**
 * `schema.graphql` is the checked-in contract clients read; it must be what the code builds. Regenerate it with
 * `npm run codegen` when this fails.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { expect, it } from 'vitest';
import { schema } from '../src/schema/index.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';

it('schema.graphql matches the schema the code builds', () => {
  const checkedIn = readFileSync(path.join(PROJECT_ROOT, 'schema.graphql'), 'utf8');
  const built = printSchema(lexicographicSortSchema(schema));
  expect(checkedIn.trim(), 'schema.graphql is stale: run `npm run codegen` and commit it').toBe(built.trim());
});
