/**
 * Downloads: the persistent download queue (one row per requested file) and the catalog reads a download needs —
 * which catalog file a version's download is, whether a copy is already present, the version's first image, and
 * which models have an update to fetch (and their newest version). States and their meaning are stated here once.
 */
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { CatalogQueries, CatalogTransaction } from '../catalog-database.ts';
import type { SqlDialect } from '../dialect.ts';
import {
  hasUpdate,
  ignoresUpdates,
  newerVersionExists,
  newestLocalVersionTime,
  removedFromCivitai,
  versionOnCivitai,
} from '../lists.ts';
import { table } from '../refs.ts';
import { insertRow, type Row, type RowValues } from '../row-writer.ts';
import { localFilePresent } from './model-files.ts';

export const DOWNLOAD_STATES = ['QUEUED', 'DOWNLOADING', 'VERIFYING', 'DONE', 'FAILED', 'CANCELLED', 'PAUSED'] as const;
export type DownloadState = (typeof DOWNLOAD_STATES)[number];

/** States a process may pick a job up in (a DOWNLOADING or VERIFYING job whose lease lapsed was interrupted). */
export const RUNNABLE_STATES: readonly DownloadState[] = ['QUEUED', 'DOWNLOADING', 'VERIFYING'];
/** States in which the job still stands for its file: a second request for the same file joins it. */
export const ACTIVE_STATES: readonly DownloadState[] = [...RUNNABLE_STATES, 'PAUSED'];
/** States a job ends in (retryDownload re-queues FAILED and CANCELLED). */
export const FINAL_STATES: readonly DownloadState[] = ['DONE', 'FAILED', 'CANCELLED'];

export interface DownloadRow {
  Id: number;
  State: DownloadState;
  VersionCivitaiId: number;
  FileCivitaiId: number | null;
  ModelFileId: number | null;
  TargetDir: string;
  FileName: string | null;
  PartPath: string | null;
  LocalPath: string | null;
  AlreadyPresent: number;
  Sidecars: number;
  ExpectedSHA256: string | null;
  ActualSHA256: string | null;
  TotalBytes: number | bigint | null;
  ReceivedBytes: number | bigint;
  ETag: string | null;
  Attempts: number;
  ErrorCode: string | null;
  ErrorMessage: string | null;
  LeaseOwner: string | null;
  LeaseUntil: string | null;
  CreatedAt: string;
  UpdatedAt: string;
  StartedAt: string | null;
  FinishedAt: string | null;
}

export function insertDownload(trx: CatalogTransaction, values: RowValues): Promise<number> {
  return insertRow(trx, 'Downloads', values);
}

export function downloadById(db: CatalogQueries, id: number): Promise<DownloadRow | undefined> {
  return db.selectFrom('Downloads').selectAll().where('Id', '=', id).executeTakeFirst() as Promise<
    DownloadRow | undefined
  >;
}

/** The job that already stands for catalog file `modelFileId`, if any (the oldest). */
export function activeDownloadOfFile(db: CatalogQueries, modelFileId: number): Promise<DownloadRow | undefined> {
  return db
    .selectFrom('Downloads')
    .selectAll()
    .where('ModelFileId', '=', modelFileId)
    .where('State', 'in', ACTIVE_STATES)
    .orderBy('Id')
    .executeTakeFirst() as Promise<DownloadRow | undefined>;
}

export interface DownloadCondition {
  /** Only while the job is in one of these states. */
  states?: readonly DownloadState[];
  /** Only while this owner holds the job's lease (null: while nobody does). */
  leaseOwner?: string | null;
}

