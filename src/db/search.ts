/**
 * The full-text index's SQL (SQLite FTS5): ModelSearch holds one document per model (rowid = Models.Id), kept
 * current from ModelSearchDirty (filled by triggers, whoever writes); searches rank with bm25 (column weights set by
 * the AddModelSearch migration), highlight the page's rows, and estimate their cost from the index's own
 * vocabulary (fts5vocab). The text rules (which words, which phrases) are `src/search/query.ts`'s.
 */
import { type RawBuilder, type SqlBool, type Transaction, sql } from 'kysely';
import type { Ordering } from '../catalog/pagination.ts';
import { AppError } from '../errors.ts';
import { toMatchExpression } from '../search/query.ts';
import type { CatalogDatabase } from './catalog-database.ts';
import type { ListQuery, ListSource } from './pages.ts';
import type { SqlDialect } from './dialect.ts';
import { planKey, type RowFields, selectColumns } from './row-mapping.ts';
import { runShaped, slot } from './shaped.ts';
import { type AnyDb, type AnySelect, table } from './refs.ts';
import type { Database } from './schema.ts';

/** The index's columns, in table order (bm25 weights follow the same order). */
export const SEARCH_COLUMNS = [
  'name',
  'tags',
  'triggerWords',
  'creator',
  'fileNames',
  'versionNames',
  'baseModels',
  'description',
  'prompts',
] as const;
export type SearchColumn = (typeof SEARCH_COLUMNS)[number];
export type SearchDocument = Record<SearchColumn, string>;

const index = table('ModelSearch', 's');
const models = table('Models', 'm');

/** Model ids whose document matches the user's search text (for `IN (…)` filters). */
export function searchMatch(query: string): RawBuilder<unknown> {
  return sql`SELECT rowid FROM ${sql.table('ModelSearch')} WHERE ${sql.table('ModelSearch')} MATCH ${toMatchExpression(query)}`;
}

/** Ranked by bm25 (lower is better), then by model id. */
export const SEARCH_ORDERING: Ordering = {
  signature: 'search:RANK',
  keys: [
    { expression: index('rank'), direction: 'ASC' },
    { expression: models('Id'), direction: 'ASC' },
  ],
};

/** The matching models joined to the index (for ranking by `s.rank`), under the given filters. */
export function searchList(match: unknown, filters: readonly RawBuilder<SqlBool>[]): ListQuery {
  return (db: AnyDb) =>
    filters.reduce(
      (query, filter) => query.where(filter),
      db
        .selectFrom(index.item)
        .innerJoin(models.item, (join) => join.on(sql<SqlBool>`${models('Id')} = ${index('rowid')}`))
        .where(sql<SqlBool>`${sql.table('ModelSearch')} MATCH ${match}`),
    );
}

/** A search's models as a list source: built once per plan when no filter narrows it (see `shaped.ts`). */
export function searchSource(
  dialect: SqlDialect,
  match: string,
  filters: readonly RawBuilder<SqlBool>[],
  fields: RowFields,
): ListSource {
  const select = selectColumns('Model', 'm', fields);
  if (filters.length > 0) return { from: searchList(match, filters), select };
  return {
    from: searchList(slot('match'), []),
    select,
    shape: `${dialect.name}|search|${planKey(fields)}`,
    values: { match },
  };
}

/** Per model of a page: whether each column matched (a highlight marker in it) and a snippet around the best match. */
export function highlights(db: CatalogDatabase, match: string, ids: readonly number[], open: string, close: string) {
  const marks = (i: number) => sql<string>`highlight(${sql.table('ModelSearch')}, ${sql.lit(i)}, ${open}, ${close})`;
  return db.searches
    .selectFrom('ModelSearch')
    .select([
      'rowid as id',
      ...SEARCH_COLUMNS.map((_, i) => marks(i).as(`h${i}`)),
      sql<string>`snippet(${sql.table('ModelSearch')}, -1, ${open}, ${close}, '…', 16)`.as('snippet'),
    ])
    .where(sql<SqlBool>`${sql.table('ModelSearch')} MATCH ${match}`)
    .where(db.dialect.inList('rowid', ids))
    .execute() as Promise<Record<string, string | number>[]>;
}

/** A word as the index stores it, and whether any term starting with it counts. */
export interface VocabularyWord {
  word: string;
  prefix: boolean;
}

/** Words per statement of `wordPostings` (so its statements, built once per word count, stay few). */
const WORDS_PER_STATEMENT = 16;

