// `node --import tsx scripts/postgres-initial-migration.ts postgres://…/scratch`: prints the SQL that creates
// prisma/postgres/schema.prisma from nothing, as Prisma's schema engine writes it (the PostgreSQL Init migration).
// The database is only connected to, never changed.
import { resolveDatabaseTarget } from '../src/config.ts';
import { postgresInitialSql } from '../src/db/postgres/migrations.ts';

const target = resolveDatabaseTarget({ databaseUrl: process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
if (target.engine !== 'postgres') throw new Error('Give a postgres:// URL.');
process.stdout.write(`${await postgresInitialSql(target)}\n`);
