/** TriggerWords: a version's words, in their `Order`. */
import type { CatalogTransaction } from '../catalog-database.ts';

/** Makes the version's trigger words exactly `words`, in order; returns whether anything changed. */
export async function replaceTriggerWords(
  trx: CatalogTransaction,
  versionId: number,
  words: readonly string[],
): Promise<boolean> {
  const current = await trx
    .selectFrom('TriggerWords')
    .select('Word')
    .where('ModelVersionId', '=', versionId)
    .orderBy('Order')
    .orderBy('Id')
    .execute();
  if (current.length === words.length && current.every((w, i) => w.Word === words[i])) return false;
  await trx.deleteFrom('TriggerWords').where('ModelVersionId', '=', versionId).execute();
  if (words.length > 0) {
    await trx
      .insertInto('TriggerWords')
      .values(words.map((Word, Order) => ({ ModelVersionId: versionId, Word, Order })))
      .execute();
  }
  return true;
}
