/**
 * The mirror baseline: the same answers as the GraphQL API for the benchmark's queries, from our own SQL strategy
 * (timestamps normalised in every ORDER BY, key lists as one JSON parameter, nested pages as windows joined back)
 * with raw better-sqlite3 prepared statements and the JSON built by hand — no GraphQL, no loaders. Beside the
 * physical-limit baseline (`honest-baseline.ts`) it splits our gap in two: SQL strategy and GraphQL overhead. It
 * shares only tiny pure helpers with the product (stored-timestamp parsing, enum fallback, Relay id and cursor
 * encodings) so both sides emit identical bytes.
 */
import Database from 'better-sqlite3';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { cursorScope } from '../src/catalog/pagination.ts';
import { BaseModel, ModelType, readEnum } from '../src/db/enums.ts';
import { UTC_TIMESTAMP_FORMAT } from '../src/db/timestamps.ts';
import { CACHE_PRAGMA, type CatalogDatabase, openCatalogDatabase } from '../src/db/catalog-database.ts';
import { matchExpression, searchTerms } from '../src/search/query.ts';
import { plainWords } from '../src/search/ranking.ts';
import { searchModels } from '../src/search/search.ts';
import {
  bool,
  cursor,
  DETAIL_IMAGE_COLUMNS,
  type DetailRows,
  detailAnswer,
  groupBy,
  hashesAnswer,
  iso,
  listCursorKey,
  type Row,
  thumbnailAnswer,
  upper,
} from './answer-json.ts';

const UTC = (column: string) => `strftime('${UTC_TIMESTAMP_FORMAT}', ${column})`;
const IDS = '(SELECT value FROM json_each(?))';

export interface ListArgs {
  first: number;
  after: string | null;
}

type Awaitable<T> = T | Promise<T>;

/** One baseline program: the SQLite ones answer at once, the PostgreSQL one with promises. */
export interface Baseline {
  list(args: ListArgs, origin: string): unknown;
  /** The wide list page (`LIST_WIDE_QUERY`): more fields per level, trigger words, `nodes` without cursors. */
  listWide(args: ListArgs, origin: string): unknown;
  detail(id: number, origin: string): unknown;
  hashes(hashes: readonly string[]): unknown;
  search(query: string, first: number): unknown;
  thumbnail(id: number): Awaitable<{ bytes: Buffer; mimeType: string } | null>;
  /** Statements executed so far. */
  statements(): number;
  close(): Awaitable<void>;
}

const MODEL_SIGNATURE = 'models:CREATED_AT.DESC';

