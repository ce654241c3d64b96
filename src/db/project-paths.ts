/** Files the running program reads from its own checkout (schema, migrations, static assets). */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PRISMA_SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'schema.prisma');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations');
/** The PostgreSQL schema and migrations (Prisma binds a migrations folder to one provider). */
export const POSTGRES_SCHEMA_PATH = path.join(PROJECT_ROOT, 'prisma', 'postgres', 'schema.prisma');
export const POSTGRES_MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'postgres', 'migrations');
