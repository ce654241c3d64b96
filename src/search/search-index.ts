/**
 * Keeping ModelSearch in step with the catalog. Triggers (see the AddModelSearch migration) list changed models in
 * ModelSearchDirty, whoever wrote; this module rebuilds their documents — after our own writes, and before any
 * search reads the index — in one IMMEDIATE transaction per small batch, letting other work run between batches.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { yieldIfBusy } from '../db/request-scope.ts';
import { JSON_LIST } from '../db/sql.ts';
import { spaceCjk, stripHtml } from './text.ts';

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

/** Models per transaction: small, so one batch of long descriptions stays a few milliseconds of work. */
const BATCH = 50;
const MAX_PROMPT_TEXT = 20_000;
/** Description text indexed per model (Civitai's longest run to tens of thousands of characters). */
const MAX_DESCRIPTION_TEXT = 50_000;

type Doc = Record<SearchColumn, string>;

function grouped(db: CatalogDatabase, sql: string, ids: string): Map<number, string> {
  return new Map(
    (db.statement(sql).all(ids) as { id: number; text: string | null }[]).map((r) => [r.id, r.text ?? '']),
  );
}

function documents(db: CatalogDatabase, modelIds: readonly number[]): Map<number, Doc> {
  const ids = JSON.stringify(modelIds);
  const models = db
    .statement(`SELECT m."Id" AS id, m."Name" AS name, m."Description" AS description, c."Username" AS creator
    FROM "Models" m LEFT JOIN "Creators" c ON c."Id" = m."CreatorId" WHERE m."Id" IN ${JSON_LIST}`)
    .all(ids) as { id: number; name: string; description: string | null; creator: string | null }[];
  const tags = grouped(
    db,
    `SELECT mt."ModelId" AS id, group_concat(t."Name", ' | ') AS text FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
    WHERE mt."ModelId" IN ${JSON_LIST} GROUP BY mt."ModelId"`,
    ids,
  );
  const versions = db
    .statement(`SELECT v."ModelId" AS id, group_concat(v."Name", ' | ') AS names,
      group_concat(v."BaseModel" || ' ' || COALESCE(v."BaseModelRaw", ''), ' | ') AS bases
    FROM "ModelVersions" v WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`)
    .all(ids) as { id: number; names: string; bases: string }[];
  const versionText = new Map(versions.map((v) => [v.id, v]));
  const words = grouped(
    db,
    `SELECT v."ModelId" AS id, group_concat(w."Word", ' | ') AS text FROM "TriggerWords" w JOIN "ModelVersions" v ON v."Id" = w."ModelVersionId"
    WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`,
    ids,
  );
  const files = grouped(
    db,
    `SELECT v."ModelId" AS id, group_concat(f."FileName", ' | ') AS text FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId"
    WHERE v."ModelId" IN ${JSON_LIST} GROUP BY v."ModelId"`,
    ids,
  );
  const prompts = grouped(
    db,
    `SELECT v."ModelId" AS id, substr(group_concat(i."Prompt", ' | '), 1, ${MAX_PROMPT_TEXT}) AS text FROM "ModelImages" i
    JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId" WHERE v."ModelId" IN ${JSON_LIST} AND i."Prompt" IS NOT NULL GROUP BY v."ModelId"`,
    ids,
  );
  return new Map(
    models.map((m) => [
      m.id,
      {
        name: spaceCjk(m.name),
        tags: spaceCjk(tags.get(m.id) ?? ''),
        triggerWords: spaceCjk(words.get(m.id) ?? ''),
        creator: spaceCjk(m.creator ?? ''),
        fileNames: spaceCjk(files.get(m.id) ?? ''),
        versionNames: spaceCjk(versionText.get(m.id)?.names ?? ''),
        baseModels: versionText.get(m.id)?.bases ?? '',
        description: spaceCjk(m.description ? stripHtml(m.description).slice(0, MAX_DESCRIPTION_TEXT) : ''),
        prompts: spaceCjk(prompts.get(m.id) ?? ''),
      },
    ]),
  );
}

/** Rebuilds the documents of every model marked dirty, a batch per transaction; returns how many were processed. */
export async function refreshSearchIndex(db: CatalogDatabase): Promise<number> {
  let processed = 0;
  while (!searchIndexIsCurrent(db)) {
    processed += await db.write(() => refreshSearchBatch(db));
    await yieldIfBusy();
  }
  return processed;
}

/** Rebuilds up to one batch of dirty documents (inside a write transaction); returns how many. */
function refreshSearchBatch(db: CatalogDatabase): number {
  const ids = db.statement(`SELECT "ModelId" FROM "ModelSearchDirty" LIMIT ${BATCH}`).pluck().all() as number[];
  if (ids.length === 0) return 0;
  const docs = documents(db, ids);
  const json = JSON.stringify(ids);
  db.statement(`DELETE FROM "ModelSearch" WHERE rowid IN ${JSON_LIST}`).run(json);
  const insert = db.statement(
    `INSERT INTO "ModelSearch" (rowid, ${SEARCH_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES (?, ${SEARCH_COLUMNS.map(() => '?').join(', ')})`,
  );
  for (const [id, doc] of docs) insert.run(id, ...SEARCH_COLUMNS.map((c) => doc[c]));
  db.statement(`DELETE FROM "ModelSearchDirty" WHERE "ModelId" IN ${JSON_LIST}`).run(json);
  return ids.length;
}

/** Cheap check before a search: is anything waiting? */
export function searchIndexIsCurrent(db: CatalogDatabase): boolean {
  return db.statement(`SELECT NOT EXISTS (SELECT 1 FROM "ModelSearchDirty") AS current`).pluck().get() === 1;
}

export async function ensureSearchIndexCurrent(db: CatalogDatabase): Promise<void> {
  if (!searchIndexIsCurrent(db)) await refreshSearchIndex(db);
}
