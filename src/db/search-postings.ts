/**
 * The search index's own postings (the AddSearchPostings migrations; what they mean: `src/search/ranking.ts`), on
 * either engine: kept beside each search document by `replacePostings`, and read by the top-k search
 * (`src/search/top-k.ts`) — a word's best postings, the postings of given models, the statistics.
 */
import { type RawBuilder, type SqlBool, type Transaction, sql } from 'kysely';
import { type DocumentPostings, postingImpact, postingWord } from '../search/ranking.ts';
import type { CatalogQueries } from './catalog-database.ts';
import type { SqlDialect } from './dialect.ts';
import { planKey, type RowFields, selectColumns } from './row-mapping.ts';
import type { AnyDb, AnySelect } from './refs.ts';
import { yieldIfBusy } from './request-scope.ts';
import type { Database } from './schema.ts';
import { runCompiled, runShaped, type ShapedQueries, shapeBuilder, slot } from './shaped.ts';

/** Rows per INSERT statement (SQLite takes at most 32,766 parameters in one). */
const ROWS_PER_INSERT = 1_500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * Replaces the postings and lengths of `ids` with those of `docs` (the documents of the models that still exist),
 * and moves the vocabulary and statistics by the difference. On PostgreSQL the statistics row is locked first:
 * rebuilds by several processes take turns, each seeing the others' counts.
 */
export async function replacePostings(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  ids: readonly number[],
  docs: ReadonlyMap<number, DocumentPostings>,
): Promise<void> {
  const statsQuery = trx.selectFrom('ModelSearchStats').select(['Documents', 'Tokens', 'ReferenceLength']);
  const stats = await (dialect.name === 'sqlite' ? statsQuery : statsQuery.forUpdate()).executeTakeFirstOrThrow();
  const oldTerms = await trx
    .deleteFrom('ModelSearchPostings')
    .where(dialect.inList('ModelId', ids))
    .returning('Term')
    .execute();
  const oldLengths = await trx
    .deleteFrom('ModelSearchLengths')
    .where(dialect.inList('ModelId', ids))
    .returning('Length')
    .execute();
  const change = new Map<string, number>();
  for (const { Term } of oldTerms) change.set(Term, (change.get(Term) ?? 0) - 1);
  let documents = Number(stats.Documents) - oldLengths.length;
  let tokens = Number(stats.Tokens) - oldLengths.reduce((sum, row) => sum + Number(row.Length), 0);
  let added = 0;
  for (const doc of docs.values()) added += doc.length;
  // The reference length is the first documents' average, then kept: impacts stay comparable across writes.
  const reference =
    Number(stats.ReferenceLength) > 0 ? Number(stats.ReferenceLength) : Math.max(1, added / Math.max(1, docs.size));
  const postings: PostingRow[] = [];
  for (const [id, doc] of docs) {
    await yieldIfBusy();
    for (const [term, frequency] of doc.frequencies) {
      if (!postingWord(term)) continue;
      postings.push({
        Term: term,
        ModelId: id,
        Frequency: frequency,
        Length: doc.length,
        Impact: postingImpact(frequency, doc.length, reference),
      });
      change.set(term, (change.get(term) ?? 0) + 1);
    }
  }
  documents += docs.size;
  tokens += added;
  const lengths = [...docs].map(([id, doc]) => ({ ModelId: id, Length: doc.length }));
  for (const chunk of chunks(lengths, ROWS_PER_INSERT))
    await trx.insertInto('ModelSearchLengths').values(chunk).execute();
  await insertPostings(trx, dialect, postings);
  await moveVocabulary(trx, dialect, change);
  await trx
    .updateTable('ModelSearchStats')
    .set({ Documents: documents, Tokens: tokens, ReferenceLength: reference })
    .where('Id', '=', 1)
    .execute();
}

type PostingRow = Database['ModelSearchPostings'];

