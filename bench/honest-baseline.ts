/**
 * The physical-limit baseline: for each scenario, the program a careful engineer would write by hand for that one
 * answer on this catalog — raw better-sqlite3 prepared statements with the cheapest plans the catalog's indexes allow,
 * the JSON assembled directly — and nothing our server does for generality:
 *
 * - timestamps are ordered as instants through the catalog's expression indexes (`…Utc`): the catalog holds both
 *   stored formats (the desktop app's and Prisma's), whose text does not sort alike, so ordering by the plain
 *   column would give another answer;
 * - key lists are plain `IN (?, ?, …)` placeholders, not one JSON parameter;
 * - nested pages by whichever plan measured fastest here: versions by a window over ids joined back, images by one
 *   `LIMIT` statement per version;
 * - a detail page reads its versions once, counting and summing them in the same statement;
 * - a search of plain words ranks from the catalog's postings (`postings-top-k.ts`), its words' statistics kept while
 *   no other connection commits (`PRAGMA data_version`); phrases and prefixes by FTS5's bm25.
 *
 * It shares only pure helpers with the product (enum fallback, Relay ids and cursor encodings, stored-timestamp
 * parsing) so that both sides emit the same JSON; the benchmark checks the answers are equal before timing.
 * `baseline.ts` is the other column: our own SQL strategy without GraphQL.
 */
import Database from 'better-sqlite3';
import { UTC_TIMESTAMP_FORMAT } from '../src/db/timestamps.ts';
import { CACHE_PRAGMA } from '../src/db/catalog-database.ts';
import { matchExpression, searchTerms } from '../src/search/query.ts';
import { FTS5_RANKS_UP_TO, plainWords, type RankStatistics, rankScope } from '../src/search/ranking.ts';
import {
  DETAIL_IMAGE_COLUMNS,
  type DetailRows,
  detailAnswer,
  groupBy,
  bestFileByHash,
  hashesAnswer,
  listAnswer,
  listWideAnswer,
  listCursorKey,
  type Row,
  searchAnswer,
  thumbnailAnswer,
} from './answer-json.ts';
import type { Baseline, ListArgs } from './baseline.ts';
import { type PostingsReader, rankFromPostings, type ReadPosting, type WordStatistics } from './postings-top-k.ts';

/** `typeof()` reads only the record header: `IS NOT NULL` would load every thumbnail's overflow pages. */
const HAS_THUMBNAIL = `typeof("ThumbnailData") <> 'null' AS hasThumbnail`;
const UTC = (column: string) => `strftime('${UTC_TIMESTAMP_FORMAT}', ${column})`;

