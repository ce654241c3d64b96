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

// CI regenerates everything from a clean clone (`npm install` runs codegen); a document codegen cannot parse breaks
// the install, so the whole generation is exercised here, in memory.
it('GraphQL Code Generator parses every document and its typed output is current', async () => {
  const { generate } = await import('@graphql-codegen/cli');
  const { default: config } = await import('../codegen.ts');
  // The schema goes in as SDL: the test runner cannot hand codegen's own loader a `.ts` module.
  const outputs: Array<{ filename: string; content: string }> = await generate(
    { ...config, schema: printSchema(schema), cwd: PROJECT_ROOT, silent: true },
    false,
  );
  const typedDocuments = outputs.find((output) => output.filename.endsWith('gql.ts'));
  expect(typedDocuments?.content).toContain('query ExampleModelsPage');
  const onDisk = readFileSync(path.join(PROJECT_ROOT, 'src/generated/graphql/gql.ts'), 'utf8');
  expect(onDisk, 'generated typed documents are stale: run `npm run codegen`').toBe(typedDocuments?.content);
});
