/**
 * Tombstones: when Civitai answers 404 for a model or version the catalog has synced before, every row stays and
 * RemovedFromCivitaiAt says since when it is gone (recorded in the history like any change). The next sync that
 * finds it again lifts it (see `importMappedModel`'s `foundOnCivitai`).
 */
import type { CatalogTransaction } from '../db/catalog-database.ts';
import { updateChanged } from '../db/row-writer.ts';
import { versionByCivitaiId } from '../db/tables/model-versions.ts';
import { modelByCivitaiId, modelById, syncedFromCivitai } from '../db/tables/models.ts';
import { ChangeLog } from './change-log.ts';

export type TombstoneKind = 'model' | 'version';

/**
 * Marks the model or version with Civitai id `civitaiId` as removed from Civitai, if the catalog has synced it
 * before; returns its model's id, or null when the catalog does not hold it as synced.
 */
export async function markRemovedFromCivitai(
  trx: CatalogTransaction,
  kind: TombstoneKind,
  civitaiId: number,
  now: Date,
  jobId: string | null = null,
): Promise<number | null> {
  const row = kind === 'model' ? await modelByCivitaiId(trx, civitaiId) : await versionByCivitaiId(trx, civitaiId);
  if (!row) return null;
  const model = kind === 'model' ? row : await modelById(trx, row.ModelId as number);
  if (!model) return null;
  const modelId = model.Id as number;
  // Marked already (by an earlier 404, or an archive import after one): still gone.
  if (row.RemovedFromCivitaiAt != null) return modelId;
  // Never had from Civitai: a 404 says nothing about a removal.
  if (!syncedFromCivitai(model)) return null;
  const log = new ChangeLog({ source: 'sync', detail: `Civitai answered 404 for ${kind} ${civitaiId}`, jobId });
  await updateChanged(
    trx,
    kind === 'model' ? 'Models' : 'ModelVersions',
    row.Id as number,
    row,
    { RemovedFromCivitaiAt: now },
    log.column,
  );
  await log.write(trx, modelId, now);
  return modelId;
}
