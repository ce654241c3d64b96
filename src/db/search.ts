/**
 * The full-text index's SQL. SQLite: FTS5 — ModelSearch holds one document per model (rowid = Models.Id), phrase and
 * prefix searches rank with bm25 (column weights set by the AddModelSearch migration), and the page's rows are
 * highlighted by FTS5. PostgreSQL: ModelSearch holds the same texts and a tsvector (GIN-indexed) built in code by
 * SQLite's word rules (`postgres/text-search.ts`), phrase and prefix searches rank with ts_rank_cd, highlights are
 * computed from the texts (`src/search/highlight.ts`). On both, the project's own postings beside each document
 * (`search-postings.ts`) rank searches of plain words, and its vocabulary (ModelSearchTerms) gives the cost
 * estimates; documents are kept current from ModelSearchDirty (filled by triggers, whoever writes). The text rules
 * (which words, which phrases) are `src/search/query.ts`'s.
 */
import { type RawBuilder, type SqlBool, type Transaction, sql } from 'kysely';
import type { Ordering } from '../catalog/pagination.ts';
import { matchExpression, type SearchTerm, searchTerms } from '../search/query.ts';
import type { CatalogDatabase } from './catalog-database.ts';
import type { ListQuery, ListSource } from './pages.ts';
import type { SqlDialect } from './dialect.ts';
import { planKey, type RowFields, selectColumns } from './row-mapping.ts';
import { yieldIfBusy } from './request-scope.ts';
import { runCompiled, runShaped, shapeBuilder, slot } from './shaped.ts';
import { type AnyDb, type AnySelect, table } from './refs.ts';
import type { Database } from './schema.ts';
import { documentVector, RANK_NORMALIZATION, RANK_WEIGHTS, searchQuery } from './postgres/text-search.ts';
import { ELLIPSIS, SNIPPET_TOKENS } from '../search/highlight.ts';
import { type DocumentPostings, documentPostings } from '../search/ranking.ts';
import { replacePostings } from './search-postings.ts';

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

/** A search in the engine's query language: an FTS5 MATCH expression, or a PostgreSQL tsquery. */
export function matchText(dialect: SqlDialect, terms: readonly SearchTerm[]): string {
  return dialect.name === 'sqlite' ? matchExpression(terms) : searchQuery(terms);
}

/** Documents matching a search (`match` from `matchText`: a value or a slot). */
function matching(dialect: SqlDialect, match: unknown): RawBuilder<SqlBool> {
  return dialect.name === 'sqlite'
    ? sql<SqlBool>`${sql.table('ModelSearch')} MATCH ${match}`
    : sql<SqlBool>`"document" @@ CAST(${match} AS tsquery)`;
}

/** Model ids whose document matches the user's search text (for `IN (…)` filters). */
export function searchMatch(dialect: SqlDialect, query: string): RawBuilder<unknown> {
  const match = matchText(dialect, searchTerms(query));
  const id = sql.raw(dialect.name === 'sqlite' ? 'rowid' : '"ModelId"');
  return sql`SELECT ${id} FROM ${sql.table('ModelSearch')} WHERE ${matching(dialect, match)}`;
}

/** Ranked by rank (lower is better: negated bm25 or ts_rank_cd), then by model id. */
export const SEARCH_ORDERING: Ordering = {
  signature: 'search:RANK',
  keys: [
    { expression: index('rank'), direction: 'ASC' },
    { expression: models('Id'), direction: 'ASC' },
  ],
};

/**
 * The matching documents as `s` with `rowid` and `rank` — FTS5's own columns on SQLite; on PostgreSQL a subquery
 * giving the same two (which the planner flattens into the join).
 */
function matchingDocuments(dialect: SqlDialect, match: unknown) {
  if (dialect.name === 'sqlite') return index.item;
  const rank = sql`-ts_rank_cd(CAST(${sql.lit(RANK_WEIGHTS)} AS float4[]), "document", CAST(${match} AS tsquery), ${sql.lit(RANK_NORMALIZATION)})`;
  return sql`(SELECT "ModelId" AS "rowid", ${rank} AS "rank" FROM ${sql.table('ModelSearch')} WHERE ${matching(dialect, match)})`.as(
    index.alias,
  );
}

/** The matching models joined to the index (for ranking by `s.rank`), under the given filters. */
export function searchList(dialect: SqlDialect, match: unknown, filters: readonly RawBuilder<SqlBool>[]): ListQuery {
  return (db: AnyDb) => {
    const joined = db
      .selectFrom(matchingDocuments(dialect, match))
      .innerJoin(models.item, (join) => join.on(sql<SqlBool>`${models('Id')} = ${index('rowid')}`));
    return filters.reduce(
      (query, filter) => query.where(filter),
      dialect.name === 'sqlite' ? joined.where(matching(dialect, match)) : joined,
    );
  };
}