async function insertPostings(trx: Transaction<Database>, dialect: SqlDialect, postings: PostingRow[]): Promise<void> {
  if (postings.length === 0) return;
  if (dialect.name === 'sqlite') {
    // Numbers as parameters, never as text: a frequency must reach the table as the very double FTS5 would sum.
    for (const chunk of chunks(postings, ROWS_PER_INSERT))
      await trx.insertInto('ModelSearchPostings').values(chunk).execute();
    return;
  }
  for (const chunk of chunks(postings, 20_000))
    await sql`INSERT INTO "ModelSearchPostings" ("Term", "ModelId", "Frequency", "Length", "Impact")
      SELECT * FROM unnest(CAST(${chunk.map((p) => p.Term)} AS text[]), CAST(${chunk.map((p) => p.ModelId)} AS integer[]),
        CAST(${chunk.map((p) => p.Frequency)} AS float8[]), CAST(${chunk.map((p) => p.Length)} AS integer[]),
        CAST(${chunk.map((p) => p.Impact)} AS float8[]))`.execute(trx);
}

/**
 * The vocabulary moved by `change` (documents holding each word, more or fewer): one upsert of every changed count,
 * in word order (concurrent rebuilds on PostgreSQL then lock the words they share in the same order), and words no
 * document holds any more removed.
 */
