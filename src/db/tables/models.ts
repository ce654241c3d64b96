/**
 * Models: defaults of a new row, and `UserEditedFields` — a JSON array naming what the user edited, which syncs
 * must leave alone ("name", "tags", "triggerWords:<versionId>"…).
 */
import { sql } from 'kysely';
import type { CatalogTransaction } from '../catalog-database.ts';
import type { SqlDialect } from '../dialect.ts';
import type { Row, RowValues } from '../row-writer.ts';
import { toStoredTimestamp } from '../timestamps.ts';

/** A new model's columns that neither Civitai nor a local file may say (Source and Name always come from the caller). */
export const NEW_MODEL_DEFAULTS = {
  Type: 'Other',
  IsNsfw: false,
  IsPoi: false,
  Mode: 'Available',
  AllowNoCredit: true,
  AllowCommercialUse: 'None',
  AllowDerivatives: true,
  AllowDifferentLicense: true,
} as const satisfies RowValues;

/** What `UserEditedFields` can protect, and the Models column each name stands for. */
export const PROTECTABLE_MODEL_FIELDS = {
  name: 'Name',
  description: 'Description',
  type: 'Type',
  isNsfw: 'IsNsfw',
  isPoi: 'IsPoi',
  mode: 'Mode',
  allowNoCredit: 'AllowNoCredit',
  allowCommercialUse: 'AllowCommercialUse',
  allowDerivatives: 'AllowDerivatives',
  allowDifferentLicense: 'AllowDifferentLicense',
} as const;
export type ProtectableModelField = keyof typeof PROTECTABLE_MODEL_FIELDS;
export const TAGS_EDIT = 'tags';
export const CREATOR_EDIT = 'creator';
export const triggerWordsEdit = (versionId: number) => `triggerWords:${versionId}`;
/** A version's or file's column the user set (by reverting a change): `ModelVersions:12:Description`. */
export const columnEdit = (table: 'ModelVersions' | 'ModelFiles', id: number, column: string) =>
  `${table}:${id}:${column}`;

/** The name under which `UserEditedFields` protects a column of Models, if it can. */
export function modelColumnEdit(column: string): ProtectableModelField | undefined {
  return (Object.keys(PROTECTABLE_MODEL_FIELDS) as ProtectableModelField[]).find(
    (field) => PROTECTABLE_MODEL_FIELDS[field] === column,
  );
}

/** `values` without the columns of row `id` the user protected. */
export function withoutProtected(
  values: RowValues,
  edits: ReadonlySet<string>,
  table: 'ModelVersions' | 'ModelFiles',
  id: number,
): RowValues {
  if (edits.size === 0) return values;
  return Object.fromEntries(Object.entries(values).filter(([column]) => !edits.has(columnEdit(table, id, column))));
}

export function parseUserEdits(stored: unknown): Set<string> {
  if (typeof stored !== 'string' || stored === '') return new Set();
  try {
    const parsed = JSON.parse(stored) as unknown;
    return new Set(Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

export function modelById(trx: CatalogTransaction, id: number): Promise<Row | undefined> {
  return trx.selectFrom('Models').selectAll().where('Id', '=', id).executeTakeFirst();
}

/**
 * The first key of the transaction-level advisory lock "an import is writing the model with this Civitai id"
 * (PostgreSQL's two-int4 form; the second key is the id). Any fixed int4 works: nothing else here takes advisory
 * locks, and it only has to be the same number in every process.
 */
const IMPORT_LOCK_NAMESPACE = 0x444e_0001;

/**
 * Makes imports of one Civitai model, in this process or any other on the same catalog, run one after another:
 * on PostgreSQL, `pg_advisory_xact_lock`, held until the transaction ends. An import reads what is stored (the model,
 * its versions, files and images, which payloads are archived) and then inserts what is missing; two READ COMMITTED
 * transactions doing that at once would both insert. Files and images have no unique key to stop the second, so
 * retrying after a unique violation alone could not prevent duplicates: the lock must come first, before any read.
 * Once it is granted, the other import has committed and every later statement (READ COMMITTED takes a snapshot per
 * statement) sees its rows. On SQLite nothing is needed: a write transaction holds the whole file.
 */
export async function lockModelForImport(trx: CatalogTransaction, dialect: SqlDialect, civitaiId: number) {
  if (dialect.name !== 'postgres') return;
  await sql`SELECT pg_advisory_xact_lock(${IMPORT_LOCK_NAMESPACE}::int4, ${civitaiId}::int4)`.execute(trx);
}

export function modelByCivitaiId(trx: CatalogTransaction, civitaiId: number): Promise<Row | undefined> {
  return trx.selectFrom('Models').selectAll().where('CivitaiId', '=', civitaiId).executeTakeFirst();
}

/** Adds `fields` to what the user edited; returns whether the list changed. */
export async function markEdited(trx: CatalogTransaction, model: Row, fields: readonly string[]): Promise<boolean> {
  const edits = parseUserEdits(model.UserEditedFields);
  const before = edits.size;
  for (const field of fields) edits.add(field);
  if (edits.size === before) return false;
  await trx
    .updateTable('Models')
    .set({ UserEditedFields: JSON.stringify([...edits].sort()) })
    .where('Id', '=', model.Id as number)
    .execute();
  return true;
}

/**
 * Whether the catalog has had this model from Civitai. LastSyncedAt says when a Civitai payload (its API's answer, or
 * one saved as a file) was last imported for the model; an archive's record is not one. A model never had from
 * Civitai cannot be "removed from Civitai" by a later 404: what Civitai holds was never seen.
 */
export function syncedFromCivitai(model: Row): boolean {
  return model.LastSyncedAt != null;
}

/** Records that a model changed (and, when `synced`, that Civitai's data was imported: `syncedFromCivitai`). */
export async function touchModel(trx: CatalogTransaction, id: number, now: Date, synced = false): Promise<void> {
  const stamp = toStoredTimestamp(now);
  await trx
    .updateTable('Models')
    .set(synced ? { UpdatedAt: stamp, LastSyncedAt: stamp } : { UpdatedAt: stamp })
    .where('Id', '=', id)
    .execute();
}

export async function deleteModelRow(trx: CatalogTransaction, id: number): Promise<boolean> {
  const { numDeletedRows } = await trx.deleteFrom('Models').where('Id', '=', id).executeTakeFirst();
  return numDeletedRows > 0n;
}

export async function setIgnoreUpdatesOf(trx: CatalogTransaction, id: number, ignore: boolean): Promise<boolean> {
  const { numUpdatedRows } = await trx
    .updateTable('Models')
    .set({ IgnoreUpdates: ignore ? 1 : 0 })
    .where('Id', '=', id)
    .executeTakeFirst();
  return numUpdatedRows > 0n;
}