/**
 * For each word: how many index terms it stands for (a prefix: its expansions, at most `maxTerms` of them) and how
 * many documents hold them, from the vocabulary — one statement for up to WORDS_PER_STATEMENT words. A word is
 * the range [word, word + U+0000), a prefix [word, word + U+FFFF), so every word has the same statement shape.
 */
export async function wordPostings(
  db: CatalogDatabase,
  words: readonly VocabularyWord[],
  maxTerms: number,
): Promise<{ terms: number; docs: number }[]> {
  await ensureVocabulary(db);
  const found: { terms: number; docs: number }[] = [];
  for (let start = 0; start < words.length; start += WORDS_PER_STATEMENT) {
    const chunk = words.slice(start, start + WORDS_PER_STATEMENT);
    const values: Record<string, unknown> = {};
    chunk.forEach(({ word, prefix }, i) => {
      values[`from${i}`] = word;
      values[`to${i}`] = `${word}${prefix ? '\uffff' : '\u0000'}`;
    });
    const build = () => {
      const branch = (i: number) =>
        db.kysely
          .selectFrom(
            db.kysely
              .selectFrom('temp.ModelSearchTerms')
              .select('doc')
              .where('term', '>=', slot(`from${i}`))
              .where('term', '<', slot(`to${i}`))
              .limit(maxTerms)
              .as('t'),
          )
          .select([
            sql<number>`${sql.lit(i)}`.as('k'),
            sql<number>`COUNT(*)`.as('terms'),
            sql<number>`COALESCE(SUM(${sql.ref('t.doc')}), 0)`.as('docs'),
          ]);
      return chunk.slice(1).reduce((query, _, i) => query.unionAll(branch(i + 1)), branch(0));
    };
    const rows = await runShaped<{ k: number; terms: number; docs: number }>(
      db.kysely,
      `${db.dialect.name}|wordPostings|${chunk.length}|${maxTerms}`,
      build,
      values,
    );
    const byWord = new Map(rows.map((row) => [Number(row.k), row]));
    chunk.forEach((_, i) => {
      const row = byWord.get(i);
      found.push({ terms: Number(row?.terms ?? 0), docs: Number(row?.docs ?? 0) });
    });
  }
  return found;
}

const vocabularies = new WeakSet<object>();

/** The index's term statistics: a read-only view FTS5 builds from the index itself (per connection, in temp). */
async function ensureVocabulary(db: CatalogDatabase): Promise<void> {
  // Per read connection (every request's view of the catalog shares it, and its `probe`).
  if (vocabularies.has(db.probe)) return;
  await sql`CREATE VIRTUAL TABLE IF NOT EXISTS temp.${sql.table('ModelSearchTerms')} USING fts5vocab(main, 'ModelSearch', 'row')`.execute(
    db.kysely,
  );
  vocabularies.add(db.probe);
}

// ——— Keeping the index current ———

/**
 * Full-text search is FTS5, which only SQLite has; on PostgreSQL every search path (search, a list's `query`
 * filter, the cost estimate) refuses with NOT_SUPPORTED_ON_ENGINE until the tsvector index exists (issue 13).
 */
export function assertFullTextSearch(dialect: SqlDialect): void {
  if (dialect.name !== 'sqlite')
    throw new AppError(
      'NOT_SUPPORTED_ON_ENGINE',
      'Full-text search (search, filter.query) is not available on PostgreSQL catalogs yet.',
      { engine: dialect.name },
    );
}

/** True when no model waits for its search document (always on engines without the search index). */
export async function searchIndexIsCurrent(db: CatalogDatabase): Promise<boolean> {
  if (db.dialect.name !== 'sqlite') return true;
  const build = () => db.kysely.selectFrom('ModelSearchDirty').select('ModelId').limit(1);
  return (await runShaped(db.kysely, `${db.dialect.name}|searchIndexIsCurrent`, build, {})).length === 0;
}

export function dirtyModels(trx: Transaction<Database>, limit: number): Promise<number[]> {
  return trx
    .selectFrom('ModelSearchDirty')
    .select('ModelId')
    .limit(limit)
    .execute()
    .then((rows) => rows.map((r) => r.ModelId));
}

