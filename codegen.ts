/**
 * GraphQL Code Generator: prints the Pothos schema to `schema.graphql` (checked in; a test fails when it is
 * stale) and generates typed documents for the operations in `test/` and `examples/`, with the manifest of those
 * documents by hash (`src/generated/graphql/persisted-documents.json`, ids `sha256:<hex>`) that the server accepts
 * as persisted documents (`GET /graphql?documentId=…`; see src/server/persisted-documents.ts). Each typed document
 * carries its id in `__meta__.hash`.
 *
 * `schema.graphql` is written only by `npm run codegen`: `npm install` and `npm run generate` (what CI runs before
 * the tests) make the typed documents alone, so a contract left stale by a commit fails the drift test instead of
 * being rewritten on the way to it.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: './src/schema/index.ts',
  documents: ['test/**/*.ts', 'examples/**/*.ts', '!src/generated/**'],
  ignoreNoDocuments: true,
  // Only `graphql(...)` from the generated module is a typed document; test helpers named `gql` send deliberately
  // broken queries and must not be parsed as documents.
  pluckConfig: { globalGqlIdentifierName: ['graphql'], modules: [] },
  // ESM-style relative imports with extensions, as nodenext resolution requires.
  emitLegacyCommonJSImports: false,
  generates: {
    ...(process.env.npm_lifecycle_event === 'codegen'
      ? {
          './schema.graphql': {
            plugins: ['schema-ast'],
            config: { includeDirectives: false, commentDescriptions: false, sort: false },
          },
        }
      : {}),
    './src/generated/graphql/': {
      preset: 'client',
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', BigInt: 'string', ID: 'string' },
      },
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
    },
  },
};

export default config;
