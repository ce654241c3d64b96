/** ModelVersions: one per Civitai version id; a local file's version has none. */
import type { CatalogTransaction } from '../catalog-database.ts';
import type { SqlDialect } from '../dialect.ts';
import type { Row, RowValues } from '../row-writer.ts';
import { runShaped, slot } from '../shaped.ts';

/** A new version's columns that neither a payload nor a local file need say (Civitai's counts start at 0). */
export const NEW_VERSION_DEFAULTS = {
  BaseModel: 'Other',
  EarlyAccessDays: 0,
  DownloadCount: 0,
  RatingCount: 0,
  Rating: 0,
  ThumbsUpCount: 0,
  ThumbsDownCount: 0,
} as const satisfies RowValues;

export async function versionByCivitaiId(trx: CatalogTransaction, civitaiId: number): Promise<Row | undefined> {
  const build = () => trx.selectFrom('ModelVersions').selectAll().where('CivitaiId', '=', slot<number>('civitaiId'));
  const [row] = await runShaped<Row>(trx, 'versionByCivitaiId', build, { civitaiId });
  return row;
}

/** The versions with these Civitai ids, by Civitai id (one statement for all of a model's versions). */
export async function versionsByCivitaiIds(
  trx: CatalogTransaction,
  dialect: SqlDialect,
  civitaiIds: readonly number[],
): Promise<Map<number, Row>> {
  if (civitaiIds.length === 0) return new Map();
  const build = () =>
    trx
      .selectFrom('ModelVersions')
      .selectAll()
      .where(dialect.inListParameter('CivitaiId', slot('ids')));
  const rows = await runShaped<Row>(trx, `${dialect.name}|versionsByCivitaiIds`, build, {
    ids: dialect.listParameter(civitaiIds),
  });
  return new Map(rows.map((row) => [row.CivitaiId as number, row]));
}

export function versionById(trx: CatalogTransaction, id: number): Promise<Row | undefined> {
  return trx.selectFrom('ModelVersions').selectAll().where('Id', '=', id).executeTakeFirst();
}

/** The Civitai ids of a version and of its model (for messages about conflicting payloads). */
export async function civitaiIdsOfVersion(
  trx: CatalogTransaction,
  versionId: number,
): Promise<{ version: number | null; model: number | null }> {
  const row = await trx
    .selectFrom('ModelVersions as v')
    .innerJoin('Models as m', 'm.Id', 'v.ModelId')
    .select(['v.CivitaiId as version', 'm.CivitaiId as model'])
    .where('v.Id', '=', versionId)
    .executeTakeFirst();
  return { version: row?.version ?? null, model: row?.model ?? null };
}