/** What a model's search document is made of, for a batch of models (texts joined with ' | '). */
export async function documentSources(
  trx: Transaction<Database>,
  dialect: CatalogDatabase['dialect'],
  ids: readonly number[],
  maxPromptText: number,
) {
  const m = table('Models', 'm');
  const c = table('Creators', 'c');
  const mt = table('ModelTags', 'mt');
  const t = table('Tags', 't');
  const v = table('ModelVersions', 'v');
  const w = table('TriggerWords', 'w');
  const f = table('ModelFiles', 'f');
  const i = table('ModelImages', 'i');
  const db = trx as unknown as AnyDb;
  const grouped = (query: AnySelect, text: RawBuilder<unknown>, modelId: RawBuilder<unknown>) =>
    query
      .select([sql`${modelId}`.as('id'), text.as('text')])
      .groupBy(modelId)
      .execute() as Promise<{ id: number; text: string | null }[]>;
  const [models, tags, versions, words, files, prompts] = await Promise.all([
    db
      .selectFrom(m.item)
      .leftJoin(c.item, (j) => j.on(sql<SqlBool>`${c('Id')} = ${m('CreatorId')}`))
      .select([
        sql`${m('Id')}`.as('id'),
        sql`${m('Name')}`.as('name'),
        sql`${m('Description')}`.as('description'),
        sql`${c('Username')}`.as('creator'),
      ])
      .where(dialect.inList(m('Id'), ids))
      .execute() as Promise<{ id: number; name: string; description: string | null; creator: string | null }[]>,
    grouped(
      db
        .selectFrom(mt.item)
        .innerJoin(t.item, (j) => j.on(sql<SqlBool>`${t('Id')} = ${mt('TagId')}`))
        .where(dialect.inList(mt('ModelId'), ids)),
      sql`group_concat(${t('Name')}, ' | ')`,
      mt('ModelId'),
    ),
    db
      .selectFrom(v.item)
      .where(dialect.inList(v('ModelId'), ids))
      .select([
        sql`${v('ModelId')}`.as('id'),
        sql`group_concat(${v('Name')}, ' | ')`.as('names'),
        sql`group_concat(${v('BaseModel')} || ' ' || COALESCE(${v('BaseModelRaw')}, ''), ' | ')`.as('bases'),
      ])
      .groupBy(v('ModelId'))
      .execute() as Promise<{ id: number; names: string; bases: string }[]>,
    grouped(
      db
        .selectFrom(w.item)
        .innerJoin(v.item, (j) => j.on(sql<SqlBool>`${v('Id')} = ${w('ModelVersionId')}`))
        .where(dialect.inList(v('ModelId'), ids)),
      sql`group_concat(${w('Word')}, ' | ')`,
      v('ModelId'),
    ),
    grouped(
      db
        .selectFrom(f.item)
        .innerJoin(v.item, (j) => j.on(sql<SqlBool>`${v('Id')} = ${f('ModelVersionId')}`))
        .where(dialect.inList(v('ModelId'), ids)),
      sql`group_concat(${f('FileName')}, ' | ')`,
      v('ModelId'),
    ),
    grouped(
      db
        .selectFrom(i.item)
        .innerJoin(v.item, (j) => j.on(sql<SqlBool>`${v('Id')} = ${i('ModelVersionId')}`))
        .where(dialect.inList(v('ModelId'), ids))
        .where(sql<SqlBool>`${i('Prompt')} IS NOT NULL`),
      sql`substr(group_concat(${i('Prompt')}, ' | '), 1, ${maxPromptText})`,
      v('ModelId'),
    ),
  ]);
  const byId = <R extends { id: number }>(rows: R[]) => new Map(rows.map((r) => [r.id, r]));
  return {
    models,
    tags: byId(tags),
    versions: byId(versions),
    words: byId(words),
    files: byId(files),
    prompts: byId(prompts),
  };
}

/** Replaces the documents of `ids` (those in `docs`; the others were deleted) and clears their dirty marks. */
export async function replaceDocuments(
  trx: Transaction<Database>,
  dialect: CatalogDatabase['dialect'],
  ids: readonly number[],
  docs: ReadonlyMap<number, SearchDocument>,
): Promise<void> {
  await trx.deleteFrom('ModelSearch').where(dialect.inList('rowid', ids)).execute();
  if (docs.size > 0)
    await trx
      .insertInto('ModelSearch')
      .values([...docs].map(([rowid, doc]) => ({ rowid, ...doc })))
      .execute();
  await trx.deleteFrom('ModelSearchDirty').where(dialect.inList('ModelId', ids)).execute();
}
