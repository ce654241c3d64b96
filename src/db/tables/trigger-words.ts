/** TriggerWords: a version's words, in their `Order`. */
import type { CatalogTransaction } from '../catalog-database.ts';
import { executeShaped, runShaped, slot } from '../shaped.ts';

/**
 * Makes the version's trigger words exactly `words`, in order; returns the words before when anything changed.
 * `onlyIfNone`: only when the version has none yet (an archive's copy fills, never replaces).
 */
export async function replaceTriggerWords(
  trx: CatalogTransaction,
  versionId: number,
  words: readonly string[],
  options: { onlyIfNone?: boolean } = {},
): Promise<string[] | null> {
  const current = await runShaped<{ Word: string }>(
    trx,
    'triggerWordsOf',
    () =>
      trx
        .selectFrom('TriggerWords')
        .select('Word')
        .where('ModelVersionId', '=', slot<number>('versionId'))
        .orderBy('Order')
        .orderBy('Id'),
    { versionId },
  );
  if (options.onlyIfNone && current.length > 0) return null;
  if (current.length === words.length && current.every((w, i) => w.Word === words[i])) return null;
  await executeShaped(
    trx,
    'deleteTriggerWords',
    () => trx.deleteFrom('TriggerWords').where('ModelVersionId', '=', slot<number>('versionId')),
    { versionId },
  );
  await insertTriggerWords(trx, versionId, words);
  return current.map((w) => w.Word);
}

/** Adds `words`, in order, to a version that has none (a version just created). */
export async function insertTriggerWords(
  trx: CatalogTransaction,
  versionId: number,
  words: readonly string[],
): Promise<void> {
  if (words.length === 0) return;
  const values: Record<string, unknown> = { versionId };
  words.forEach((word, i) => {
    values[`word${i}`] = word;
  });
  const build = () =>
    trx
      .insertInto('TriggerWords')
      .values(
        words.map((_, Order) => ({ ModelVersionId: slot<number>('versionId'), Word: slot(`word${Order}`), Order })),
      );
  await executeShaped(trx, `insertTriggerWords|${words.length}`, build, values);
}