/** A search's models as a list source: built once per plan when no filter narrows it (see `shaped.ts`). */
export function searchSource(
  dialect: SqlDialect,
  match: string,
  filters: readonly RawBuilder<SqlBool>[],
  fields: RowFields,
): ListSource {
  const select = selectColumns('Model', 'm', fields);
  if (filters.length > 0) return { from: searchList(dialect, match, filters), select };
  return {
    from: searchList(dialect, slot('match'), []),
    select,
    shape: `${dialect.name}|search|${planKey(fields)}`,
    values: { match },
  };
}

/**
 * SQLite: per model of a page, whether each column matched (a highlight marker in it) and a snippet around the best
 * match, from FTS5.
 */
export function highlights(db: CatalogDatabase, match: string, ids: readonly number[], open: string, close: string) {
  const marks = (i: number) => sql<string>`highlight(${sql.table('ModelSearch')}, ${sql.lit(i)}, ${open}, ${close})`;
  const query = shapeBuilder(db.searchStatements)
    .selectFrom('ModelSearch')
    .select([
      'rowid as id',
      ...SEARCH_COLUMNS.map((_, i) => marks(i).as(`h${i}`)),
      sql<string>`snippet(${sql.table('ModelSearch')}, -1, ${open}, ${close}, ${ELLIPSIS}, ${sql.lit(SNIPPET_TOKENS)})`.as(
        'snippet',
      ),
    ])
    .where(sql<SqlBool>`${sql.table('ModelSearch')} MATCH ${match}`)
    .where(db.dialect.inList('rowid', ids));
  return runCompiled<Record<string, string | number>>(db.searchStatements, query.compile()).then(({ rows }) => rows);
}

