/**
 * Undoing a change set: its fields get their old values back as a user edit — protected in
 * Models.UserEditedFields, so later syncs keep them — and the revert is itself a change set (source "revert") that
 * can be reverted in turn. Rows a change set created are not deleted (that would lose what came with them later).
 */
import type { CatalogDatabase, CatalogTransaction } from '../db/catalog-database.ts';
import { type Row, updateChanged } from '../db/row-writer.ts';
import { creatorByUsername } from '../db/tables/creators.ts';
import { changeSetById, changesOfSets } from '../db/tables/metadata-history.ts';
import { fileById } from '../db/tables/model-files.ts';
import { versionById } from '../db/tables/model-versions.ts';
import {
  CREATOR_EDIT,
  columnEdit,
  markEdited,
  modelById,
  modelColumnEdit,
  TAGS_EDIT,
  touchModel,
  triggerWordsEdit,
} from '../db/tables/models.ts';
import { setModelTagNames, tagNamesOf } from '../db/tables/tags.ts';
import { replaceTriggerWords } from '../db/tables/trigger-words.ts';
import { AppError } from '../errors.ts';
import { ChangeLog, columnValueOf, type HistoryEntity, LIST_FIELDS, TABLE_OF_ENTITY } from './change-log.ts';

export interface RevertOutcome {
  modelId: number;
  /** The change set that recorded the revert; null when every value was already back as it was. */
  changeSetId: number | null;
}

/** Columns the history follows but a revert leaves to syncs (a tombstone is Civitai's fact, not the user's). */
const NOT_REVERTED = new Set(['RemovedFromCivitaiAt']);

function rowOf(trx: CatalogTransaction, entity: HistoryEntity, id: number): Promise<Row | undefined> {
  return entity === 'Model' ? modelById(trx, id) : entity === 'ModelVersion' ? versionById(trx, id) : fileById(trx, id);
}

export function revertChangeSet(
  db: CatalogDatabase,
  changeSetId: number,
  jobId: string | null = null,
  now: Date = new Date(),
): Promise<RevertOutcome> {
  return db.write(async (trx) => {
    const set = await changeSetById(trx, changeSetId);
    if (!set) throw new AppError('NOT_FOUND', `No change set with id ${changeSetId}.`);
    const revertible = (await changesOfSets(trx, [changeSetId])).filter(
      (c) => c.Field !== LIST_FIELDS.created && !NOT_REVERTED.has(c.Field),
    );
    if (revertible.length === 0)
      throw new AppError(
        'BAD_USER_INPUT',
        `Change set ${changeSetId} has nothing to revert: it only created rows or marked a removal from Civitai.`,
      );
    const modelId = set.ModelId;
    const log = new ChangeLog({
      source: 'revert',
      detail: `revert of change set ${changeSetId}`,
      jobId,
      revertsChangeSetId: changeSetId,
    });
    const edits: string[] = [];
    // Newest first, so a field changed twice in one set ends at its oldest value.
    for (const change of [...revertible].reverse()) {
      const entity = change.Entity as HistoryEntity;
      const old = change.OldValue === null ? null : (JSON.parse(change.OldValue) as unknown);
      if (change.Field === LIST_FIELDS.tags) {
        const before = await setModelTagNames(trx, modelId, (old as string[] | null) ?? []);
        if (before !== null) log.value('Model', modelId, LIST_FIELDS.tags, before, await tagNamesOf(trx, modelId));
        edits.push(TAGS_EDIT);
      } else if (change.Field === LIST_FIELDS.triggerWords) {
        const words = (old as string[] | null) ?? [];
        if (!(await versionById(trx, change.EntityId))) continue;
        const before = await replaceTriggerWords(trx, change.EntityId, words);
        if (before !== null) log.value('ModelVersion', change.EntityId, LIST_FIELDS.triggerWords, before, words);
        edits.push(triggerWordsEdit(change.EntityId));
      } else if (change.Field === LIST_FIELDS.creator) {
        const model = await modelById(trx, modelId);
        const creator = typeof old === 'string' ? await creatorByUsername(trx, old) : undefined;
        const creatorId = (creator?.Id as number | undefined) ?? null;
        if (model && model.CreatorId !== creatorId) {
          await updateChanged(trx, 'Models', modelId, model, { CreatorId: creatorId });
          log.value('Model', modelId, LIST_FIELDS.creator, change.NewValue && JSON.parse(change.NewValue), old);
        }
        edits.push(CREATOR_EDIT);
      } else {
        const table = TABLE_OF_ENTITY[entity];
        const row = await rowOf(trx, entity, change.EntityId);
        if (!row) continue; // deleted since: nothing to restore it into
        const value = columnValueOf(table, change.Field, change.OldValue);
        await updateChanged(trx, table, change.EntityId, row, { [change.Field]: value }, log.column);
        const protect =
          table === 'Models' ? modelColumnEdit(change.Field) : columnEdit(table, change.EntityId, change.Field);
        if (protect) edits.push(protect);
      }
    }
    const model = await modelById(trx, modelId);
    if (model) await markEdited(trx, model, edits);
    if (log.isEmpty) return { modelId, changeSetId: null };
    await touchModel(trx, modelId, now);
    return { modelId, changeSetId: await log.write(trx, modelId, now) };
  });
}
