/**
 * The physical-limit baseline on PostgreSQL: what a careful engineer would write with `pg` alone for each answer —
 * a pool as large as our server's default one, default type parsing, the cheapest plans the catalog's indexes give,
 * each statement prepared once per connection and planned once (generic plans):
 *
 * - `timestamptz` is an instant, so pages order by the plain column (`IX_Models_CreatedAt`), and the cursor key is
 *   the instant's ISO text (the same text our cursors carry);
 * - nested pages are `LATERAL … LIMIT` per parent over the (parent, order) indexes, key lists one array parameter;
 * - independent reads of one answer run at once on different pooled connections (a round trip each, not a sum);
 * - a search of plain words ranks from the catalog's postings (`postings-top-k.ts`); a model's name in one round
 *   trip, its words' statistics and its page together.
 *
 * It shares only pure helpers with the product (enums, Relay ids, cursor encodings) and the JSON assembly with the
 * SQLite baselines (`answer-json.ts`); the benchmark checks the answers are equal before timing.
 */
import pg from 'pg';
import { DEFAULT_DATABASE_POOL_SIZE } from '../src/config.ts';
import { RANK_NORMALIZATION, RANK_WEIGHTS, searchQuery } from '../src/db/postgres/text-search.ts';
import { searchTerms } from '../src/search/query.ts';
import { plainWords, rankScope } from '../src/search/ranking.ts';
import {
  detailAnswer,
  type DetailRows,
  groupBy,
  bestFileByHash,
  hashesAnswer,
  listAnswer,
  listCursorKey,
  type ListRows,
  listWideAnswer,
  type Row,
  searchAnswer,
  thumbnailAnswer,
} from './answer-json.ts';
import type { Baseline, ListArgs } from './baseline.ts';
import {
  ALL_AT_ONCE,
  firstDepth,
  type PostingsReader,
  type ProbedPosting,
  rankFromPostings,
  type ReadPosting,
} from './postings-top-k.ts';

const DETAIL_IMAGE_COLUMNS = `i."Id" AS id, i."Url" AS url, i."IsNsfw" AS "isNsfw", i."NsfwLevel" AS "nsfwLevel",
  i."Width" AS width, i."Height" AS height, i."BlurHash" AS "blurHash", i."SortOrder" AS "sortOrder",
  i."CreatedAt" AS "createdAt", i."Prompt" AS prompt, i."NegativePrompt" AS "negativePrompt", i."Seed"::text AS seed,
  i."Steps" AS steps, i."Sampler" AS sampler, i."CfgScale" AS "cfgScale", i."GenerationModel" AS "generationModel",
  i."DenoisingStrength" AS "denoisingStrength", i."LikeCount" AS "likeCount", i."HeartCount" AS "heartCount",
  i."CommentCount" AS "commentCount", octet_length(i."ThumbnailData") AS "thumbBytes",
  i."ThumbnailWidth" AS "thumbWidth", i."ThumbnailHeight" AS "thumbHeight"`;

/**
 * A model's rank (its negated bm25 score) from its postings `p` of the search's words `i` (one row per word, `idf`
 * raw, `k` its place) and the statistics `s`: FTS5's formula in the same double operations, summed in word order.
 */
const BM25_RANK = `-1.0::float8 * sum(CASE WHEN i.idf <= 0 THEN 1e-6::float8 ELSE i.idf END *
  ((p."Frequency" * (1.2::float8 + 1.0::float8)) / (p."Frequency" + 1.2::float8 * (1::float8 - 0.75::float8 +
  (0.75::float8 * p."Length") / s.avgdl))) ORDER BY i.k)`;

/** Searches whose words' documents, summed, are at most this many are scored whole in the first statement. */
const ALL_MATCHES_UP_TO = 1_500;

