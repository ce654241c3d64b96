/**
 * MetadataChangeSets / MetadataChanges (what changed in a model's metadata, field by field) and ModelPayloads (every
 * payload read for a model, once per distinct content). Written only inside the transaction of the change they
 * describe.
 */
import { sql } from 'kysely';
import type { Ordering } from '../../catalog/pagination.ts';
import type { CatalogQueries, CatalogTransaction } from '../catalog-database.ts';
import { insertRow, insertRows } from '../row-writer.ts';
import { runShaped, slot } from '../shaped.ts';

export interface ChangeSetValues {
  modelId: number;
  source: string;
  detail: string | null;
  jobId: string | null;
  revertsChangeSetId: number | null;
  createdAt: Date;
}

export interface ChangeValues {
  entity: string;
  entityId: number;
  field: string;
  /** JSON text, or null for NULL. */
  oldValue: string | null;
  newValue: string | null;
}

/** Writes one change set and its changes; returns the change set's id. */
export async function insertChangeSet(
  trx: CatalogTransaction,
  set: ChangeSetValues,
  changes: readonly ChangeValues[],
): Promise<number> {
  const id = await insertRow(trx, 'MetadataChangeSets', {
    ModelId: set.modelId,
    Source: set.source,
    Detail: set.detail,
    JobId: set.jobId,
    RevertsChangeSetId: set.revertsChangeSetId,
    CreatedAt: set.createdAt,
  });
  await insertRows(
    trx,
    'MetadataChanges',
    changes.map((c) => ({
      ChangeSetId: id,
      Entity: c.entity,
      EntityId: c.entityId,
      Field: c.field,
      OldValue: c.oldValue,
      NewValue: c.newValue,
    })),
  );
  return id;
}

export interface ChangeSetRow {
  Id: number;
  ModelId: number;
  Source: string;
  Detail: string | null;
  JobId: string | null;
  RevertsChangeSetId: number | null;
  CreatedAt: string;
}

export interface ChangeRow {
  Id: number;
  ChangeSetId: number;
  Entity: string;
  EntityId: number;
  Field: string;
  OldValue: string | null;
  NewValue: string | null;
}

/** Change sets newest first: their id says the order they were written in. */
export const HISTORY_ORDERING: Ordering = {
  signature: 'history',
  keys: [{ expression: sql.ref('MetadataChangeSets.Id'), direction: 'DESC' }],
};

/** A model's change sets, newest first, after the keyset `beforeId` (exclusive), at most `limit`. */
export function changeSetsOfModel(
  db: CatalogQueries,
  modelId: number,
  beforeId: number | null,
  limit: number,
): Promise<ChangeSetRow[]> {
  return runShaped<ChangeSetRow>(
    db,
    `changeSetsOfModel|${beforeId === null ? 'first' : 'after'}`,
    () => {
      let query = db
        .selectFrom('MetadataChangeSets')
        .select(['Id', 'ModelId', 'Source', 'Detail', 'JobId', 'RevertsChangeSetId', 'CreatedAt'])
        .where('ModelId', '=', slot<number>('modelId'));
      if (beforeId !== null) query = query.where('Id', '<', slot<number>('beforeId'));
      return query.orderBy('Id', 'desc').limit(slot<number>('limit'));
    },
    { modelId, beforeId, limit },
  ) as Promise<ChangeSetRow[]>;
}

export async function changeSetCount(db: CatalogQueries, modelId: number): Promise<number> {
  const row = await db
    .selectFrom('MetadataChangeSets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('ModelId', '=', modelId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export function changeSetById(db: CatalogQueries, id: number): Promise<ChangeSetRow | undefined> {
  return db
    .selectFrom('MetadataChangeSets')
    .select(['Id', 'ModelId', 'Source', 'Detail', 'JobId', 'RevertsChangeSetId', 'CreatedAt'])
    .where('Id', '=', id)
    .executeTakeFirst() as Promise<ChangeSetRow | undefined>;
}

/** The changes of several change sets, in the order they were recorded. */
export function changesOfSets(db: CatalogQueries, ids: readonly number[]): Promise<ChangeRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('MetadataChanges')
    .select(['Id', 'ChangeSetId', 'Entity', 'EntityId', 'Field', 'OldValue', 'NewValue'])
    .where('ChangeSetId', 'in', ids)
    .orderBy('ChangeSetId')
    .orderBy('Id')
    .execute() as Promise<ChangeRow[]>;
}

