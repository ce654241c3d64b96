import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (index.js) and ESM (index.mjs) side by side without an exports map. Node loads the CJS
    // one for every package; Vite would hand our sources the ESM one, and `instanceof GraphQLError` would then
    // fail between our code and yoga. Pin everyone to the file Node uses, as in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Native better-sqlite3 and the schema engine's WASM are happiest in child processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
