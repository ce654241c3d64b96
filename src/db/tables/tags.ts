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
        .returning('Id')
        .executeTakeFirstOrThrow();
      id = Number(inserted.Id);
      known.set(normalized[i]!, id);
    }
    ids.push(id);
  }
  return ids;
}

/**
 * Makes the model's tags exactly `names`; returns the names it had before (in `tagNamesOf`'s order) when anything
 * changed, else null. The current tags are read once, with their names, so recording the change costs no statement.
 */
export async function setModelTagNames(
  trx: CatalogTransaction,
  modelId: number,
  names: readonly string[],
): Promise<string[] | null> {
  const ids = await tagIdsFor(trx, names);
  const current = await trx
    .selectFrom('ModelTags')
    .innerJoin('Tags', 'Tags.Id', 'ModelTags.TagId')
    .select(['ModelTags.TagId as TagId', 'Tags.Name as Name', 'Tags.NormalizedName as NormalizedName'])
    .where('ModelTags.ModelId', '=', modelId)
    .execute();
  const wanted = new Set(ids);
  const have = new Set(current.map((r) => r.TagId));
  const removed = [...have].filter((id) => !wanted.has(id));
  const added = [...wanted].filter((id) => !have.has(id));
  if (removed.length === 0 && added.length === 0) return null;
  if (removed.length > 0)
    await trx.deleteFrom('ModelTags').where('ModelId', '=', modelId).where('TagId', 'in', removed).execute();
  if (added.length > 0)
    await trx
      .insertInto('ModelTags')
      .values(added.map((TagId) => ({ ModelId: modelId, TagId })))
      .execute();
  return current
    .sort((a, b) => (a.NormalizedName < b.NormalizedName ? -1 : a.NormalizedName > b.NormalizedName ? 1 : 0))
    .map((r) => r.Name);
}

/** The model's tag names, ordered by their normalized form. */
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
