/**
 * Tables that live in the database but not in the Prisma schemas (Prisma can model neither FTS5 tables nor a
 * tsvector index): created by hand-written migrations, and declared external so Prisma's diff neither reports nor
 * drops them. prisma.config.ts lists the SQLite names for the native CLI.
 */
export const SEARCH_TABLES = [
  'ModelSearch',
  'ModelSearch_data',
  'ModelSearch_idx',
  'ModelSearch_content',
  'ModelSearch_docsize',
  'ModelSearch_config',
  'ModelSearchDirty',
  'ModelSearchPostings',
  'ModelSearchLengths',
  'ModelSearchTerms',
  'ModelSearchStats',
] as const;

export const EXTERNAL_TABLES: readonly string[] = [...SEARCH_TABLES];

/**
 * PostgreSQL's search tables (the AddModelSearch and AddSearchPostings migrations of prisma/postgres): documents with
 * their tsvector, the models waiting for a new document, and the postings, lengths, vocabulary and statistics ranked
 * searches read. They hold nothing of their own — every row is rebuilt from the catalog tables — so copying a catalog
 * in skips them.
 */
export const POSTGRES_SEARCH_TABLES = [
  'ModelSearch',
  'ModelSearchTerms',
  'ModelSearchDirty',
  'ModelSearchPostings',
  'ModelSearchLengths',
  'ModelSearchStats',
] as const;

export const POSTGRES_EXTERNAL_TABLES: readonly string[] = [...POSTGRES_SEARCH_TABLES];