/** Updates a job when it still matches `condition`; returns whether it did (another process may have changed it). */
export async function updateDownload(
  trx: CatalogTransaction,
  id: number,
  values: RowValues,
  condition: DownloadCondition = {},
): Promise<boolean> {
  let query = trx
    .updateTable('Downloads')
    .set(values as never)
    .where('Id', '=', id);
  if (condition.states) query = query.where('State', 'in', condition.states);
  if (condition.leaseOwner === null) query = query.where('LeaseOwner', 'is', null);
  else if (condition.leaseOwner !== undefined) query = query.where('LeaseOwner', '=', condition.leaseOwner);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Jobs some process could run, oldest first (whose lease lets this process take one is decided by the caller). */
export function runnableDownloads(db: CatalogQueries, ids: readonly number[] | null): Promise<DownloadRow[]> {
  let query = db.selectFrom('Downloads').selectAll().where('State', 'in', RUNNABLE_STATES).orderBy('Id');
  if (ids) query = query.where('Id', 'in', ids.length > 0 ? ids : [0]);
  return query.execute() as Promise<DownloadRow[]>;
}

/** One page of jobs, newest first: ids below `beforeId`, at most `limit + 1` (the extra one says there is more). */
export function downloadsPage(
  db: CatalogQueries,
  state: DownloadState | null,
  beforeId: number | null,
  limit: number,
): Promise<DownloadRow[]> {
  let query = db
    .selectFrom('Downloads')
    .selectAll()
    .orderBy('Id', 'desc')
    .limit(limit + 1);
  if (state) query = query.where('State', '=', state);
  if (beforeId !== null) query = query.where('Id', '<', beforeId);
  return query.execute() as Promise<DownloadRow[]>;
}

export async function countDownloads(db: CatalogQueries, state: DownloadState | null): Promise<number> {
  let query = db.selectFrom('Downloads').select(sql<number>`COUNT(*)`.as('n'));
  if (state) query = query.where('State', '=', state);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

export interface CatalogFileForDownload {
  file: Row;
  versionId: number;
  modelId: number;
  /** Civitai ids of the version and its model (the payload for sidecars is fetched by them). */
  versionCivitaiId: number;
}

/**
 * The catalog file a download of Civitai version `versionCivitaiId` fetches: the file with Civitai id
 * `fileCivitaiId` when given, else the version's primary file (else its first). Undefined when the catalog does not
 * hold the version (or not that file of it).
 */
export async function catalogFileForDownload(
  db: CatalogQueries,
  versionCivitaiId: number,
  fileCivitaiId: number | null,
): Promise<CatalogFileForDownload | undefined> {
  const version = await db
    .selectFrom('ModelVersions')
    .select(['Id', 'ModelId'])
    .where('CivitaiId', '=', versionCivitaiId)
    .executeTakeFirst();
  if (!version) return undefined;
  let query = db.selectFrom('ModelFiles').selectAll().where('ModelVersionId', '=', version.Id);
  query =
    fileCivitaiId !== null
      ? query.where('CivitaiId', '=', fileCivitaiId)
      : query.orderBy(sql`${sql.ref('IsPrimary')} DESC`).orderBy('Id');
  const file = (await query.executeTakeFirst()) as Row | undefined;
  return file ? { file, versionId: version.Id, modelId: version.ModelId, versionCivitaiId } : undefined;
}

/** Present, verified local copies of content `sha256` (any catalog file), by id. */
export function presentCopies(db: CatalogQueries, sha256: string): Promise<{ Id: number; LocalPath: string }[]> {
  const f = table('ModelFiles', 'f');
  return db
    .selectFrom(f.item)
    .select([sql<number>`${f('Id')}`.as('Id'), sql<string>`${f('LocalPath')}`.as('LocalPath')])
    .where(sql<SqlBool>`upper(${f('HashSHA256')}) = ${sha256.toUpperCase()}`)
    .where(localFilePresent(f))
    .orderBy(f('Id'))
    .execute();
}

/** The version's first image (by SortOrder): its URL and whether it has a thumbnail. */
export async function firstImageOfVersion(
  db: CatalogQueries,
  versionId: number,
): Promise<{ id: number; url: string; hasThumbnail: boolean } | undefined> {
  const row = await db
    .selectFrom('ModelImages')
    .select(['Id', 'Url', sql<number>`${sql.ref('ThumbnailData')} IS NOT NULL`.as('hasThumbnail')])
    .where('ModelVersionId', '=', versionId)
    .orderBy('SortOrder')
    .orderBy('Id')
    .executeTakeFirst();
  return row ? { id: row.Id, url: row.Url, hasThumbnail: Number(row.hasThumbnail) === 1 } : undefined;
}

/** The newest version on Civitai is the last created, as `hasUpdate` judges it. */
function newestVersionCivitaiId(dialect: SqlDialect, modelId: RawBuilder<unknown>): RawBuilder<number | null> {
  const nv = table('ModelVersions', 'nv');
  return sql<
    number | null
  >`(SELECT ${nv('CivitaiId')} FROM ${nv.item} WHERE ${nv('ModelId')} = ${modelId} AND ${versionOnCivitai(nv)}
    ORDER BY ${dialect.utc(nv('CreatedAt'))} DESC, ${nv('Id')} DESC LIMIT 1)`;
}

/** The Civitai id of model `modelId`'s newest version (null when it has none from Civitai). */
export async function newestVersionOfModel(
  db: CatalogQueries,
  dialect: SqlDialect,
  modelId: number,
): Promise<number | null> {
  const row = await db
    .selectFrom('Models')
    .select(newestVersionCivitaiId(dialect, sql`${modelId}`).as('newest'))
    .where('Id', '=', modelId)
    .executeTakeFirst();
  return row?.newest ?? null;
}

export interface OutdatedModel {
  modelId: number;
  /** The Civitai id of the model's newest version (what `hasUpdate` compares against). */
  newestVersionCivitaiId: number;
  /** The newest present local copy of one of its files (its folder is where the update goes). */
  localPath: string | null;
}

/**
 * Models whose `hasUpdate` is true (all of them, or those of `modelIds`), with their newest Civitai version and the
 * path of their newest present local file. The newest version is by creation time, as `hasUpdate` judges it.
 */
export async function outdatedModels(
  db: CatalogQueries,
  dialect: SqlDialect,
  modelIds: readonly number[] | null,
): Promise<OutdatedModel[]> {
  const m = table('Models', 'm');
  const lv = table('ModelVersions', 'lv');
  const f = table('ModelFiles', 'f');
  let query = db
    .selectFrom(m.item)
    .select([
      sql<number>`${m('Id')}`.as('modelId'),
      newestVersionCivitaiId(dialect, m('Id')).as('newestVersionCivitaiId'),
      sql<
        string | null
      >`(SELECT ${f('LocalPath')} FROM ${f.item} JOIN ${lv.item} ON ${lv('Id')} = ${f('ModelVersionId')}
        WHERE ${lv('ModelId')} = ${m('Id')} AND ${localFilePresent(f)}
        ORDER BY ${dialect.utc(lv('CreatedAt'))} DESC, ${f('Id')} DESC LIMIT 1)`.as('localPath'),
    ])
    .where(hasUpdate(dialect, m))
    .orderBy(m('Id'));
  if (modelIds) query = query.where(m('Id'), 'in', modelIds.length > 0 ? modelIds : [0]);
  return (await query.execute()) as OutdatedModel[];
}

/** The parts `hasUpdate` decides from, and whether the model has a local file, for saying why it has no update. */
export interface UpdateState {
  modelId: number;
  ignoresUpdates: boolean;
  removedFromCivitai: boolean;
  hasLocalFile: boolean;
  /** A version newer than its newest local file exists in the catalog but not on Civitai (tombstoned or no id). */
  newerVersionGone: boolean;
}

/** The update state of each of `modelIds` that exists. */
export async function updateStates(
  db: CatalogQueries,
  dialect: SqlDialect,
  modelIds: readonly number[],
): Promise<UpdateState[]> {
  if (modelIds.length === 0) return [];
  const m = table('Models', 'm');
  const rows = await db
    .selectFrom(m.item)
    .select([
      sql<number>`${m('Id')}`.as('modelId'),
      sql<unknown>`${ignoresUpdates(m)}`.as('ignoresUpdates'),
      sql<unknown>`${removedFromCivitai(m)}`.as('removedFromCivitai'),
      sql<unknown>`${newestLocalVersionTime(dialect, m)} IS NOT NULL`.as('hasLocalFile'),
      sql<unknown>`${newerVersionExists(dialect, m, false)}`.as('newerVersionGone'),
    ])
    .where(m('Id'), 'in', modelIds)
    .execute();
  // SQLite answers 0/1, PostgreSQL booleans.
  return rows.map((row) => ({
    modelId: Number(row.modelId),
    ignoresUpdates: Boolean(Number(row.ignoresUpdates)),
    removedFromCivitai: Boolean(Number(row.removedFromCivitai)),
    hasLocalFile: Boolean(Number(row.hasLocalFile)),
    newerVersionGone: Boolean(Number(row.newerVersionGone)),
  }));
}

/** A catalog file's row as it is now (a download links it when the bytes are verified). */
export function modelFileRow(db: CatalogQueries, id: number): Promise<Row | undefined> {
  return db.selectFrom('ModelFiles').selectAll().where('Id', '=', id).executeTakeFirst() as Promise<Row | undefined>;
}
