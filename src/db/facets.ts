/**
 * Counts a UI shows beside a filter ("LORA (812)"): each facet is one scoped GROUP BY over the models the filter
 * selects, computed only when asked for.
 */
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { CatalogDatabase } from './catalog-database.ts';
import { type ModelFilter, modelFilter, models as m, removedFromCivitai } from './lists.ts';
import { table } from './refs.ts';
import { localFilePresent } from './tables/model-files.ts';

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
  byRemovedFromCivitai(): Promise<FacetCount[]>;
}

const v = table('ModelVersions', 'v');
const i = table('ModelImages', 'i');
const mt = table('ModelTags', 'mt');
const t = table('Tags', 't');
const c = table('Creators', 'c');
const f = table('ModelFiles', 'f');

export function modelFacets(db: CatalogDatabase, filter: ModelFilter | null | undefined): ModelFacets {
  const conditions = modelFilter(db.dialect, filter);
  const where = conditions.length ? sql`WHERE ${sql.join(conditions, sql` AND `)}` : sql``;
  const selected = sql`SELECT ${m('Id')} FROM ${m.item} ${where}`;
  const counts = async (query: RawBuilder<unknown>): Promise<FacetCount[]> =>
    (await sql<{ value: unknown; count: number }>`${query}`.execute(db.heavy)).rows.map((r) => ({
      value: String(r.value),
      count: Number(r.count),
    }));
  const levelOf = sql`CASE ${i('NsfwLevel')} WHEN 'X' THEN 3 WHEN 'Mature' THEN 2 WHEN 'Soft' THEN 1 ELSE 0 END`;
  const hasLocal = sql<SqlBool>`${m('Id')} IN (SELECT ${v('ModelId')} FROM ${v.item} JOIN ${f.item} ON ${f('ModelVersionId')} = ${v('Id')} WHERE ${localFilePresent(f)})`;
  return {
    total: async () =>
      Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${m.item} ${where}`.execute(db.heavy)).rows[0]?.n),
    byType: () =>
      counts(
        sql`SELECT ${m('Type')} AS value, COUNT(*) AS count FROM ${m.item} ${where} GROUP BY ${m('Type')} ORDER BY count DESC, value`,
      ),
    byBaseModel: () =>
      counts(sql`SELECT ${v('BaseModel')} AS value, COUNT(DISTINCT ${v('ModelId')}) AS count FROM ${v.item}
        WHERE ${v('ModelId')} IN (${selected}) GROUP BY ${v('BaseModel')} ORDER BY count DESC, value`),
    byNsfw: () =>
      counts(sql`SELECT CASE WHEN ${m('IsNsfw')} = TRUE THEN 'NSFW' ELSE 'SFW' END AS value, COUNT(*) AS count FROM ${m.item} ${where}
        GROUP BY value ORDER BY count DESC, value`),
    // A model's level is the highest level among its images (None when it has none). PostgreSQL 15 needs the
    // subquery's alias.
    byNsfwLevel: () =>
      counts(sql`SELECT CASE level WHEN 3 THEN 'X' WHEN 2 THEN 'Mature' WHEN 1 THEN 'Soft' ELSE 'None' END AS value, COUNT(*) AS count FROM (
        SELECT ${m('Id')}, COALESCE((SELECT MAX(${levelOf}) FROM ${v.item} JOIN ${i.item} ON ${i('ModelVersionId')} = ${v('Id')}
          WHERE ${v('ModelId')} = ${m('Id')}), 0) AS level FROM ${m.item} ${where}) AS levels GROUP BY level ORDER BY level`),
    byTag: (top) =>
      counts(sql`SELECT ${t('Name')} AS value, COUNT(*) AS count FROM ${mt.item} JOIN ${t.item} ON ${t('Id')} = ${mt('TagId')}
        WHERE ${mt('ModelId')} IN (${selected}) GROUP BY ${t('Id')} ORDER BY count DESC, ${t('NormalizedName')} LIMIT ${top}`),
    byCreator: (top) =>
      counts(sql`SELECT ${c('Username')} AS value, COUNT(*) AS count FROM ${m.item} JOIN ${c.item} ON ${c('Id')} = ${m('CreatorId')}
        ${where} GROUP BY ${c('Id')} ORDER BY count DESC, lower(${c('Username')}) LIMIT ${top}`),
    bySource: () =>
      counts(
        sql`SELECT ${m('Source')} AS value, COUNT(*) AS count FROM ${m.item} ${where} GROUP BY ${m('Source')} ORDER BY count DESC, value`,
      ),
    byHasLocalFiles: () =>
      counts(sql`SELECT CASE WHEN ${hasLocal} THEN 'true' ELSE 'false' END AS value, COUNT(*) AS count FROM ${m.item} ${where}
        GROUP BY value ORDER BY value DESC`),
    byRemovedFromCivitai: () =>
      counts(sql`SELECT CASE WHEN ${removedFromCivitai(m)} THEN 'true' ELSE 'false' END AS value, COUNT(*) AS count FROM ${m.item} ${where}
        GROUP BY value ORDER BY value DESC`),
  };
}
