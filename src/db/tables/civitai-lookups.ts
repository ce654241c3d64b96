/** CivitaiLookups: what Civitai answered for a look-up that found nothing, so a sync does not ask again blindly. */
import type { CatalogDatabase, CatalogTransaction } from '../catalog-database.ts';
import { toStoredTimestamp } from '../timestamps.ts';

export type LookupKind = 'model' | 'version' | 'hash';

/** When Civitai last answered 404 for this look-up (stored text), if it did. */
export async function notFoundCheckedAt(db: CatalogDatabase, kind: LookupKind, key: string): Promise<string | null> {
  const row = await db.kysely
    .selectFrom('CivitaiLookups')
    .select('CheckedAt')
    .where('Kind', '=', kind)
    .where('Key', '=', key)
    .where('Status', '=', 'NotFound')
    .executeTakeFirst();
  return row?.CheckedAt ?? null;
}

export async function isRemembered(db: CatalogDatabase, kind: LookupKind, key: string): Promise<boolean> {
  return (
    (await db.kysely
      .selectFrom('CivitaiLookups')
      .select('Id')
      .where('Kind', '=', kind)
      .where('Key', '=', key)
      .executeTakeFirst()) !== undefined
  );
}

export async function rememberNotFound(
  trx: CatalogTransaction,
  kind: LookupKind,
  key: string,
  now: Date,
): Promise<void> {
  const values = {
    Status: 'NotFound',
    Message: `Civitai answered 404 for this ${kind}.`,
    CheckedAt: toStoredTimestamp(now),
  };
  await trx
    .insertInto('CivitaiLookups')
    .values({ Kind: kind, Key: key, ...values })
    .onConflict((conflict) => conflict.columns(['Kind', 'Key']).doUpdateSet(values))
    .execute();
}

export async function forgetLookup(trx: CatalogTransaction, kind: LookupKind, key: string): Promise<void> {
  await trx.deleteFrom('CivitaiLookups').where('Kind', '=', kind).where('Key', '=', key).execute();
}