export function createBaseline(databasePath: string): Baseline {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  // The page cache our server's connections have: at L a 1,000-hash look-up fills more than better-sqlite3's 16 MB.
  db.pragma(CACHE_PRAGMA);
  let executed = 0;
  let catalog: Promise<CatalogDatabase> | null = null;
  const prepared = new Map<string, Database.Statement>();
  const all = (sql: string, ...params: unknown[]): Row[] => {
    let statement = prepared.get(sql);
    if (!statement) prepared.set(sql, (statement = db.prepare(sql)));
    executed++;
    return statement.all(...params) as Row[];
  };

  const modelColumns = `m."Id" AS id, m."Name" AS name, m."Type" AS type, m."CreatorId" AS creatorId`;
  const firstPage = `SELECT ${modelColumns}, ${UTC('m."CreatedAt"')} AS k0 FROM "Models" m ORDER BY k0 DESC, m."Id" DESC LIMIT ?`;
  const afterPage = `SELECT ${modelColumns}, ${UTC('m."CreatedAt"')} AS k0 FROM "Models" m
    WHERE (${UTC('m."CreatedAt"')} < ? OR (${UTC('m."CreatedAt"')} = ? AND m."Id" < ?)) ORDER BY k0 DESC, m."Id" DESC LIMIT ?`;

  function creatorsOf(ids: number[], columns: string): Map<number, Row> {
    return new Map(
      all(`SELECT c."Id" AS id, ${columns} FROM "Creators" c WHERE c."Id" IN ${IDS}`, JSON.stringify(ids)).map((r) => [
        Number(r.id),
        r,
      ]),
    );
  }

  function tagsOf(modelIds: number[], columns: string): Map<number, Row[]> {
    return groupBy(
      all(
        `SELECT mt."ModelId" AS modelId, ${columns} FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
      WHERE mt."ModelId" IN ${IDS} ORDER BY t."NormalizedName"`,
        JSON.stringify(modelIds),
      ),
      'modelId',
    );
  }

  function versionsOf(modelIds: number[], columns: string, perModel: number): Map<number, Row[]> {
    return groupBy(
      all(
        `SELECT ${columns}, p.modelId FROM (SELECT v."Id" AS vid, v."ModelId" AS modelId, ROW_NUMBER() OVER
        (PARTITION BY v."ModelId" ORDER BY ${UTC('v."CreatedAt"')} DESC, v."Id" DESC) AS n FROM "ModelVersions" v WHERE v."ModelId" IN ${IDS}) p
      JOIN "ModelVersions" v ON v."Id" = p.vid WHERE p.n <= ? ORDER BY p.modelId, p.n`,
        JSON.stringify(modelIds),
        perModel,
      ),
      'modelId',
    );
  }

  function filesOf(versionIds: number[], columns: string): Map<number, Row[]> {
    return groupBy(
      all(
        `SELECT f."ModelVersionId" AS versionId, ${columns} FROM "ModelFiles" f WHERE f."ModelVersionId" IN ${IDS}
      ORDER BY f."IsPrimary" DESC, f."Id"`,
        JSON.stringify(versionIds),
      ),
      'versionId',
    );
  }

  function imagesOf(versionIds: number[], columns: string, perVersion: number, thumbSize = true): Map<number, Row[]> {
    // As ours: the thumbnail's width and height, where asked for, come with the window from IX_ModelImages_VersionPage.
    const size = thumbSize ? ['thumbWidth', 'thumbHeight'] : [];
    return groupBy(
      all(
        `SELECT ${columns}, length(i."ThumbnailData") AS thumbBytes, ${size.map((c) => `p.${c}, `).join('')}p.versionId
        FROM (SELECT i."Id" AS iid, i."ModelVersionId" AS versionId${
          thumbSize
            ? `, i."ThumbnailWidth" AS thumbWidth,
        i."ThumbnailHeight" AS thumbHeight`
            : ''
        }, ROW_NUMBER() OVER
        (PARTITION BY i."ModelVersionId" ORDER BY i."SortOrder", i."Id") AS n FROM "ModelImages" i WHERE i."ModelVersionId" IN ${IDS}) p
      JOIN "ModelImages" i ON i."Id" = p.iid WHERE p.n <= ? ORDER BY p.versionId, p.n`,
        JSON.stringify(versionIds),
        perVersion,
      ),
      'versionId',
    );
  }

  function wordsOf(versionIds: number[]): Map<number, Row[]> {
    return groupBy(
      all(
        `SELECT w."ModelVersionId" AS versionId, w."Word" AS word, w."Order" AS "order" FROM "TriggerWords" w
        WHERE w."ModelVersionId" IN ${IDS} ORDER BY w."Order", w."Id"`,
        JSON.stringify(versionIds),
      ),
      'versionId',
    );
  }

  function thumbnailUrl(origin: string, image: Row): { url: string } | null {
    return image.thumbBytes === null ? null : { url: `${origin}/thumbnails/${image.id}` };
  }

  return {
    list({ first, after }, origin) {
      let models: Row[];
      if (after) {
        const [k0, id] = listCursorKey(after);
        models = all(afterPage, k0, k0, id, first + 1);
      } else {
        models = all(firstPage, first + 1);
      }
      const hasNextPage = models.length > first;
      models = models.slice(0, first);
      const modelIds = models.map((m) => Number(m.id));
      const creators = creatorsOf(
        [...new Set(models.filter((m) => m.creatorId !== null).map((m) => Number(m.creatorId)))],
        'c."Username" AS username',
      );
      const tags = tagsOf(modelIds, 't."Name" AS name');
      const versions = versionsOf(modelIds, 'v."Id" AS id, v."Name" AS name, v."BaseModel" AS baseModel', 3);
      const versionIds = [...versions.values()].flatMap((list) => list.slice(0, 3).map((v) => Number(v.id)));
      const files = filesOf(versionIds, 'f."FileName" AS fileName, f."SizeKB" AS sizeKB, f."HashSHA256" AS sha256');
      const images = imagesOf(versionIds, 'i."Id" AS id, i."Width" AS width, i."Height" AS height', 2, false);
      const last = models.at(-1);
      return {
        data: {
          models: {
            pageInfo: { endCursor: last ? cursor(MODEL_SIGNATURE, last.k0, last.id) : null, hasNextPage },
            edges: models.map((m) => {
              const creator = m.creatorId === null ? null : creators.get(Number(m.creatorId));
              const modelVersions = (versions.get(Number(m.id)) ?? []).slice(0, 3);
              return {
                cursor: cursor(MODEL_SIGNATURE, m.k0, m.id),
                node: {
                  id: encodeNodeId('Model', Number(m.id)),
                  name: m.name,
                  type: readEnum(ModelType, m.type as string),
                  creator: creator ? { username: creator.username } : null,
                  tags: (tags.get(Number(m.id)) ?? []).map((t) => ({ name: t.name })),
                  versions: {
                    nodes: modelVersions.map((v) => ({
                      id: encodeNodeId('ModelVersion', Number(v.id)),
                      name: v.name,
                      baseModel: readEnum(BaseModel, v.baseModel as string),
                      files: (files.get(Number(v.id)) ?? []).map((f) => ({
                        fileName: f.fileName,
                        sizeKB: f.sizeKB,
                        hashes: { sha256: upper(f.sha256) },
                      })),
                      images: {
                        nodes: (images.get(Number(v.id)) ?? []).slice(0, 2).map((i) => ({
                          id: encodeNodeId('ModelImage', Number(i.id)),
                          width: i.width,
                          height: i.height,
                          thumbnail: thumbnailUrl(origin, i),
                        })),
                      },
                    })),
                  },
                },
              };
            }),
          },
        },
      };
    },

    listWide({ first, after }, origin) {
      let models: Row[];
      const columns = `${modelColumns}, m."IsNsfw" AS isNsfw, m."CreatedAt" AS createdAt`;
      if (after) {
        const [k0, id] = listCursorKey(after);
        models = all(afterPage.replace(modelColumns, columns), k0, k0, id, first);
      } else {
        models = all(firstPage.replace(modelColumns, columns), first);
      }
      const modelIds = models.map((m) => Number(m.id));
      const creators = creatorsOf(
        [...new Set(models.filter((m) => m.creatorId !== null).map((m) => Number(m.creatorId)))],
        'c."Username" AS username',
      );
      const tags = tagsOf(modelIds, 't."Name" AS name');
      const versions = versionsOf(modelIds, 'v."Id" AS id, v."Name" AS name, v."BaseModel" AS baseModel', 3);
      const versionIds = [...versions.values()].flatMap((list) => list.slice(0, 3).map((v) => Number(v.id)));
      const files = filesOf(
        versionIds,
        'f."Id" AS id, f."FileName" AS fileName, f."SizeKB" AS sizeKB, f."HashSHA256" AS sha256',
      );
      const images = imagesOf(versionIds, 'i."Id" AS id, i."SortOrder" AS sortOrder', 2);
      const words = wordsOf(versionIds);
      return {
        data: {
          models: {
            nodes: models.map((m) => {
              const creator = m.creatorId === null ? null : creators.get(Number(m.creatorId));
              return {
                databaseId: m.id,
                name: m.name,
                type: readEnum(ModelType, m.type as string),
                isNsfw: bool(m.isNsfw),
                createdAt: iso(m.createdAt),
                creator: creator ? { username: creator.username } : null,
                tags: (tags.get(Number(m.id)) ?? []).map((t) => ({ name: t.name })),
                versions: {
                  nodes: (versions.get(Number(m.id)) ?? []).slice(0, 3).map((v) => ({
                    databaseId: v.id,
                    name: v.name,
                    baseModel: readEnum(BaseModel, v.baseModel as string),
                    files: (files.get(Number(v.id)) ?? []).map((f) => ({
                      databaseId: f.id,
                      fileName: f.fileName,
                      sizeKB: f.sizeKB,
                      hashes: { sha256: upper(f.sha256) },
                    })),
                    images: {
                      nodes: (images.get(Number(v.id)) ?? []).slice(0, 2).map((i) => ({
                        databaseId: i.id,
                        sortOrder: i.sortOrder,
                        thumbnail:
                          i.thumbBytes === null
                            ? null
                            : { url: `${origin}/thumbnails/${i.id}`, width: i.thumbWidth, height: i.thumbHeight },
                      })),
                    },
                    triggerWords: (words.get(Number(v.id)) ?? []).map((w) => ({ word: w.word })),
                  })),
                },
              };
            }),
          },
        },
      };
    },

    detail(id, origin) {
      const m = all(
        `SELECT m.*, (SELECT COUNT(*) FROM "ModelVersions" v WHERE v."ModelId" = m."Id") AS versionCount,
        (SELECT COALESCE(SUM(v."DownloadCount"), 0) FROM "ModelVersions" v WHERE v."ModelId" = m."Id") AS totalDownloads
        FROM "Models" m WHERE m."Id" = ?`,
        id,
      )[0];
      if (!m) return { data: { model: null } };
      const creator =
        m.CreatorId === null
          ? null
          : (creatorsOf([Number(m.CreatorId)], 'c."Username" AS username, c."AvatarUrl" AS avatarUrl').get(
              Number(m.CreatorId),
            ) as DetailRows['creator']);
      const versions = (versionsOf([id], 'v.*', 11).get(id) ?? []).slice(0, 10);
      const versionIds = versions.map((v) => Number(v.Id));
      return detailAnswer(
        {
          model: m,
          creator,
          tags: (tagsOf([id], 't."Id" AS id, t."Name" AS name').get(id) ?? []) as DetailRows['tags'],
          versionCount: m.versionCount,
          totalDownloads: m.totalDownloads,
          versions,
          words: wordsOf(versionIds),
          files: filesOf(versionIds, 'f.*'),
          images: imagesOf(versionIds, DETAIL_IMAGE_COLUMNS('i'), 10),
        },
        origin,
      );
    },

    hashes(hashes) {
      const wanted = hashes.map((h) => h.trim().toUpperCase());
      const rows = all(
        `SELECT upper(f."HashSHA256") AS matchKey, f."Id" AS id, f."FileName" AS fileName, f."SizeKB" AS sizeKB,
          v."Id" AS versionId, v."Name" AS versionName, m."Id" AS modelId, m."Name" AS modelName
        FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId" JOIN "Models" m ON m."Id" = v."ModelId"
        WHERE upper(f."HashSHA256") IN ${IDS}
        ORDER BY (f."LocalPath" IS NOT NULL AND f."IsLocalFileValid" <> 0) DESC, f."Id"`,
        JSON.stringify([...new Set(wanted)]),
      );
      const best = new Map<string, Row>();
      for (const row of rows) if (!best.has(row.matchKey as string)) best.set(row.matchKey as string, row);
      return hashesAnswer(hashes, wanted, best);
    },

    async search(query, first) {
      const terms = searchTerms(query);
      if (plainWords(terms)) {
        // Plain words: our ranked page itself (the top-k over the catalog's postings), read as the API reads it,
        // without GraphQL.
        catalog ??= openCatalogDatabase(databasePath, { onStatement: () => executed++ });
        const found = await searchModels(await catalog, query, { first }, null, ['id', 'name', 'type']);
        return {
          data: {
            search: {
              pageInfo: { hasNextPage: found.pageInfo.hasNextPage },
              edges: found.edges.map((e) => ({
                cursor: e.cursor,
                score: e.node.score,
                node: { id: encodeNodeId('Model', e.node.model.id), name: e.node.model.name, type: e.node.model.type },
              })),
            },
          },
        };
      }
      const match = matchExpression(terms);
      const rows = all(
        `SELECT m."Id" AS id, m."Name" AS name, m."Type" AS type, s.rank AS rank FROM "ModelSearch" s JOIN "Models" m ON m."Id" = s.rowid
        WHERE "ModelSearch" MATCH ? ORDER BY s.rank, m."Id" LIMIT ?`,
        match,
        first + 1,
      );
      return {
        data: {
          search: {
            pageInfo: { hasNextPage: rows.length > first },
            edges: rows.slice(0, first).map((r) => ({
              cursor: cursor(`search:RANK#${cursorScope(match)}`, r.rank, r.id),
              score: -Number(r.rank),
              node: {
                id: encodeNodeId('Model', Number(r.id)),
                name: r.name,
                type: readEnum(ModelType, r.type as string),
              },
            })),
          },
        },
      };
    },

    thumbnail(id) {
      return thumbnailAnswer(
        all(`SELECT "ThumbnailData", "ThumbnailMimeType" FROM "ModelImages" WHERE "Id" = ?`, id)[0],
      );
    },

    statements: () => executed,
    close: async () => {
      db.close();
      if (catalog) await (await catalog).close();
    },
  };
}