export function createHonestBaseline(databasePath: string): Baseline {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  // The page cache our server's connections have: at L a 1,000-hash look-up fills more than better-sqlite3's 16 MB.
  db.pragma(CACHE_PRAGMA);
  let executed = 0;
  const statements = new Map<string, Database.Statement>();
  const all = (sql: string, ...params: unknown[]): Row[] => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    executed++;
    return statement.all(...params) as Row[];
  };
  /** `sql` with `(?…)` standing for one placeholder per key (prepared once per list length). */
  const allIn = (sql: string, keys: readonly unknown[], ...more: unknown[]): Row[] =>
    keys.length === 0 ? [] : all(sql.replace('(?…)', `(${keys.map(() => '?').join(',')})`), ...keys, ...more);

  /** A page of models, newest first, with their sort key (`at`); `after` resumes below its cursor's key. */
  function modelPage(columns: string, first: number, after: string | null): Row[] {
    const select = `SELECT ${columns}, ${UTC('m."CreatedAt"')} AS at FROM "Models" m`;
    if (!after) return all(`${select} ORDER BY at DESC, m."Id" DESC LIMIT ?`, first + 1);
    const [at, id] = listCursorKey(after);
    return all(
      `${select} WHERE ${UTC('m."CreatedAt"')} < ? OR (${UTC('m."CreatedAt"')} = ? AND m."Id" < ?)
       ORDER BY at DESC, m."Id" DESC LIMIT ?`,
      at,
      at,
      id,
      first + 1,
    );
  }

  const creators = (rows: Row[]) =>
    new Map(
      allIn(`SELECT "Id", "Username" FROM "Creators" WHERE "Id" IN (?…)`, [
        ...new Set(rows.map((m) => m.CreatorId).filter((id) => id !== null)),
      ]).map((c) => [c.Id as number, c.Username]),
    );
  const tags = (modelIds: number[], columns: string) =>
    groupBy(
      allIn(
        `SELECT mt."ModelId", ${columns} FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
         WHERE mt."ModelId" IN (?…) ORDER BY t."NormalizedName"`,
        modelIds,
      ),
      'ModelId',
    );
  // Versions: the window picks ids over the (ModelId, CreatedAtUtc) index, then only the page's rows are read.
  const versions = (modelIds: number[], columns: string, perModel: number) =>
    groupBy(
      allIn(
        `SELECT ${columns}, p.modelId FROM (SELECT "Id" AS vid, "ModelId" AS modelId, ROW_NUMBER() OVER
           (PARTITION BY "ModelId" ORDER BY ${UTC('"CreatedAt"')} DESC, "Id" DESC) AS n FROM "ModelVersions" WHERE "ModelId" IN (?…)) p
         JOIN "ModelVersions" v ON v."Id" = p.vid WHERE p.n <= ? ORDER BY p.n`,
        modelIds,
        perModel,
      ),
      'modelId',
    );
  const files = (versionIds: number[], columns: string) =>
    groupBy(
      allIn(
        `SELECT "ModelVersionId", ${columns} FROM "ModelFiles" WHERE "ModelVersionId" IN (?…) ORDER BY "IsPrimary" DESC, "Id"`,
        versionIds,
      ),
      'ModelVersionId',
    );
  // Images: the window picks ids over the (ModelVersionId, SortOrder) index, then only the page's rows are read (a
  // window over whole rows reads every image of the page's versions: 5 ms instead of 0.8 for 60 versions).
  // `fromIndex`: columns IX_ModelImages_VersionPage holds beside the window's keys, read there rather than from the
  // row (where the thumbnail's width and height follow its BLOB, and reading them walks the BLOB's pages).
  const images = (versionIds: number[], columns: string, perVersion: number, fromIndex: string[] = []) =>
    groupBy(
      allIn(
        `SELECT ${columns}${fromIndex.map((c) => `, p."${c}"`).join('')}, p.versionId FROM (SELECT "Id" AS iid,
           "ModelVersionId" AS versionId${fromIndex.map((c) => `, "${c}"`).join('')}, ROW_NUMBER() OVER
           (PARTITION BY "ModelVersionId" ORDER BY "SortOrder", "Id") AS n FROM "ModelImages" WHERE "ModelVersionId" IN (?…)) p
         JOIN "ModelImages" i ON i."Id" = p.iid WHERE p.n <= ? ORDER BY p.n`,
        versionIds,
        perVersion,
      ),
      'versionId',
    );
  const triggerWords = (versionIds: number[], columns: string) =>
    groupBy(
      allIn(
        `SELECT "ModelVersionId", ${columns} FROM "TriggerWords" WHERE "ModelVersionId" IN (?…) ORDER BY "Order", "Id"`,
        versionIds,
      ),
      'ModelVersionId',
    );
  const ids = (rows: Row[]) => rows.map((r) => r.Id as number);

  // Words' statistics stay true while no other connection commits: `data_version` moves when one does.
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let keptAt: unknown = null;
  let keptStats: RankStatistics | null = null;
  // Bounded as ours is (`KeptAtRevision` in src/search/top-k.ts): a server fed every word of a catalog keeps at most
  // this many, so neither side's figures come from a memory the other is not allowed.
  const keptWords = new Map<string, WordStatistics | null>();
  const MAX_KEPT_WORDS = 10_000;
  const posting =
    (k: number) =>
    (r: Row): ReadPosting => ({
      k,
      id: r.ModelId as number,
      frequency: r.Frequency as number,
      length: r.Length as number,
      impact: r.Impact as number,
    });
  const POSTING = `"ModelId", "Frequency", "Length", "Impact" FROM "ModelSearchPostings"`;
  const postings: PostingsReader = {
    async statistics(words) {
      const version = dataVersion.get();
      if (version !== keptAt || !keptStats) {
        keptAt = version;
        keptWords.clear();
        const [s] = all(`SELECT "Documents", "Tokens", "ReferenceLength" FROM "ModelSearchStats" WHERE "Id" = 1`);
        keptStats = {
          documents: s!.Documents as number,
          tokens: s!.Tokens as number,
          referenceLength: s!.ReferenceLength as number,
        };
      }
      const unknown = words.filter((word) => !keptWords.has(word));
      if (unknown.length > 0) {
        const found = new Map(
          allIn(
            `SELECT t."term", t."doc", ln((CAST(s."Documents" - t."doc" AS REAL) + 0.5) / (CAST(t."doc" AS REAL) + 0.5)) AS idf
             FROM "ModelSearchTerms" t, "ModelSearchStats" s WHERE s."Id" = 1 AND t."term" IN (?…)`,
            unknown,
          ).map((r) => [r.term as string, { idf: r.idf as number, docs: r.doc as number }]),
        );
        if (keptWords.size + unknown.length > MAX_KEPT_WORDS) keptWords.clear();
        for (const word of unknown) keptWords.set(word, found.get(word) ?? null);
      }
      return { words: words.map((word) => keptWords.get(word)!), stats: keptStats };
    },
    // The rarest word's postings drive; each other word's posting of the same model is a primary-key probe (CROSS
    // JOIN keeps that order), and a model lacking one is no match.
    async matches(words, rarest) {
      const others = words.map((_, i) => i).filter((i) => i !== rarest);
      const rows = all(
        `SELECT m."Id", m."Name", m."Type", r."Length", r."Frequency" AS f${rarest}${others.map((i) => `, o${i}."Frequency" AS f${i}`).join('')}
         FROM "ModelSearchPostings" r${others.map((i) => ` CROSS JOIN "ModelSearchPostings" o${i}`).join('')} CROSS JOIN "Models" m
         WHERE r."Term" = ?${others.map((i) => ` AND o${i}."Term" = ? AND o${i}."ModelId" = r."ModelId"`).join('')}
           AND m."Id" = r."ModelId"`,
        words[rarest],
        ...others.map((i) => words[i]),
      );
      return rows.map((row) => ({
        row,
        length: row.Length as number,
        frequencies: words.map((_, i) => row[`f${i}`] as number),
      }));
    },
    async best(words, depth) {
      return words.flatMap((word, k) =>
        all(`SELECT ${POSTING} WHERE "Term" = ? ORDER BY "Impact" DESC, "ModelId" DESC LIMIT ?`, word, depth).map(
          posting(k),
        ),
      );
    },
    async postingsOf(words, ids) {
      return words.flatMap((word, k) =>
        allIn(`SELECT ${POSTING} WHERE "ModelId" IN (?…) AND "Term" = ?`, ids[k]!, word).map(posting(k)),
      );
    },
    async models(modelIds) {
      return allIn(`SELECT "Id", "Name", "Type" FROM "Models" WHERE "Id" IN (?…)`, modelIds);
    },
  };

  return {
    list({ first, after }: ListArgs, origin: string) {
      const page = modelPage('m."Id", m."Name", m."Type", m."CreatorId", m."CreatedAt"', first, after);
      const models = page.slice(0, first);
      const modelIds = ids(models);
      const versionsOf = versions(modelIds, '"Id", "Name", "BaseModel"', 3);
      const versionIds = [...versionsOf.values()].flatMap(ids);
      return listAnswer(
        {
          page,
          first,
          usernames: creators(models),
          tags: tags(modelIds, 't."Name"'),
          versions: versionsOf,
          files: files(versionIds, '"FileName", "SizeKB", "HashSHA256"'),
          images: images(versionIds, `"Id", "Width", "Height", ${HAS_THUMBNAIL}`, 2),
        },
        origin,
      );
    },

    listWide({ first, after }: ListArgs, origin: string) {
      const page = modelPage('m."Id", m."Name", m."Type", m."IsNsfw", m."CreatorId", m."CreatedAt"', first, after);
      const models = page.slice(0, first);
      const modelIds = ids(models);
      const versionsOf = versions(modelIds, '"Id", "Name", "BaseModel"', 3);
      const versionIds = [...versionsOf.values()].flatMap(ids);
      return listWideAnswer(
        {
          page,
          first,
          usernames: creators(models),
          tags: tags(modelIds, 't."Name"'),
          versions: versionsOf,
          files: files(versionIds, '"Id", "FileName", "SizeKB", "HashSHA256"'),
          images: images(versionIds, `"Id", "SortOrder", ${HAS_THUMBNAIL}`, 2, ['ThumbnailWidth', 'ThumbnailHeight']),
          words: triggerWords(versionIds, '"Word"'),
        },
        origin,
      );
    },

    detail(id: number, origin: string) {
      const m = all(`SELECT * FROM "Models" WHERE "Id" = ?`, id)[0];
      if (!m) return { data: { model: null } };
      const creator =
        m.CreatorId === null
          ? undefined
          : all(
              `SELECT "Username" AS username, "AvatarUrl" AS avatarUrl FROM "Creators" WHERE "Id" = ?`,
              m.CreatorId,
            )[0];
      // All of the model's versions in one read: the first ten, their count and their downloads.
      const modelVersions = all(
        `SELECT *, COUNT(*) OVER () AS versionCount, TOTAL("DownloadCount") OVER () AS totalDownloads
         FROM "ModelVersions" WHERE "ModelId" = ? ORDER BY ${UTC('"CreatedAt"')} DESC, "Id" DESC`,
        id,
      );
      const versions = modelVersions.slice(0, 10);
      const versionIds = ids(versions);
      return detailAnswer(
        {
          model: m,
          creator: (creator as DetailRows['creator']) ?? null,
          tags: all(
            `SELECT t."Id" AS id, t."Name" AS name FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
             WHERE mt."ModelId" = ? ORDER BY t."NormalizedName"`,
            id,
          ) as DetailRows['tags'],
          versionCount: modelVersions[0]?.versionCount ?? 0,
          totalDownloads: modelVersions[0]?.totalDownloads ?? 0,
          versions,
          words: triggerWords(versionIds, '"Word" AS word, "Order" AS "order"'),
          files: files(versionIds, '*'),
          images: images(versionIds, DETAIL_IMAGE_COLUMNS('i'), 10),
        },
        origin,
      );
    },

    hashes(hashes: readonly string[]) {
      const wanted = hashes.map((h) => h.trim().toUpperCase());
      // The `upper()` expression index: stored hashes keep whatever case their source wrote.
      const rows = allIn(
        `SELECT upper(f."HashSHA256") AS matchKey, f."Id" AS id, f."FileName" AS fileName, f."SizeKB" AS sizeKB, f."LocalPath", f."IsLocalFileValid",
           v."Id" AS versionId, v."Name" AS versionName, m."Id" AS modelId, m."Name" AS modelName
         FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId" JOIN "Models" m ON m."Id" = v."ModelId"
         WHERE upper(f."HashSHA256") IN (?…)`,
        [...new Set(wanted)],
      );
      return hashesAnswer(hashes, wanted, bestFileByHash(rows));
    },

    async search(query: string, first: number) {
      const terms = searchTerms(query);
      const match = matchExpression(terms);
      const words = plainWords(terms);
      const rows =
        (words && (await rankFromPostings(postings, words, first, FTS5_RANKS_UP_TO))) ??
        all(
          `SELECT m."Id", m."Name", m."Type", s.rank FROM "ModelSearch" s JOIN "Models" m ON m."Id" = s.rowid
             WHERE "ModelSearch" MATCH ? ORDER BY s.rank, m."Id" LIMIT ?`,
          match,
          first + 1,
        );
      return searchAnswer(rows, first, rankScope(terms, match));
    },

    thumbnail(id: number) {
      const row = all(`SELECT "ThumbnailData", "ThumbnailMimeType" FROM "ModelImages" WHERE "Id" = ?`, id)[0];
      return thumbnailAnswer(row);
    },

    statements: () => executed,
    close: () => {
      db.close();
    },
  };
}
