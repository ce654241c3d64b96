/**
 * Counts a UI shows beside a filter ("LORA (812)"): each facet is one scoped GROUP BY over the models the filter
 * selects, computed only when asked for.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { whereClause } from '../db/sql.ts';
import { yieldIfBusy } from '../db/request-scope.ts';
import { modelFilterSql, type ModelFilter } from '../resolvers/catalog/model-query.ts';
import { ensureSearchIndexCurrent } from './search-index.ts';

export interface FacetCount {
  value: string;
  count: number;
}

export interface ModelFacets {
  total(): Promise<number>;
  byType(): Promise<FacetCount[]>;
  byBaseModel(): Promise<FacetCount[]>;
  byNsfw(): Promise<FacetCount[]>;
  byNsfwLevel(): Promise<FacetCount[]>;
  byTag(top: number): Promise<FacetCount[]>;
  byCreator(top: number): Promise<FacetCount[]>;
  bySource(): Promise<FacetCount[]>;
  byHasLocalFiles(): Promise<FacetCount[]>;
}

export async function modelFacets(db: CatalogDatabase, filter: ModelFilter | null | undefined): Promise<ModelFacets> {
  if (filter?.query != null) await ensureSearchIndexCurrent(db);
  const where = whereClause(modelFilterSql(filter));
  const selected = `SELECT m."Id" FROM "Models" m ${where.sql}`;
  // Each facet is a scan of the selection: let other requests in between them.
  const counts = async (sql: string, ...extra: unknown[]): Promise<FacetCount[]> => {
    await yieldIfBusy();
    return (
      db
        .statement(sql)
        .safeIntegers(false)
        .all(...where.params, ...extra) as { value: unknown; count: number }[]
    ).map((r) => ({ value: String(r.value), count: r.count }));
  };
  return {
    total: async () => {
      await yieldIfBusy();
      return Number(
        db
          .statement(`SELECT COUNT(*) FROM "Models" m ${where.sql}`)
          .pluck()
          .get(...where.params),
      );
    },
    byType: () =>
      counts(
        `SELECT m."Type" AS value, COUNT(*) AS count FROM "Models" m ${where.sql} GROUP BY m."Type" ORDER BY count DESC, value`,
      ),
    byBaseModel: () =>
      counts(`SELECT v."BaseModel" AS value, COUNT(DISTINCT v."ModelId") AS count FROM "ModelVersions" v
      WHERE v."ModelId" IN (${selected}) GROUP BY v."BaseModel" ORDER BY count DESC, value`),
    byNsfw: () =>
      counts(`SELECT CASE m."IsNsfw" WHEN 1 THEN 'NSFW' ELSE 'SFW' END AS value, COUNT(*) AS count FROM "Models" m ${where.sql}
      GROUP BY value ORDER BY count DESC, value`),
    // A model's level is the highest level among its images (None when it has none).
    byNsfwLevel: () =>
      counts(`SELECT CASE level WHEN 3 THEN 'X' WHEN 2 THEN 'Mature' WHEN 1 THEN 'Soft' ELSE 'None' END AS value, COUNT(*) AS count FROM (
        SELECT m."Id", COALESCE((SELECT MAX(CASE i."NsfwLevel" WHEN 'X' THEN 3 WHEN 'Mature' THEN 2 WHEN 'Soft' THEN 1 ELSE 0 END)
          FROM "ModelVersions" v JOIN "ModelImages" i ON i."ModelVersionId" = v."Id" WHERE v."ModelId" = m."Id"), 0) AS level
        FROM "Models" m ${where.sql}) GROUP BY level ORDER BY level`),
    byTag: (top) =>
      counts(
        `SELECT t."Name" AS value, COUNT(*) AS count FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
      WHERE mt."ModelId" IN (${selected}) GROUP BY t."Id" ORDER BY count DESC, t."NormalizedName" LIMIT ?`,
        top,
      ),
    byCreator: (top) =>
      counts(
        `SELECT c."Username" AS value, COUNT(*) AS count FROM "Models" m JOIN "Creators" c ON c."Id" = m."CreatorId"
      ${where.sql} GROUP BY c."Id" ORDER BY count DESC, lower(c."Username") LIMIT ?`,
        top,
      ),
    bySource: () =>
      counts(
        `SELECT m."Source" AS value, COUNT(*) AS count FROM "Models" m ${where.sql} GROUP BY m."Source" ORDER BY count DESC, value`,
      ),
    byHasLocalFiles: () =>
      counts(`SELECT CASE WHEN m."Id" IN (SELECT v."ModelId" FROM "ModelVersions" v JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id"
        WHERE f."LocalPath" IS NOT NULL AND f."IsLocalFileValid" = 1) THEN 'true' ELSE 'false' END AS value, COUNT(*) AS count
      FROM "Models" m ${where.sql} GROUP BY value ORDER BY value DESC`),
  };
}