async function moveVocabulary(trx: Transaction<Database>, dialect: SqlDialect, change: ReadonlyMap<string, number>) {
  const changed = [...change].filter(([, by]) => by !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (changed.length === 0) return;
  if (dialect.name === 'sqlite') {
    for (const chunk of chunks(changed, ROWS_PER_INSERT))
      await trx
        .insertInto('ModelSearchTerms')
        .values(chunk.map(([term, doc]) => ({ term, doc })))
        .onConflict((conflict) => conflict.column('term').doUpdateSet({ doc: sql`"doc" + excluded."doc"` }))
        .execute();
  } else {
    await sql`INSERT INTO "ModelSearchTerms" ("term", "doc")
      SELECT "term", "doc" FROM unnest(CAST(${changed.map(([term]) => term)} AS text[]), CAST(${changed.map(([, by]) => by)} AS integer[])) AS c ("term", "doc")
      ORDER BY "term" COLLATE "C"
      ON CONFLICT ("term") DO UPDATE SET "doc" = "ModelSearchTerms"."doc" + EXCLUDED."doc"`.execute(trx);
  }
  const fewer = changed.filter(([, by]) => by < 0).map(([term]) => term);
  for (const chunk of chunks(fewer, ROWS_PER_INSERT))
    await trx.deleteFrom('ModelSearchTerms').where(dialect.inList('term', chunk)).where('doc', '<=', 0).execute();
}

/**
 * Fresh planner statistics for the postings tables once a rebuild has written a large part of them (at least 50
 * documents and a tenth of the index: autovacuum's own thresholds, acted on at once), on PostgreSQL. Until
 * autovacuum comes round — a minute or more after a bulk rebuild — the planner has none for what was just written,
 * and plans "the postings of these models" as a scan of a common word's every posting (a model's-name search took
 * 31 ms instead of 4 on 10,000 freshly indexed models). SQLite's plans for these statements do not depend on
 * statistics (the primary key and the impact index are the only paths): nothing to do there.
 */
export async function refreshPostingStatistics(
  db: CatalogQueries,
  dialect: SqlDialect,
  rebuilt: number,
): Promise<void> {
  if (dialect.name !== 'postgres' || rebuilt < 50) return;
  const stats = await db.selectFrom('ModelSearchStats').select('Documents').where('Id', '=', 1).executeTakeFirst();
  if (rebuilt * 10 < Number(stats?.Documents ?? 0)) return;
  await sql`ANALYZE "ModelSearchPostings", "ModelSearchTerms", "ModelSearchLengths"`.execute(db);
}

// ——— Reading them ———

export interface Posting {
  /** Which word of the search (its index). */
  k: number;
  ModelId: number;
  Frequency: number;
  Length: number;
  Impact: number;
}

/** What scoring needs besides the postings: each word's idf and the collection's statistics. */
export interface WordRow {
  k: number;
  /** ln((N − n + 0.5) / (n + 0.5)) as FTS5 computes it: in doubles, through C's log (the engine's `ln`). */
  idf: number;
  documents: number | string;
  tokens: number | string;
  reference: number;
  /** How many documents hold the word. */
  doc: number | string;
}

const float = (value: RawBuilder<unknown>) => sql`CAST(${value} AS DOUBLE PRECISION)`;

/** Word `w{i}`'s vocabulary row (none when no document holds it) with its idf and the statistics. */
function wordRow(db: AnyDb, i: number) {
  return db
    .selectFrom('ModelSearchTerms as t')
    .innerJoin('ModelSearchStats as s', (join) => join.on(sql<SqlBool>`${sql.ref('s.Id')} = 1`))
    .where('t.term', '=', slot(`w${i}`))
    .select([
      sql<number>`${sql.lit(i)}`.as('k'),
      sql<null>`NULL`.as('ModelId'),
      sql<null>`NULL`.as('Frequency'),
      sql<null>`NULL`.as('Length'),
      sql<null>`NULL`.as('Impact'),
      sql<number>`ln((${float(sql`${sql.ref('s.Documents')} - ${sql.ref('t.doc')}`)} + 0.5) / (${float(sql.ref('t.doc'))} + 0.5))`.as(
        'idf',
      ),
      's.Documents as documents',
      's.Tokens as tokens',
      's.ReferenceLength as reference',
      't.doc as doc',
    ]);
}

/**
 * Each word's `depth` best postings (highest impact first; ties by the higher model id: the index read backward), from the impact index alone — and,
 * when `withWords`, a row per word held by some document with its idf and the statistics (`Impact` null) — in one
 * statement.
 */
export async function bestPostings(
  queries: ShapedQueries,
  words: readonly string[],
  depth: number,
  withWords: boolean,
): Promise<{ postings: Posting[]; words: WordRow[] }> {
  const values: Record<string, unknown> = { depth };
  words.forEach((word, i) => {
    values[`w${i}`] = word;
  });
  const rows = await runShaped<Posting & Partial<WordRow> & { Impact: number | null }>(
    queries,
    `bestPostings|${words.length}|${withWords}`,
    () => {
      const db = shapeBuilder(queries) as unknown as AnyDb;
      const postings = (i: number) =>
        db
          .selectFrom(
            db
              .selectFrom('ModelSearchPostings')
              .select(['ModelId', 'Frequency', 'Length', 'Impact'])
              .where('Term', '=', slot(`w${i}`))
              .orderBy('Impact', 'desc')
              .orderBy('ModelId', 'desc')
              .limit(slot<number>('depth'))
              .as('p'),
          )
          .select([
            sql<number>`${sql.lit(i)}`.as('k'),
            'p.ModelId',
            'p.Frequency',
            'p.Length',
            'p.Impact',
            // Columns of the words' rows, only when they are read too (one column list for the union): five
            // more properties on each of a round's rows cost as much as reading them (64 rows: 125 µs against 75).
            ...(withWords
              ? [
                  sql<null>`NULL`.as('idf'),
                  sql<null>`NULL`.as('documents'),
                  sql<null>`NULL`.as('tokens'),
                  sql<null>`NULL`.as('reference'),
                  sql<null>`NULL`.as('doc'),
                ]
              : []),
          ]);
      const word = (i: number) => wordRow(db, i);
      const branches: AnySelect[] = words.flatMap((_, i) => (withWords ? [postings(i), word(i)] : [postings(i)]));
      return branches.slice(1).reduce((query, branch) => query.unionAll(branch), branches[0]!);
    },
    values,
  );
  const found: { postings: Posting[]; words: WordRow[] } = { postings: [], words: [] };
  for (const row of rows) {
    if (row.Impact === null) found.words.push(row as WordRow);
    else found.postings.push(row);
  }
  return found;
}

/** Each word held by some document (`k`, its index) with its document count and idf, and the statistics. */
export function wordStatistics(queries: ShapedQueries, words: readonly string[]): Promise<WordRow[]> {
  const values: Record<string, unknown> = {};
  words.forEach((word, i) => {
    values[`w${i}`] = word;
  });
  return runShaped(
    queries,
    `wordStatistics|${words.length}`,
    () => {
      const branches: AnySelect[] = words.map((_, i) => wordRow(shapeBuilder(queries) as unknown as AnyDb, i));
      return branches.slice(1).reduce((query, branch) => query.unionAll(branch), branches[0]!);
    },
    values,
  );
}

/** A model holding every word of a search: its document's length, its frequency of each word (in `words`' order). */
export interface Match {
  id: number;
  matchLength: number;
  frequencies: number[];
  /** The statement's row: its Models columns when they were read with it (else `id`), and the match's own columns. */
  row: Record<string, unknown>;
}

/**
 * Every model holding all of `words` (distinct), one row per model with each word's frequency — and its Models
 * columns when `fields` is given (a row-field plan, or null for all) — in one statement, for a search whose rarest
 * word `words[rarest]` is in few documents (a model's name: the whole answer). The rarest word's postings drive; the
 * other words' frequencies are looked up per model by primary key (correlated subqueries: joins let PostgreSQL's
 * planner hash every posting of a common word, a cost that grows with the catalog; a common table expression of the
 * matches read back per word was evaluated once per word on SQLite, 610 µs for a name whose rarest word is in 160 of
 * 10,000 documents, against 280 µs so), and a model lacking one of them is no match.
 */
export async function matchesThroughRarest(
  queries: ShapedQueries,
  dialect: SqlDialect,
  words: readonly string[],
  rarest: number,
  fields: RowFields | undefined,
): Promise<Match[]> {
  const values: Record<string, unknown> = {};
  words.forEach((word, i) => {
    values[`w${i}`] = word;
  });
  const frequencyOf = frequencyColumns(words.length);
  const rows = await runShaped<Record<string, unknown>>(
    queries,
    `${dialect.name}|matchesThroughRarest|${words.length}|${rarest}|${fields === undefined ? '-' : planKey(fields)}`,
    () => {
      const db = shapeBuilder(queries) as unknown as AnyDb;
      const frequency = (i: number) =>
        i === rarest
          ? sql<number>`${sql.ref('r.Frequency')}`.as(frequencyOf[i]!)
          : db
              .selectFrom('ModelSearchPostings as o')
              .select('o.Frequency')
              .where('o.Term', '=', slot(`w${i}`))
              .whereRef('o.ModelId', '=', 'r.ModelId')
              .as(frequencyOf[i]!);
      const postings = db
        .selectFrom('ModelSearchPostings as r')
        .where('r.Term', '=', slot(`w${rarest}`))
        .select([sql<number>`${sql.ref('r.Length')}`.as('matchLength'), ...words.map((_, i) => frequency(i))]);
      if (fields === undefined) return postings.select(sql<number>`${sql.ref('r.ModelId')}`.as('id'));
      if (dialect.name !== 'postgres')
        return postings.innerJoin('Models as m', 'm.Id', 'r.ModelId').select(selectColumns('Model', 'm', fields));
      // Each match's model by its key (LATERAL): joined plainly, a generic plan (made without the words) expects
      // the average word's many postings and hashed every model instead (10,000 models: 0.56 ms against 0.03).
      const columns = selectColumns('Model', 'm', fields);
      // (LIMIT keeps the planner from pulling the subquery up into that plain join.)
      const model = db.selectFrom('Models as m').select(columns).whereRef('m.Id', '=', 'r.ModelId').limit(sql.lit(1));
      return postings
        .innerJoinLateral(model.as('mm'), (join) => join.onTrue())
        .select(columns.map((column) => sql.ref(`mm.${column.alias as string}`).as(column.alias as string)));
    },
    values,
  );
  // The extra columns stay on the row (a row mapper passes them through, as a page's sort keys).
  const matches: Match[] = [];
  for (const row of rows) {
    const frequencies: number[] = [];
    for (const column of frequencyOf) {
      const frequency = row[column];
      if (frequency === null || frequency === undefined) break;
      frequencies.push(Number(frequency));
    }
    if (frequencies.length === frequencyOf.length)
      matches.push({ id: Number(row.id), matchLength: Number(row.matchLength), frequencies, row });
  }
  return matches;
}

/** `matchFrequency0` … for `count` words: read for every row of a name search, so made once per word count. */
const frequencyColumnLists: string[][] = [];
function frequencyColumns(count: number): readonly string[] {
  for (let n = frequencyColumnLists.length; n <= count; n++)
    frequencyColumnLists.push(Array.from({ length: n }, (_, i) => `matchFrequency${i}`));
  return frequencyColumnLists[count]!;
}

/** A posting read for a model already seen (its impact is not needed: the round's bounds come from the best ones). */
export type ProbedPosting = Omit<Posting, 'Impact'>;

/**
 * The postings of word `k` for the models `ids[k]` (per word), by word and model. On PostgreSQL each model is looked
 * up on its own (a LATERAL probe per id): with the ids as one `= ANY` list its planner read the word's whole range
 * and filtered it (it cannot know a word is common from a generic plan), 700 rows per word on the 1,000-model
 * benchmark catalog and ten times that on 10,000, where 4,000 ids took 73 ms against 7 ms so; SQLite looks an IN
 * list up id by id by itself.
 */
export function postingsOf(
  queries: ShapedQueries,
  dialect: SqlDialect,
  words: readonly string[],
  ids: readonly (readonly number[])[],
): Promise<ProbedPosting[]> {
  const values: Record<string, unknown> = {};
  words.forEach((word, i) => {
    values[`w${i}`] = word;
    values[`ids${i}`] = dialect.listParameter(ids[i]!);
  });
  return runShaped(
    queries,
    `${dialect.name}|postingsOf|${words.length}`,
    () => {
      const db = shapeBuilder(queries) as unknown as AnyDb;
      const branch = (i: number): AnySelect => {
        if (dialect.name !== 'postgres')
          return db
            .selectFrom('ModelSearchPostings')
            .select([sql<number>`${sql.lit(i)}`.as('k'), 'ModelId', 'Frequency', 'Length'])
            .where('Term', '=', slot(`w${i}`))
            .where(dialect.inListParameter('ModelId', slot(`ids${i}`)));
        const probe = db
          .selectFrom('ModelSearchPostings as o')
          .select(['o.ModelId', 'o.Frequency', 'o.Length'])
          .where('o.Term', '=', slot(`w${i}`))
          .where(sql<SqlBool>`${sql.ref('o.ModelId')} = ${sql.ref('i.i')}`)
          .limit(sql.lit(1));
        return db
          .selectFrom(sql`unnest(CAST(${slot(`ids${i}`)} AS integer[]))`.as('i'))
          .innerJoinLateral(probe.as('p'), (join) => join.onTrue())
          .select([sql<number>`${sql.lit(i)}`.as('k'), 'p.ModelId', 'p.Frequency', 'p.Length']);
      };
      return words.slice(1).reduce((query, _, i) => query.unionAll(branch(i + 1)), branch(0));
    },
    values,
  ) as Promise<ProbedPosting[]>;
}

/** Which of `ids` pass the filters (conditions on `m`, the Models row). */
export async function passingFilters(
  queries: ShapedQueries,
  dialect: SqlDialect,
  ids: readonly number[],
  filters: readonly RawBuilder<SqlBool>[],
): Promise<Set<number>> {
  const query = filters.reduce(
    (q, filter) => q.where(filter),
    (shapeBuilder(queries) as unknown as AnyDb)
      .selectFrom('Models as m')
      .select('m.Id')
      .where(dialect.inList('m.Id', ids)),
  );
  const { rows } = await runCompiled<{ Id: number }>(queries, query.compile());
  return new Set(rows.map((row) => Number(row.Id)));
}

/** The Models rows of `ids` (a row-field plan, or every column), in no particular order. */
export function modelRows(
  queries: ShapedQueries,
  dialect: SqlDialect,
  ids: readonly number[],
  fields: RowFields,
): Promise<Record<string, unknown>[]> {
  return runShaped(
    queries,
    `${dialect.name}|modelRows|${planKey(fields)}`,
    () =>
      (shapeBuilder(queries) as unknown as AnyDb)
        .selectFrom('Models as m')
        .select(selectColumns('Model', 'm', fields))
        .where(dialect.inListParameter('m.Id', slot('ids'))),
    { ids: dialect.listParameter(ids) },
  );
}
