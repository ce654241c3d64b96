/**
 * Which models changed between two catalog revisions, read from `CatalogModelChanges`: one row per model id that
 * the triggers of the AddCatalogModelChanges migrations keep in the very statements that raise the revision, on both
 * engines and whoever writes. Why one row per model and not a log of changes: the table stays as large as the
 * catalog (plus deleted models' tombstones) however often models are written, so nothing has to prune it, and
 * "what changed after R" is one range read on its Revision index that names each model once. What it cannot say
 * (a change older than the table: `ChangesFrom`) the caller answers with a reload.
 */
import type { CatalogDatabase } from './catalog-database.ts';
import { REVISION_TABLE } from './revision.ts';

/** Not catalog content: a transfer leaves it behind (`transfer/plan.ts`). */
export const MODEL_CHANGES_TABLE = 'CatalogModelChanges';

export type ModelChangeKind = 'CREATED' | 'UPDATED' | 'DELETED';

export interface ModelChange {
  modelId: number;
  kind: ModelChangeKind;
}

/** The revision from which changes are known: asking about an earlier one can only be answered "reload". */
export async function readChangesFrom(db: CatalogDatabase): Promise<number> {
  const row = await db.kysely.selectFrom(REVISION_TABLE).select('ChangesFrom').where('Id', '=', 1).executeTakeFirst();
  return Number(row?.ChangesFrom ?? 0);
}

/**
 * The models that changed after revision `after` up to `upTo` (inclusive), in the order of their latest change, or
 * null when more than `limit` did. A model created after `after` is CREATED however often it changed since; one
 * created and deleted again in between is left out (the client never saw it).
 */
export async function readModelChanges(
  db: CatalogDatabase,
  after: number,
  upTo: number,
  limit: number,
): Promise<ModelChange[] | null> {
  const rows = await db.kysely
    .selectFrom(MODEL_CHANGES_TABLE)
    .select(['ModelId', 'CreatedRevision', 'Deleted'])
    .where('Revision', '>', after)
    .where('Revision', '<=', upTo)
    .orderBy('Revision')
    .orderBy('ModelId')
    .limit(limit + 1)
    .execute();
  if (rows.length > limit) return null;
  const changes: ModelChange[] = [];
  for (const row of rows) {
    const createdSince = row.CreatedRevision !== null && Number(row.CreatedRevision) > after;
    if (Number(row.Deleted) === 1) {
      if (!createdSince) changes.push({ modelId: row.ModelId, kind: 'DELETED' });
    } else changes.push({ modelId: row.ModelId, kind: createdSince ? 'CREATED' : 'UPDATED' });
  }
  return changes;
}
