/**
 * The tables as Kysely sees them: the catalog's, generated from `prisma/schema.prisma` by prisma-kysely (physical
 * names, storage types: booleans 0/1, timestamps as text), and the full-text search tables that a hand-written
 * migration creates beside them (declared external to Prisma, so typed here).
 */
import type { ColumnType } from 'kysely';
import type { DB } from '../generated/kysely/database.ts';

/** The Core Database's eight catalog tables, shared with the desktop app (physical names, parents first). */
export const CORE_DATABASE_TABLES = [
  'Creators',
  'Models',
  'Tags',
  'ModelTags',
  'ModelVersions',
  'ModelFiles',
  'ModelImages',
  'TriggerWords',
] as const satisfies readonly (keyof DB)[];

/** ModelSearch (FTS5, SQLite): one document per model, rowid = Models.Id. PostgreSQL's is read through SQL templates. */
export interface ModelSearchTable {
  rowid: number;
  name: string;
  tags: string;
  triggerWords: string;
  creator: string;
  fileNames: string;
  versionNames: string;
  baseModels: string;
  description: string;
  prompts: string;
  /** The FTS5 table's own hidden column, named like the table (MATCH target). */
  ModelSearch: ColumnType<string, never, never>;
  rank: ColumnType<number, never, never>;
}

export interface Database extends DB {
  ModelSearch: ModelSearchTable;
  /** The search index's own postings, lengths, vocabulary and statistics (see `src/search/ranking.ts`). */
  ModelSearchPostings: { Term: string; ModelId: number; Frequency: number; Length: number; Impact: number };
  ModelSearchLengths: { ModelId: number; Length: number };
  /** Per indexed word, the documents holding it. */
  ModelSearchTerms: { term: string; doc: number };
  ModelSearchStats: { Id: number; Documents: number; Tokens: number; ReferenceLength: number };
  /** Models whose search document must be rebuilt (written by triggers). */
  ModelSearchDirty: { ModelId: number };
  _prisma_migrations: { migration_name: string; finished_at: string | null; rolled_back_at: string | null };
}
