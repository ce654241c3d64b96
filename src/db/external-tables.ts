/**
 * Tables that live in the database but not in schema.prisma (Prisma cannot model FTS5): created by hand-written
 * migrations, and declared external so Prisma's diff neither reports nor drops them. prisma.config.ts lists the
 * same names for the native CLI.
 */
export const SEARCH_TABLES = [
  'ModelSearch',
  'ModelSearch_data',
  'ModelSearch_idx',
  'ModelSearch_content',
  'ModelSearch_docsize',
  'ModelSearch_config',
  'ModelSearchDirty',
] as const;

export const EXTERNAL_TABLES: readonly string[] = [...SEARCH_TABLES];
