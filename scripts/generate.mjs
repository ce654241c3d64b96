#!/usr/bin/env node
// `npm run generate`: Prisma client + Pothos types, then GraphQL Code Generator, all offline. `prisma generate` needs no schema engine, but the CLI
// tries to download one unless PRISMA_SCHEMA_ENGINE_BINARY names an existing file; any file will do.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const prismaCli = require.resolve('prisma/build/index.js');
// The Pothos generator is a package bin; make it findable when this runs outside `npm run`.
const binDir = fileURLToPath(new URL('../node_modules/.bin', import.meta.url));
const env = {
  ...process.env,
  PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const prisma = spawnSync(process.execPath, [prismaCli, 'generate'], { stdio: 'inherit', env });
if (prisma.status !== 0) process.exit(prisma.status ?? 1);

// Typed documents (and schema.graphql) from codegen.ts; it imports the schema, so it runs after Prisma's types exist.
const codegenCli = fileURLToPath(new URL('../node_modules/@graphql-codegen/cli/esm/bin.js', import.meta.url));
const codegen = spawnSync(
  process.execPath,
  ['--import', 'tsx', codegenCli, '--config', 'codegen.ts', '--errors-only'],
  {
    stdio: 'inherit',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  },
);
process.exit(codegen.status ?? 1);
