// Prisma CLI configuration. The CLI is only used for `prisma generate` here; migrations run through
// `src/db/migrations.ts` (Prisma's schema engine compiled to WASM), so no native engine download is needed.
import { defineConfig } from 'prisma/config';
import { EXTERNAL_TABLES } from './src/db/external-tables.ts';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./prisma/dev.db' },
  // Full-text search tables are created by hand-written migrations; Prisma must not try to drop them.
  experimental: { externalTables: true },
  tables: { external: [...EXTERNAL_TABLES] },
});