export function createPostgresBaseline(databaseUrl: string): Baseline {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: DEFAULT_DATABASE_POOL_SIZE,
    application_name: 'dn-bench-baseline',
    // Every statement here is named, prepared once per connection, and its generic plan is as good as a custom one:
    // PostgreSQL would otherwise plan the search statements anew at each execution (0.5-1 ms of a 1.3 ms answer).
    options: '-c plan_cache_mode=force_generic_plan',
  });
  let executed = 0;
  const statementNames = new Map<string, string>();
  const all = async (text: string, ...values: unknown[]): Promise<Row[]> => {
    executed++;
    // Named statements are prepared once per connection, as a careful engineer would for a hot query.
    let name = statementNames.get(text);
    if (name === undefined) statementNames.set(text, (name = `q${statementNames.size}`));
    return (await pool.query({ name, text, values })).rows as Row[];
  };
  const ids = (rows: Row[]) => rows.map((r) => Number(r.Id));

  const probed = (r: Row, id: string): ProbedPosting => ({
    k: Number(r.k),
    id: Number(r[id]),
    frequency: r.Frequency as number,
    length: Number(r.Length),
  });
  /** A best posting; `id` names its model's column (the statistics statement's union gives it as `Id`). */
  const posting = (r: Row, id = 'ModelId'): ReadPosting => ({ ...probed(r, id), impact: r.Impact as number });
  const postings: PostingsReader = {
    // Each word's statistics, and the page when it is cheap here: when the rarest word is in few documents, that
    // word's models, each scored in SQL from its postings of every word (FTS5's formula in the same double
    // operations); when the words' documents are few in all, every posting of theirs, scored and grouped (on this
    // machine a round trip costs as much as scoring a thousand postings: the rounds of `rankFromPostings` lose);
    // `paged` says which. Otherwise the first round's best postings of each word come with the statistics.
    async statistics(words, searched, first) {
      const rows = await all(
        `WITH w AS (SELECT term, k FROM unnest($1::text[]) WITH ORDINALITY AS w(term, k)),
           s AS (SELECT "Documents", "Tokens", "ReferenceLength", "Tokens"::float8 / "Documents"::float8 AS avgdl
                 FROM "ModelSearchStats" WHERE "Id" = 1),
           i AS (SELECT w.term, w.k, t.doc, x.idf FROM w JOIN "ModelSearchTerms" t ON t.term = w.term CROSS JOIN s,
                 LATERAL (SELECT ln((CAST(s."Documents" - t.doc AS float8) + 0.5::float8) / (CAST(t.doc AS float8) + 0.5::float8)) AS idf) x),
           rare AS (SELECT term FROM i WHERE doc <= $4 ORDER BY doc, k LIMIT 1),
           plan AS (SELECT EXISTS (SELECT 1 FROM rare) AS named, (SELECT sum(doc) FROM i) <= $5 AS few),
           r AS (SELECT p0."ModelId", x.rank FROM rare JOIN "ModelSearchPostings" p0 ON p0."Term" = rare.term
                 CROSS JOIN LATERAL (SELECT count(*) AS n, ${BM25_RANK} AS rank
                   FROM i JOIN "ModelSearchPostings" p ON p."Term" = i.term AND p."ModelId" = p0."ModelId" CROSS JOIN s) x
                 WHERE x.n = $2),
           every AS (SELECT p."ModelId", ${BM25_RANK} AS rank
                 FROM i JOIN "ModelSearchPostings" p ON p."Term" = i.term CROSS JOIN s
                 WHERE (SELECT NOT named AND few FROM plan)
                 GROUP BY p."ModelId" HAVING count(*) = $2)
         SELECT i.term, i.doc, i.idf, s."Documents", s."Tokens", s."ReferenceLength",
           (SELECT named OR few FROM plan) AS paged,
           NULL::int AS "Id", NULL AS "Name", NULL AS "Type", NULL::float8 AS rank, NULL::int AS k,
           NULL::float8 AS "Frequency", NULL::int AS "Length", NULL::float8 AS "Impact" FROM i CROSS JOIN s
         UNION ALL
         SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, b."ModelId", NULL, NULL, NULL, (d.k - 1)::int, b."Frequency",
           b."Length", b."Impact"
         FROM unnest($6::text[]) WITH ORDINALITY AS d(term, k) CROSS JOIN LATERAL
           (SELECT "ModelId", "Frequency", "Length", "Impact" FROM "ModelSearchPostings" WHERE "Term" = d.term
            ORDER BY "Impact" DESC, "ModelId" DESC LIMIT $7) b
         WHERE (SELECT NOT named AND NOT few FROM plan)
         UNION ALL
         (SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, m."Id", m."Name", m."Type", r.rank, NULL, NULL, NULL, NULL
          FROM (SELECT * FROM (SELECT * FROM r UNION ALL SELECT * FROM every) a ORDER BY rank, "ModelId" LIMIT $3) r
          JOIN "Models" m ON m."Id" = r."ModelId" ORDER BY r.rank, m."Id")`,
        searched,
        searched.length,
        first + 1,
        ALL_AT_ONCE,
        ALL_MATCHES_UP_TO,
        words,
        firstDepth(first),
      );
      const byWord = new Map(rows.filter((r) => r.term !== null).map((r) => [r.term as string, r]));
      const any = byWord.values().next().value;
      const stats = {
        documents: Number(any?.Documents ?? 0),
        tokens: Number(any?.Tokens ?? 0),
        referenceLength: Number(any?.ReferenceLength ?? 0),
      };
      const found = words.map((word) => {
        const r = byWord.get(word);
        return r ? { idf: r.idf as number, docs: Number(r.doc) } : null;
      });
      if (any?.paged) return { words: found, stats, page: rows.filter((r) => r.term === null && r.k === null) };
      return { words: found, stats, best: rows.filter((r) => r.k !== null).map((r) => posting(r, 'Id')) };
    },
    async best(words, depth) {
      const rows = await all(
        `SELECT w.k - 1 AS k, p.* FROM unnest($1::text[]) WITH ORDINALITY AS w(term, k) CROSS JOIN LATERAL
           (SELECT "ModelId", "Frequency", "Length", "Impact" FROM "ModelSearchPostings" WHERE "Term" = w.term
            ORDER BY "Impact" DESC, "ModelId" DESC LIMIT $2) p`,
        words,
        depth,
      );
      return rows.map((r) => posting(r));
    },
    async postingsOf(words, wanted) {
      const ks = wanted.flatMap((list, k) => list.map(() => k));
      const rows = await all(
        `SELECT x.k, p."ModelId", p."Frequency", p."Length" FROM unnest($1::int[], $2::int[]) AS x(k, id)
         JOIN "ModelSearchPostings" p ON p."Term" = ($3::text[])[x.k + 1] AND p."ModelId" = x.id`,
        ks,
        wanted.flat(),
        words,
      );
      return rows.map((r) => probed(r, 'ModelId'));
    },
    models: (modelIds) => all(`SELECT "Id", "Name", "Type" FROM "Models" WHERE "Id" = ANY($1::int[])`, modelIds),
  };

  function modelPage(columns: string, first: number, after: string | null): Promise<Row[]> {
    const select = `SELECT ${columns} FROM "Models"`;
    const order = `ORDER BY "CreatedAt" DESC, "Id" DESC`;
    if (!after) return all(`${select} ${order} LIMIT $1`, first + 1);
    const [at, id] = listCursorKey(after);
    return all(`${select} WHERE ("CreatedAt", "Id") < ($1::timestamptz, $2) ${order} LIMIT $3`, at, id, first + 1);
  }
  /** The cursor key of a model row: its instant as UTC text. */
  const withKeys = (rows: Row[]) => {
    for (const r of rows) r.at = (r.CreatedAt as Date).toISOString();
    return rows;
  };

  const creators = async (models: Row[]) => {
    const wanted = [...new Set(models.map((m) => m.CreatorId).filter((id) => id !== null))];
    const rows = wanted.length
      ? await all(`SELECT "Id", "Username" FROM "Creators" WHERE "Id" = ANY($1::int[])`, wanted)
      : [];
    return new Map(rows.map((c) => [Number(c.Id), c.Username]));
  };
  const tags = async (modelIds: number[], columns: string) =>
    groupBy(
      await all(
        `SELECT mt."ModelId", ${columns} FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
         WHERE mt."ModelId" = ANY($1::int[]) ORDER BY t."NormalizedName"`,
        modelIds,
      ),
      'ModelId',
    );
  const versions = async (modelIds: number[], columns: string, perModel: number) =>
    groupBy(
      await all(
        `SELECT p.id AS "parentId", v.* FROM unnest($1::int[]) AS p(id) CROSS JOIN LATERAL
           (SELECT ${columns} FROM "ModelVersions" WHERE "ModelId" = p.id ORDER BY "CreatedAt" DESC, "Id" DESC LIMIT $2) v`,
        modelIds,
        perModel,
      ),
      'parentId',
    );
  const files = async (versionIds: number[], columns: string) =>
    groupBy(
      await all(
        `SELECT "ModelVersionId", ${columns} FROM "ModelFiles" WHERE "ModelVersionId" = ANY($1::int[])
         ORDER BY "IsPrimary" DESC, "Id"`,
        versionIds,
      ),
      'ModelVersionId',
    );
  const images = async (versionIds: number[], columns: string, perVersion: number) =>
    groupBy(
      await all(
        `SELECT p.id AS "parentId", i.* FROM unnest($1::int[]) AS p(id) CROSS JOIN LATERAL
           (SELECT ${columns} FROM "ModelImages" i WHERE "ModelVersionId" = p.id ORDER BY "SortOrder", "Id" LIMIT $2) i`,
        versionIds,
        perVersion,
      ),
      'parentId',
    );
  const triggerWords = async (versionIds: number[], columns: string) =>
    groupBy(
      await all(
        `SELECT "ModelVersionId", ${columns} FROM "TriggerWords" WHERE "ModelVersionId" = ANY($1::int[])
         ORDER BY "Order", "Id"`,
        versionIds,
      ),
      'ModelVersionId',
    );

  /** The rows of a list page: the page, then its creators, tags and versions at once, then the versions' children. */
  async function listRows(
    { first, after }: ListArgs,
    columns: { model: string; file: string; image: string; words: boolean },
  ): Promise<ListRows> {
    const page = withKeys(await modelPage(columns.model, first, after));
    const models = page.slice(0, first);
    const modelIds = ids(models);
    const [usernames, tagsOf, versionsOf] = await Promise.all([
      creators(models),
      tags(modelIds, 't."Name"'),
      versions(modelIds, '"Id", "Name", "BaseModel"', 3),
    ]);
    const versionIds = [...versionsOf.values()].flatMap(ids);
    const [filesOf, imagesOf, wordsOf] = await Promise.all([
      files(versionIds, columns.file),
      images(versionIds, columns.image, 2),
      columns.words ? triggerWords(versionIds, '"Word"') : undefined,
    ]);
    return {
      page,
      first,
      usernames,
      tags: tagsOf,
      versions: versionsOf,
      files: filesOf,
      images: imagesOf,
      ...(wordsOf ? { words: wordsOf } : {}),
    };
  }

  return {
    async list(args: ListArgs, origin: string) {
      const rows = await listRows(args, {
        model: '"Id", "Name", "Type", "CreatorId", "CreatedAt"',
        file: '"FileName", "SizeKB", "HashSHA256"',
        image: `"Id", "Width", "Height", "ThumbnailData" IS NOT NULL AS "hasThumbnail"`,
        words: false,
      });
      return listAnswer(rows, origin);
    },

    async listWide(args: ListArgs, origin: string) {
      const rows = await listRows(args, {
        model: '"Id", "Name", "Type", "IsNsfw", "CreatorId", "CreatedAt"',
        file: '"Id", "FileName", "SizeKB", "HashSHA256"',
        image: `"Id", "SortOrder", "ThumbnailData" IS NOT NULL AS "hasThumbnail", "ThumbnailWidth", "ThumbnailHeight"`,
        words: true,
      });
      return listWideAnswer(rows, origin);
    },

    async detail(id: number, origin: string) {
      // The model with its creator, its tags and all its versions (the first ten, their count and downloads) at once.
      const [modelRows, tagRows, modelVersions] = await Promise.all([
        all(
          `SELECT m.*, c."Username" AS "creatorUsername", c."AvatarUrl" AS "creatorAvatarUrl"
           FROM "Models" m LEFT JOIN "Creators" c ON c."Id" = m."CreatorId" WHERE m."Id" = $1`,
          id,
        ),
        all(
          `SELECT t."Id" AS id, t."Name" AS name FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
           WHERE mt."ModelId" = $1 ORDER BY t."NormalizedName"`,
          id,
        ),
        all(
          `SELECT *, (COUNT(*) OVER ())::int AS "versionCount", (SUM("DownloadCount") OVER ())::float8 AS "totalDownloads"
           FROM "ModelVersions" WHERE "ModelId" = $1 ORDER BY "CreatedAt" DESC, "Id" DESC`,
          id,
        ),
      ]);
      const m = modelRows[0];
      if (!m) return { data: { model: null } };
      const versions = modelVersions.slice(0, 10);
      const versionIds = ids(versions);
      const [words, filesOf, imagesOf] = await Promise.all([
        triggerWords(versionIds, '"Word" AS word, "Order" AS "order"'),
        files(versionIds, '*'),
        groupBy(
          await all(
            `SELECT p.id AS "parentId", i.* FROM unnest($1::int[]) AS p(id) CROSS JOIN LATERAL
               (SELECT ${DETAIL_IMAGE_COLUMNS} FROM "ModelImages" i WHERE i."ModelVersionId" = p.id
                ORDER BY i."SortOrder", i."Id" LIMIT 10) i`,
            versionIds,
          ),
          'parentId',
        ),
      ]);
      return detailAnswer(
        {
          model: m,
          creator:
            m.CreatorId === null
              ? null
              : ({ username: m.creatorUsername, avatarUrl: m.creatorAvatarUrl } as DetailRows['creator']),
          tags: tagRows as DetailRows['tags'],
          versionCount: modelVersions[0]?.versionCount ?? 0,
          totalDownloads: modelVersions[0]?.totalDownloads ?? 0,
          versions,
          words,
          files: filesOf,
          images: imagesOf,
        },
        origin,
      );
    },

    async hashes(hashes: readonly string[]) {
      const wanted = hashes.map((h) => h.trim().toUpperCase());
      // The `upper()` expression index: stored hashes keep whatever case their source wrote.
      const rows = await all(
        `SELECT upper(f."HashSHA256") AS "matchKey", f."Id" AS id, f."FileName" AS "fileName", f."SizeKB" AS "sizeKB",
           f."LocalPath", f."IsLocalFileValid", v."Id" AS "versionId", v."Name" AS "versionName", m."Id" AS "modelId",
           m."Name" AS "modelName"
         FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId" JOIN "Models" m ON m."Id" = v."ModelId"
         WHERE upper(f."HashSHA256") = ANY($1::text[])`,
        [...new Set(wanted)],
      );
      return hashesAnswer(hashes, wanted, bestFileByHash(rows));
    },

    async search(query: string, first: number) {
      const terms = searchTerms(query);
      const match = searchQuery(terms);
      const words = plainWords(terms);
      if (words)
        return searchAnswer((await rankFromPostings(postings, words, first, 0))!, first, rankScope(terms, match));
      // Phrases and prefixes: the catalog's own search index (a GIN-indexed tsvector) and ranking, queried directly.
      const rows = await all(
        `SELECT m."Id", m."Name", m."Type", s.rank FROM (
           SELECT "ModelId", -ts_rank_cd('${RANK_WEIGHTS}'::float4[], "document", $1::tsquery, ${RANK_NORMALIZATION}) AS rank
           FROM "ModelSearch" WHERE "document" @@ $1::tsquery) s
         JOIN "Models" m ON m."Id" = s."ModelId" ORDER BY s.rank, m."Id" LIMIT $2`,
        match,
        first + 1,
      );
      return searchAnswer(rows, first, rankScope(terms, match));
    },

    async thumbnail(id: number) {
      const [row] = await all(`SELECT "ThumbnailData", "ThumbnailMimeType" FROM "ModelImages" WHERE "Id" = $1`, id);
      return thumbnailAnswer(row);
    },

    statements: () => executed,
    close: () => pool.end(),
  };
}
