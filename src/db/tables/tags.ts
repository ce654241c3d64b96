/** Tags: matched on NormalizedName — trimmed and lower-cased; Name keeps the first spelling seen. */
import type { CatalogTransaction } from '../catalog-database.ts';

export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * Tag ids for display names, in order, creating the missing tags. Existing tags are looked up first, so an import
 * that names only known tags writes nothing (an INSERT … ON CONFLICT DO NOTHING would spend an id each time).
 */
export async function tagIdsFor(trx: CatalogTransaction, names: readonly string[]): Promise<number[]> {
  const normalized = names.map(normalizeTagName);
  const known = new Map<string, number>();
  if (normalized.length > 0) {
    for (const row of await trx
      .selectFrom('Tags')
      .select(['Id', 'NormalizedName'])
      .where('NormalizedName', 'in', normalized)
      .execute()) {
      known.set(row.NormalizedName, row.Id);
    }
  }
  const ids: number[] = [];
  for (const [i, name] of names.entries()) {
    let id = known.get(normalized[i]!);
    if (id === undefined) {
      const inserted = await trx
        .insertInto('Tags')
        .values({ Name: name.trim(), NormalizedName: normalized[i]! })
        .executeTakeFirstOrThrow();
      id = Number(inserted.insertId);
      known.set(normalized[i]!, id);
    }
    ids.push(id);
  }
  return ids;
}

/** Makes the model's tags exactly `ids`; returns whether anything changed. */
export async function replaceModelTags(
  trx: CatalogTransaction,
  modelId: number,
  ids: readonly number[],
): Promise<boolean> {
  const current = new Set(
    (await trx.selectFrom('ModelTags').select('TagId').where('ModelId', '=', modelId).execute()).map((r) => r.TagId),
  );
  const wanted = new Set(ids);
  const removed = [...current].filter((id) => !wanted.has(id));
  const added = [...wanted].filter((id) => !current.has(id));
  if (removed.length > 0)
    await trx.deleteFrom('ModelTags').where('ModelId', '=', modelId).where('TagId', 'in', removed).execute();
  if (added.length > 0)
    await trx
      .insertInto('ModelTags')
      .values(added.map((TagId) => ({ ModelId: modelId, TagId })))
      .execute();
  return removed.length > 0 || added.length > 0;
}

/** The model's tag names, in tag-name order. */
export async function tagNamesOf(trx: CatalogTransaction, modelId: number): Promise<string[]> {
  const rows = await trx
    .selectFrom('ModelTags')
    .innerJoin('Tags', 'Tags.Id', 'ModelTags.TagId')
    .select('Tags.Name')
    .where('ModelTags.ModelId', '=', modelId)
    .orderBy('Tags.NormalizedName')
    .execute();
  return rows.map((r) => r.Name);
}

/**
 * Makes the model's tags exactly `names`; returns the names it had before when anything changed, else null (read
 * only then: an unchanged import costs no extra statement).
 */
export async function setModelTagNames(
  trx: CatalogTransaction,
  modelId: number,
  names: readonly string[],
): Promise<string[] | null> {
  const ids = await tagIdsFor(trx, names);
  const before = await tagNamesOfIfChanged(trx, modelId, ids);
  if (before === null) return null;
  await replaceModelTags(trx, modelId, ids);
  return before;
}

/** The model's current names when its tags differ from `ids`, else null. */
async function tagNamesOfIfChanged(
  trx: CatalogTransaction,
  modelId: number,
  ids: readonly number[],
): Promise<string[] | null> {
  const current = (await trx.selectFrom('ModelTags').select('TagId').where('ModelId', '=', modelId).execute()).map(
    (r) => r.TagId,
  );
  const wanted = new Set(ids);
  if (current.length === wanted.size && current.every((id) => wanted.has(id))) return null;
  return tagNamesOf(trx, modelId);
}