export interface PreparedPayload {
  contentHash: string;
  kind: string;
  byteSize: number;
  body: Uint8Array;
}

/**
 * Keeps `payload` as read for `modelId`, unless the model already has it (looked up first: an INSERT … ON CONFLICT
 * DO NOTHING would still advance the AUTOINCREMENT sequence, and a repeated import must write nothing at all);
 * `fresh`: the model is new, so it has no payloads yet.
 */
export async function archivePayload(
  trx: CatalogTransaction,
  modelId: number,
  payload: PreparedPayload & { origin: string; source: string },
  now: Date,
  fresh = false,
): Promise<void> {
  if (!fresh) {
    const [known] = await runShaped<{ Id: number }>(
      trx,
      'modelPayloadByHash',
      () =>
        trx
          .selectFrom('ModelPayloads')
          .select('Id')
          .where('ModelId', '=', slot<number>('modelId'))
          .where('ContentHash', '=', slot('hash')),
      { modelId, hash: payload.contentHash },
    );
    if (known) return;
  }
  await insertRow(trx, 'ModelPayloads', {
    ModelId: modelId,
    ContentHash: payload.contentHash,
    Kind: payload.kind,
    Origin: payload.origin,
    Source: payload.source.slice(0, 1000),
    FetchedAt: now,
    ByteSize: payload.byteSize,
    Body: payload.body,
  });
}

/** The model with this catalog id or (with `byCivitaiId`) this Civitai id, if any. */
export async function modelIdFor(db: CatalogQueries, id: number, byCivitaiId: boolean): Promise<number | null> {
  const row = await db
    .selectFrom('Models')
    .select('Id')
    .where(byCivitaiId ? 'CivitaiId' : 'Id', '=', id)
    .executeTakeFirst();
  return row?.Id ?? null;
}

export interface ModelPayloadRow {
  Id: number;
  Origin: string;
  Source: string;
  FetchedAt: string;
  Kind: string;
  ByteSize: number;
  StoredBytes: number;
  ContentHash: string;
}

/** The payloads read for a model, newest first (without their bodies). */
export function payloadsOfModel(db: CatalogQueries, modelId: number, limit: number): Promise<ModelPayloadRow[]> {
  return db
    .selectFrom('ModelPayloads')
    .select(['Id', 'Origin', 'Source', 'FetchedAt', 'Kind', 'ByteSize', 'ContentHash'])
    .select((eb) => eb.fn<number>('length', ['Body']).as('StoredBytes'))
    .where('ModelId', '=', modelId)
    .orderBy('Id', 'desc')
    .limit(limit)
    .execute() as Promise<ModelPayloadRow[]>;
}

export async function payloadBodies(db: CatalogQueries, ids: readonly number[]): Promise<Map<number, Uint8Array>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('ModelPayloads').select(['Id', 'Body']).where('Id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.Id, r.Body as Uint8Array]));
}

/** Archive size over the whole catalog: payloads, their JSON bytes, their stored (compressed) bytes, models. */
export async function payloadTotals(
  db: CatalogQueries,
): Promise<{ payloads: number; jsonBytes: number; storedBytes: number; models: number }> {
  const row = (await db
    .selectFrom('ModelPayloads')
    .select((eb) => [
      eb.fn.countAll<number>().as('payloads'),
      eb.fn.coalesce(eb.fn.sum<number>('ByteSize'), eb.lit(0)).as('jsonBytes'),
      eb.fn.coalesce(eb.fn.sum<number>(eb.fn('length', ['Body'])), eb.lit(0)).as('storedBytes'),
      eb.fn.count<number>('ModelId').distinct().as('models'),
    ])
    .executeTakeFirstOrThrow()) as { payloads: number; jsonBytes: number; storedBytes: number; models: number };
  return {
    payloads: Number(row.payloads),
    jsonBytes: Number(row.jsonBytes),
    storedBytes: Number(row.storedBytes),
    models: Number(row.models),
  };
}
