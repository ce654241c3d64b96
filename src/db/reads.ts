/**
 * The reads behind the per-request loaders: each takes the batch's keys as one list parameter and returns rows with
 * a `key` column (the loaders group them), reading only the columns of a row-field plan. Pages of children per
 * parent are `PartitionedSource`s for `partitionedPageRows`.
 */
import { type AliasedRawBuilder, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { HashAlgorithm } from '../catalog/hash-lookup.ts';
import type { CatalogDatabase } from './catalog-database.ts';
import { hasUpdate } from './lists.ts';
import type { PartitionedSource, RawRow } from './pages.ts';
import { type AnyDb, type AnySelect, table } from './refs.ts';
import { runShaped, slot } from './shaped.ts';
import { planKey, type RowFields, selectColumns } from './row-mapping.ts';
import { hashMatch } from './tables/model-files.ts';
import {
  IS_STILL_IMAGE,
  THUMBNAIL_BYTE_SIZE,
  THUMBNAIL_FACTS,
  THUMBNAIL_FACTS_INDEXED,
  THUMBNAIL_FIELDS_INDEXED,
} from './tables/model-images.ts';

export type FetchByKeys = (keys: readonly number[]) => Promise<RawRow[]>;

const m = table('Models', 'm');
const v = table('ModelVersions', 'v');
const f = table('ModelFiles', 'f');
const i = table('ModelImages', 'i');
const w = table('TriggerWords', 'w');
const c = table('Creators', 'c');
const t = table('Tags', 't');
const mt = table('ModelTags', 'mt');

type Columns = readonly AliasedRawBuilder<unknown, string>[];

/**
 * `SELECT key, columns FROM item [joins] WHERE keyColumn IN (keys) [AND …] [ORDER BY …]`, built once per `shape`
 * (see `shaped.ts`): `shape` names the read and its row-field plan.
 */
interface KeyedRead {
  from: (db: AnyDb) => AnySelect;
  key: RawBuilder<unknown>;
  columns: Columns;
  where?: RawBuilder<SqlBool>;
  orderBy?: RawBuilder<unknown>;
  groupBy?: RawBuilder<unknown>;
}

/**
 * `SELECT key, columns FROM item [joins] WHERE keyColumn IN (keys) [AND …] [ORDER BY …]`, built once per `shape`
 * (see `shaped.ts`): `shape` names the read and its row-field plan. `read` describes the query and is called only
 * when it is built: a request makes its loaders without building any query piece it will not run.
 */
function byKeys(db: CatalogDatabase, shape: string, read: () => KeyedRead): FetchByKeys {
  const build = () => {
    const { from, key, columns, where, orderBy, groupBy } = read();
    let query = from(db.kysely as AnyDb)
      .select([sql`${key}`.as('key'), ...columns])
      .where(db.dialect.inListParameter(key, slot('keys')));
    if (where) query = query.where(where);
    if (groupBy) query = query.groupBy(groupBy);
    if (orderBy) query = query.orderBy(orderBy);
    return query;
  };
  return (keys) =>
    runShaped<RawRow>(db.statements, `${db.dialect.name}|${shape}`, build, { keys: db.dialect.listParameter(keys) });
}

const fromTable = (ref: { item: AliasedRawBuilder<unknown, string> }) => (db: AnyDb) => db.selectFrom(ref.item);
const count = (counted: RawBuilder<unknown> = sql`*`) => [sql`COUNT(${counted})`.as('value')];

// ——— Models ———

export const modelsById = (db: CatalogDatabase, fields: RowFields) =>
  byKeys(db, `modelsById|${planKey(fields)}`, () => ({
    from: fromTable(m),
    key: m('Id'),
    columns: selectColumns('Model', 'm', fields),
  }));

export const hasUpdateByModel = (db: CatalogDatabase) =>
  byKeys(db, 'hasUpdateByModel', () => ({
    from: fromTable(m),
    key: m('Id'),
    columns: [sql`${hasUpdate(db.dialect, m)}`.as('value')],
  }));

export const modelPagesByCreator = (fields: RowFields): PartitionedSource => ({
  shape: `modelPagesByCreator|${planKey(fields)}`,
  from: (db) => db.selectFrom(m.item),
  select: selectColumns('Model', 'm', fields),
  parent: m('CreatorId'),
  rows: { item: m.item, id: m('Id') },
});

export const modelPagesByTag = (fields: RowFields): PartitionedSource => ({
  shape: `modelPagesByTag|${planKey(fields)}`,
  from: (db) => db.selectFrom(mt.item).innerJoin(m.item, (j) => j.on(sql<SqlBool>`${m('Id')} = ${mt('ModelId')}`)),
  select: selectColumns('Model', 'm', fields),
  parent: mt('TagId'),
  rows: { item: m.item, id: m('Id') },
});

export const modelIdsByCivitaiId = (db: CatalogDatabase) =>
  byKeys(db, 'modelIdsByCivitaiId', () => ({
    from: fromTable(m),
    key: m('CivitaiId'),
    columns: [sql`${m('Id')}`.as('id')],
  }));

// ——— Versions ———

export const versionsById = (db: CatalogDatabase, fields: RowFields) =>
  byKeys(db, `versionsById|${planKey(fields)}`, () => ({
    from: fromTable(v),
    key: v('Id'),
    columns: selectColumns('ModelVersion', 'v', fields),
  }));

export const versionPagesByModel = (fields: RowFields): PartitionedSource => ({
  shape: `versionPagesByModel|${planKey(fields)}`,
  from: (db) => db.selectFrom(v.item),
  select: selectColumns('ModelVersion', 'v', fields),
  parent: v('ModelId'),
  rows: { item: v.item, id: v('Id') },
});

export const versionCountByModel = (db: CatalogDatabase) =>
  byKeys(db, 'versionCountByModel', () => ({
    from: fromTable(v),
    key: v('ModelId'),
    columns: count(),
    groupBy: v('ModelId'),
  }));

export const downloadsByModel = (db: CatalogDatabase) =>
  byKeys(db, 'downloadsByModel', () => ({
    from: fromTable(v),
    key: v('ModelId'),
    columns: [sql`SUM(${v('DownloadCount')})`.as('value')],
    groupBy: v('ModelId'),
  }));

export const versionIdsByCivitaiId = (db: CatalogDatabase) =>
  byKeys(db, 'versionIdsByCivitaiId', () => ({
    from: fromTable(v),
    key: v('CivitaiId'),
    columns: [sql`${v('Id')}`.as('id')],
  }));

// ——— Files ———

export const filesById = (db: CatalogDatabase, fields: RowFields) =>
  byKeys(db, `filesById|${planKey(fields)}`, () => ({
    from: fromTable(f),
    key: f('Id'),
    columns: selectColumns('ModelFile', 'f', fields),
  }));

/** A version's files, primary first, then by id. */
export const filesByVersion = (db: CatalogDatabase, fields: RowFields) =>
  byKeys(db, `filesByVersion|${planKey(fields)}`, () => ({
    from: fromTable(f),
    key: f('ModelVersionId'),
    columns: selectColumns('ModelFile', 'f', fields),
    orderBy: sql`${f('IsPrimary')} DESC, ${f('Id')}`,
  }));

/** Files whose hash (by an algorithm's indexed expression) is one of `values`, with the matched value as `matchKey`. */
export function filesByHash(
  db: CatalogDatabase,
  algorithm: HashAlgorithm,
  values: readonly string[],
  fields: RowFields,
): Promise<RawRow[]> {
  const match = hashMatch(algorithm, f);
  const build = () =>
    (db.kysely as AnyDb)
      .selectFrom(f.item)
      .select([...selectColumns('ModelFile', 'f', fields), sql`${match}`.as('matchKey')])
      .where(db.dialect.inListParameter(match, slot('values')));
  const shape = `${db.dialect.name}|filesByHash|${algorithm}|${planKey(fields)}`;
  return runShaped<RawRow>(db.statements, shape, build, { values: db.dialect.listParameter(values) });
}

// ——— Images ———

/** What SQL picks for an image page: the image id, plus what the thumbnail fields need (never the BLOB itself). */
const PICKED: Columns = [sql`${i('Id')}`.as('id'), ...THUMBNAIL_FACTS(i)];

/**
 * A version's image page, its rows with the plan's columns and the thumbnail's length (which says whether there is
 * one). On SQLite the thumbnail's width, height and type follow its BLOB in the row, and reading them from the row
 * walks the BLOB's overflow pages (four for a 16 KiB thumbnail: 120 images of a list page took 1.4 ms): where the
 * plan names them they come with the window from the IX_ModelImages_VersionPage index.
 */
export const imagePagesByVersion = (fields: RowFields): PartitionedSource => ({
  shape: `imagePagesByVersion|${planKey(fields)}`,
  from: (db) => db.selectFrom(i.item),
  select: [THUMBNAIL_BYTE_SIZE(i), ...selectColumns('ModelImage', 'i', fields, THUMBNAIL_FIELDS_INDEXED)],
  windowSelect: THUMBNAIL_FACTS_INDEXED(i, fields),
  parent: i('ModelVersionId'),
  rows: { item: i.item, id: i('Id') },
});

export const imageCountByVersion = (db: CatalogDatabase) =>
  byKeys(db, 'imageCountByVersion', () => ({
    from: fromTable(i),
    key: i('ModelVersionId'),
    columns: count(),
    groupBy: i('ModelVersionId'),
  }));

/** A safe-for-work still image first, then display order. */
const PRIMARY_RANK = sql`(${i('IsNsfw')} = FALSE AND ${IS_STILL_IMAGE(i)}) DESC, ${i('SortOrder')}, ${i('Id')}`;

/** One image per parent key: the first by `rank`, picked by a window over ids and joined back. */
function primaryImages(
  db: CatalogDatabase,
  from: (db: AnyDb) => AnySelect,
  key: RawBuilder<unknown>,
  rank: RawBuilder<unknown>,
): FetchByKeys {
  return async (keys) => {
    const picked = from(db.kysely as AnyDb)
      .select([
        sql`${key}`.as('key'),
        sql`${i('Id')}`.as('imageId'),
        sql`ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${rank})`.as('rank'),
      ])
      .where(db.dialect.inList(key, keys));
    return (db.kysely as AnyDb)
      .selectFrom(picked.as('p'))
      .innerJoin(i.item, (j) => j.on(sql<SqlBool>`${i('Id')} = ${sql.ref('p.imageId')}`))
      .select([sql.ref('p.key').as('key'), ...PICKED])
      .where(sql<SqlBool>`${sql.ref('p.rank')} = 1`)
      .execute();
  };
}

export const primaryImageByVersion = (db: CatalogDatabase) =>
  primaryImages(db, fromTable(i), i('ModelVersionId'), PRIMARY_RANK);

/** The primary image of a model's newest version that has images. */
export const primaryImageByModel = (db: CatalogDatabase) =>
  primaryImages(
    db,
    (k) => k.selectFrom(v.item).innerJoin(i.item, (j) => j.on(sql<SqlBool>`${i('ModelVersionId')} = ${v('Id')}`)),
    v('ModelId'),
    sql`${db.dialect.utc(v('CreatedAt'))} DESC, ${v('Id')} DESC, ${PRIMARY_RANK}`,
  );

/**
 * Images by id with a plan's columns, but not the thumbnail facts that follow the BLOB (reading them walks it): a
 * row read by id has its `thumbnail` from the thumbnail loaders, in their own statement, only where it is asked for.
 */
export const imagesById = (db: CatalogDatabase, fields: RowFields) =>
  byKeys(db, `imagesById|${planKey(fields)}`, () => ({
    from: fromTable(i),
    key: i('Id'),
    columns: selectColumns('ModelImage', 'i', fields, THUMBNAIL_FIELDS_INDEXED),
  }));

/** The oldest image row of each Civitai image id (the same image can be stored under two versions). */
export const imageIdsByCivitaiId = (db: CatalogDatabase) =>
  byKeys(db, 'imageIdsByCivitaiId', () => ({
    from: fromTable(i),
    key: i('CivitaiId'),
    columns: [sql`MIN(${i('Id')})`.as('id')],
    groupBy: i('CivitaiId'),
  }));

export const thumbnailFactsById = (db: CatalogDatabase) =>
  byKeys(db, 'thumbnailFactsById', () => ({
    from: fromTable(i),
    key: i('Id'),
    columns: [sql`${i('Id')}`.as('id'), ...THUMBNAIL_FACTS(i)],
  }));

export const thumbnailHeadsById = (db: CatalogDatabase, bytes: number) =>
  byKeys(db, `thumbnailHeadsById|${bytes}`, () => ({
    from: fromTable(i),
    key: i('Id'),
    columns: [sql`substr(${i('ThumbnailData')}, 1, ${bytes})`.as('head')],
    where: sql<SqlBool>`${i('ThumbnailData')} IS NOT NULL`,
  }));

export const thumbnailBytesById = (db: CatalogDatabase) =>
  byKeys(db, 'thumbnailBytesById', () => ({
    from: fromTable(i),
    key: i('Id'),
    columns: [sql`${i('ThumbnailData')}`.as('bytes')],
    where: sql<SqlBool>`${i('ThumbnailData')} IS NOT NULL`,
  }));

// ——— Trigger words, creators, tags ———

export const triggerWordsByVersion = (db: CatalogDatabase) =>
  byKeys(db, 'triggerWordsByVersion', () => ({
    from: fromTable(w),
    key: w('ModelVersionId'),
    columns: selectColumns('TriggerWord', 'w'),
    orderBy: sql`${w('Order')}, ${w('Id')}`,
  }));

export const creatorsById = (db: CatalogDatabase) =>
  byKeys(db, 'creatorsById', () => ({ from: fromTable(c), key: c('Id'), columns: selectColumns('Creator', 'c') }));

export const modelCountByCreator = (db: CatalogDatabase) =>
  byKeys(db, 'modelCountByCreator', () => ({
    from: fromTable(m),
    key: m('CreatorId'),
    columns: count(),
    groupBy: m('CreatorId'),
  }));

/** The oldest creator of each (lower-cased) username. */
export function creatorIdsByUsername(db: CatalogDatabase): (names: readonly string[]) => Promise<RawRow[]> {
  return (names) =>
    (db.kysely as AnyDb)
      .selectFrom(c.item)
      .select([sql`lower(${c('Username')})`.as('key'), sql`MIN(${c('Id')})`.as('id')])
      .where(db.dialect.inList(sql`lower(${c('Username')})`, names))
      .groupBy(sql`lower(${c('Username')})`)
      .execute();
}

export const tagsByModel = (db: CatalogDatabase) =>
  byKeys(db, 'tagsByModel', () => ({
    from: (k) => k.selectFrom(mt.item).innerJoin(t.item, (j) => j.on(sql<SqlBool>`${t('Id')} = ${mt('TagId')}`)),
    key: mt('ModelId'),
    columns: selectColumns('Tag', 't'),
    orderBy: t('NormalizedName'),
  }));

export const modelCountByTag = (db: CatalogDatabase) =>
  byKeys(db, 'modelCountByTag', () => ({
    from: fromTable(mt),
    key: mt('TagId'),
    columns: count(),
    groupBy: mt('TagId'),
  }));

export function tagIdsByNormalizedName(db: CatalogDatabase): (names: readonly string[]) => Promise<RawRow[]> {
  return (names) =>
    (db.kysely as AnyDb)
      .selectFrom(t.item)
      .select([sql`${t('NormalizedName')}`.as('key'), sql`${t('Id')}`.as('id')])
      .where(db.dialect.inList(t('NormalizedName'), names))
      .execute();
}

export const tagsById = (db: CatalogDatabase) =>
  byKeys(db, 'tagsById', () => ({ from: fromTable(t), key: t('Id'), columns: selectColumns('Tag', 't') }));

export const triggerWordsById = (db: CatalogDatabase) =>
  byKeys(db, 'triggerWordsById', () => ({
    from: fromTable(w),
    key: w('Id'),
    columns: selectColumns('TriggerWord', 'w'),
  }));