/** PostgreSQL: the texts of the page's documents, for `src/search/highlight.ts`. */
export function documentTexts(db: CatalogDatabase, ids: readonly number[]) {
  const columns = SEARCH_COLUMNS.map((column) => sql.ref(column));
  const query = sql`SELECT "ModelId" AS "id", ${sql.join(columns)}
    FROM ${sql.table('ModelSearch')} WHERE ${db.dialect.inList('ModelId', ids)}`.compile(
    shapeBuilder(db.searchStatements),
  );
  return runCompiled<Record<SearchColumn | 'id', string | number>>(db.searchStatements, query).then(({ rows }) => rows);
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
 * the range [word, word + U+0001), a prefix [word, word + U+FFFF), so every word has the same statement shape (no
 * indexed word holds U+0000 or U+0001, and PostgreSQL text cannot hold U+0000).
 */
export async function wordPostings(
  db: CatalogDatabase,
  words: readonly VocabularyWord[],
  maxTerms: number,
): Promise<{ terms: number; docs: number }[]> {
  const found: { terms: number; docs: number }[] = [];
  for (let start = 0; start < words.length; start += WORDS_PER_STATEMENT) {
    const chunk = words.slice(start, start + WORDS_PER_STATEMENT);
    const values: Record<string, unknown> = {};
    chunk.forEach(({ word, prefix }, i) => {
      values[`from${i}`] = word;
      values[`to${i}`] = `${word}${prefix ? '\uffff' : '\u0001'}`;
    });
    const build = () => {
      const branch = (i: number) =>
        db.kysely
          .selectFrom(
            db.kysely
              .selectFrom('ModelSearchTerms')
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
      db.statements,
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

// ——— Keeping the index current ———

/** True when no model waits for its search document. */
export async function searchIndexIsCurrent(db: CatalogDatabase): Promise<boolean> {
  const build = () => db.kysely.selectFrom('ModelSearchDirty').select('ModelId').limit(1);
  return (await runShaped(db.statements, `${db.dialect.name}|searchIndexIsCurrent`, build, {})).length === 0;
}

/** How many models wait for their document. */
export async function waitingDocuments(db: CatalogDatabase): Promise<number> {
  const row = await db.kysely
    .selectFrom('ModelSearchDirty')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Up to `limit` models waiting for their document. On PostgreSQL their notes are locked until the transaction
 * ends: another process rebuilding at the same time waits for them instead of writing the same documents, and a
 * write to one of these models meanwhile waits too and notes it again afterwards (see the AddModelSearch
 * migration). SQLite's write transaction already excludes both.
 */
export function dirtyModels(trx: Transaction<Database>, dialect: SqlDialect, limit: number): Promise<number[]> {
  const query = trx.selectFrom('ModelSearchDirty').select('ModelId').limit(limit);
  return (dialect.name === 'sqlite' ? query : query.orderBy('ModelId').forUpdate())
    .execute()
    .then((rows) => rows.map((r) => r.ModelId));
}

/** Between the texts of one field (its tags, its file names…). Not a word: a phrase may span two tags, as FTS5 lets it. */
const SEPARATOR = ' | ';

/**
 * What a model's search document is made of, for a batch of models: each field's texts joined in row order (the
 * same order on both engines, so the same documents).
 */
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
      dialect.groupConcat(t('Name'), SEPARATOR, t('Id')),
      mt('ModelId'),
    ),
    db
      .selectFrom(v.item)
      .where(dialect.inList(v('ModelId'), ids))
      .select([
        sql`${v('ModelId')}`.as('id'),
        dialect.groupConcat(v('Name'), SEPARATOR, v('Id')).as('names'),
        dialect
          .groupConcat(sql`${v('BaseModel')} || ' ' || COALESCE(${v('BaseModelRaw')}, '')`, SEPARATOR, v('Id'))
          .as('bases'),
      ])
      .groupBy(v('ModelId'))
      .execute() as Promise<{ id: number; names: string; bases: string }[]>,
    grouped(
      db
        .selectFrom(w.item)
        .innerJoin(v.item, (j) => j.on(sql<SqlBool>`${v('Id')} = ${w('ModelVersionId')}`))
        .where(dialect.inList(v('ModelId'), ids)),
      dialect.groupConcat(w('Word'), SEPARATOR, w('Id')),
      v('ModelId'),
    ),
    grouped(
      db
        .selectFrom(f.item)
        .innerJoin(v.item, (j) => j.on(sql<SqlBool>`${v('Id')} = ${f('ModelVersionId')}`))
        .where(dialect.inList(v('ModelId'), ids)),
      dialect.groupConcat(f('FileName'), SEPARATOR, f('Id')),
      v('ModelId'),
    ),
    grouped(
      db
        .selectFrom(i.item)
        .innerJoin(v.item, (j) => j.on(sql<SqlBool>`${v('Id')} = ${i('ModelVersionId')}`))
        .where(dialect.inList(v('ModelId'), ids))
        .where(sql<SqlBool>`${i('Prompt')} IS NOT NULL`),
      sql`substr(${dialect.groupConcat(i('Prompt'), SEPARATOR, i('Id'))}, 1, ${maxPromptText})`,
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

/**
 * Replaces the documents of `ids` (those in `docs`; the others were deleted) and their postings, and clears their
 * dirty marks.
 */
export async function replaceDocuments(
  trx: Transaction<Database>,
  dialect: CatalogDatabase['dialect'],
  ids: readonly number[],
  docs: ReadonlyMap<number, SearchDocument>,
): Promise<void> {
  const postings = new Map<number, DocumentPostings>();
  for (const [id, doc] of docs) {
    // Splitting a document into words is work on the event loop: one document at a time, taking turns with requests.
    await yieldIfBusy();
    postings.set(id, documentPostings(doc, SEARCH_COLUMNS));
  }
  await replacePostings(trx, dialect, ids, postings);
  if (dialect.name === 'sqlite') {
    await trx.deleteFrom('ModelSearch').where(dialect.inList('rowid', ids)).execute();
    if (docs.size > 0)
      await trx
        .insertInto('ModelSearch')
        .values([...docs].map(([rowid, doc]) => ({ rowid, ...doc })))
        .execute();
  } else await replacePostgresDocuments(trx, dialect, ids, docs);
  await trx.deleteFrom('ModelSearchDirty').where(dialect.inList('ModelId', ids)).execute();
}

/** PostgreSQL: the documents with their tsvectors. */
async function replacePostgresDocuments(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  ids: readonly number[],
  docs: ReadonlyMap<number, SearchDocument>,
): Promise<void> {
  await sql`DELETE FROM ${sql.table('ModelSearch')} WHERE ${dialect.inList('ModelId', ids)}`.execute(trx);
  const rows: RawBuilder<unknown>[] = [];
  for (const [id, doc] of docs) {
    await yieldIfBusy();
    const { vector } = documentVector(doc);
    const texts = SEARCH_COLUMNS.map((column) => sql`${doc[column]}`);
    rows.push(sql`(${id}, ${sql.join(texts)}, CAST(${vector} AS tsvector))`);
  }
  if (rows.length > 0)
    await sql`INSERT INTO ${sql.table('ModelSearch')} ("ModelId", ${sql.join(SEARCH_COLUMNS.map((c) => sql.ref(c)))}, "document")
      VALUES ${sql.join(rows)}`.execute(trx);
}
