/**
 * The catalog's lists as SQL: filters that map onto indexes, and orderings with stable keyset cursors. GraphQL
 * arguments arrive already type-checked; this module bounds them and turns them into conditions and sort keys.
 */
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Ordering, SortDirection, SortKey } from '../catalog/pagination.ts';
import { AppError, limitExceeded } from '../errors.ts';
import type { SqlDialect } from './dialect.ts';
import type { ListQuery, ListSource } from './pages.ts';
import { type AnyDb, type TableRef, table } from './refs.ts';
import { planKey, type RowFields, selectColumns } from './row-mapping.ts';
import type { Database } from './schema.ts';
import { searchMatch } from './search.ts';
import { localFilePresent } from './tables/model-files.ts';
import { normalizeTagName } from './tables/tags.ts';

export type NsfwFilter = 'INCLUDE' | 'EXCLUDE' | 'ONLY';
export type TagsMode = 'ALL' | 'ANY';

export interface ModelFilter {
  types?: readonly string[] | null;
  baseModels?: readonly string[] | null;
  nsfw?: NsfwFilter | null;
  creator?: string | null;
  tags?: readonly string[] | null;
  tagsMode?: TagsMode | null;
  source?: readonly string[] | null;
  hasLocalFiles?: boolean | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  nameContains?: string | null;
  /** Full-text search text (same syntax as `search`). */
  query?: string | null;
  /** A newer Civitai version than the newest one with a local file exists (and updates are not ignored). */
  hasUpdate?: boolean | null;
  removedFromCivitai?: boolean | null;
}

export interface ModelVersionFilter {
  baseModels?: readonly string[] | null;
  modelTypes?: readonly string[] | null;
  hasLocalFiles?: boolean | null;
}

const MAX_LIST_FILTER = 100;
const MAX_TEXT_FILTER = 200;

export const models = table('Models', 'm');
export const versions = table('ModelVersions', 'v');

function listParam(values: readonly string[], name: string): string[] {
  if (values.length > MAX_LIST_FILTER) {
    throw limitExceeded(`\`${name}\` takes at most ${MAX_LIST_FILTER} values, got ${values.length}.`, MAX_LIST_FILTER);
  }
  return [...new Set(values)];
}

function textParam(value: string, name: string): string {
  if (value.length > MAX_TEXT_FILTER) {
    throw limitExceeded(`\`${name}\` is at most ${MAX_TEXT_FILTER} characters, got ${value.length}.`, MAX_TEXT_FILTER);
  }
  return value;
}

/** `LIKE` pattern for a substring, with the wildcard characters of the user's text escaped. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Whether model `m` is gone from Civitai: answered 404 after a sync (a tombstone), or archived or taken down there.
 */
export function removedFromCivitai(m: TableRef<'Models'> = models): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${m('RemovedFromCivitaiAt')} IS NOT NULL OR ${m('Mode')} IN ('Archived', 'TakenDown'))`;
}

/** Whether version `v` can be had from Civitai: it has a Civitai id and no 404 since (see `removedFromCivitai`). */
export function versionOnCivitai(v: TableRef<'ModelVersions'>): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${v('CivitaiId')} IS NOT NULL AND ${v('RemovedFromCivitaiAt')} IS NULL)`;
}

/** When model `m`'s newest version with a present local file was created (UTC; null without local files). */
export function newestLocalVersionTime(dialect: SqlDialect, m: TableRef<'Models'>): RawBuilder<unknown> {
  const lv = table('ModelVersions', 'lv');
  const f = table('ModelFiles', 'f');
  return sql`(SELECT MAX(${dialect.utc(lv('CreatedAt'))}) FROM ${lv.item} JOIN ${f.item} ON ${f('ModelVersionId')} = ${lv('Id')}
    WHERE ${lv('ModelId')} = ${m('Id')} AND ${localFilePresent(f)})`;
}

/** Whether the user ignores model `m`'s updates (a NULL, as desktop-app files may hold, is no). */
export function ignoresUpdates(m: TableRef<'Models'>): RawBuilder<SqlBool> {
  return sql<SqlBool>`COALESCE(${m('IgnoreUpdates')}, FALSE)`;
}

/**
 * Whether model `m` has a version created after its newest version with a present local file that Civitai still
 * serves (`onCivitai`), or one that it does not (false when the model has no local file).
 */
export function newerVersionExists(
  dialect: SqlDialect,
  m: TableRef<'Models'>,
  onCivitai: boolean,
): RawBuilder<SqlBool> {
  const nv = table('ModelVersions', 'nv');
  return sql<SqlBool>`EXISTS (SELECT 1 FROM ${nv.item} WHERE ${nv('ModelId')} = ${m('Id')}
    AND ${onCivitai ? versionOnCivitai(nv) : sql`NOT ${versionOnCivitai(nv)}`} AND ${dialect.utc(nv('CreatedAt'))} > ${newestLocalVersionTime(dialect, m)})`;
}

/**
 * Whether model `m` has an update: a version on Civitai created after the newest version with a present local file
 * (models without local files have no baseline, so no update), unless the user ignores its updates or the model is
 * gone from Civitai (nothing there to download). `updateStates` reports the same parts, to say why there is none.
 */
export function hasUpdate(dialect: SqlDialect, m: TableRef<'Models'> = models): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${ignoresUpdates(m)} = FALSE AND NOT ${removedFromCivitai(m)} AND ${newerVersionExists(dialect, m, true)})`;
}

/** Models with (or without) a present local file. */
function withLocalFiles(present: boolean, m: TableRef<'Models'>): RawBuilder<SqlBool> {
  const v = table('ModelVersions', 'lv');
  const f = table('ModelFiles', 'f');
  const local = sql`SELECT ${v('ModelId')} FROM ${v.item} JOIN ${f.item} ON ${f('ModelVersionId')} = ${v('Id')} WHERE ${localFilePresent(f)}`;
  return sql<SqlBool>`${m('Id')} ${sql.raw(present ? 'IN' : 'NOT IN')} (${local})`;
}

export function modelFilter(
  dialect: SqlDialect,
  filter: ModelFilter | null | undefined,
  m: TableRef<'Models'> = models,
): RawBuilder<SqlBool>[] {
  if (!filter) return [];
  const where: RawBuilder<SqlBool>[] = [];
  if (filter.types?.length) where.push(dialect.inList(m('Type'), listParam(filter.types, 'types')));
  if (filter.baseModels?.length) {
    const v = table('ModelVersions', 'bv');
    where.push(
      sql<SqlBool>`${m('Id')} IN (SELECT ${v('ModelId')} FROM ${v.item} WHERE ${dialect.inList(v('BaseModel'), listParam(filter.baseModels, 'baseModels'))})`,
    );
  }
  if (filter.nsfw === 'EXCLUDE') where.push(sql<SqlBool>`${m('IsNsfw')} = FALSE`);
  if (filter.nsfw === 'ONLY') where.push(sql<SqlBool>`${m('IsNsfw')} = TRUE`);
  if (filter.creator != null) {
    const c = table('Creators', 'fc');
    where.push(
      sql<SqlBool>`${m('CreatorId')} IN (SELECT ${c('Id')} FROM ${c.item} WHERE lower(${c('Username')}) = lower(${textParam(filter.creator.trim(), 'creator')}))`,
    );
  }
  if (filter.tags?.length) {
    const names = listParam([...new Set(filter.tags.map(normalizeTagName))], 'tags');
    const mt = table('ModelTags', 'fmt');
    const t = table('Tags', 'ft');
    const matching = sql`SELECT ${mt('ModelId')} FROM ${mt.item} JOIN ${t.item} ON ${t('Id')} = ${mt('TagId')} WHERE ${dialect.inList(t('NormalizedName'), names)}`;
    where.push(
      filter.tagsMode === 'ALL'
        ? sql<SqlBool>`${m('Id')} IN (${matching} GROUP BY ${mt('ModelId')} HAVING COUNT(*) = ${names.length})`
        : sql<SqlBool>`${m('Id')} IN (${matching})`,
    );
  }
  if (filter.source?.length) where.push(dialect.inList(m('Source'), listParam(filter.source, 'source')));
  if (filter.hasLocalFiles != null) where.push(withLocalFiles(filter.hasLocalFiles, m));
  if (filter.createdAfter)
    where.push(sql<SqlBool>`${dialect.utc(m('CreatedAt'))} > ${filter.createdAfter.toISOString()}`);
  if (filter.createdBefore)
    where.push(sql<SqlBool>`${dialect.utc(m('CreatedAt'))} < ${filter.createdBefore.toISOString()}`);
  if (filter.query != null) where.push(sql<SqlBool>`${m('Id')} IN (${searchMatch(dialect, filter.query)})`);
  if (filter.removedFromCivitai != null)
    where.push(filter.removedFromCivitai ? removedFromCivitai(m) : sql<SqlBool>`NOT ${removedFromCivitai(m)}`);
  if (filter.hasUpdate != null)
    where.push(filter.hasUpdate ? hasUpdate(dialect, m) : sql<SqlBool>`NOT ${hasUpdate(dialect, m)}`);
  if (filter.nameContains != null && filter.nameContains !== '') {
    where.push(
      sql<SqlBool>`${m('Name')} ${dialect.likeIgnoringCase} ${likeContains(textParam(filter.nameContains, 'nameContains'))} ESCAPE '\\'`,
    );
  }
  return where;
}

export function versionFilter(
  dialect: SqlDialect,
  filter: ModelVersionFilter | null | undefined,
  v: TableRef<'ModelVersions'> = versions,
): RawBuilder<SqlBool>[] {
  if (!filter) return [];
  const where: RawBuilder<SqlBool>[] = [];
  if (filter.baseModels?.length) where.push(dialect.inList(v('BaseModel'), listParam(filter.baseModels, 'baseModels')));
  if (filter.modelTypes?.length) {
    const mm = table('Models', 'mm');
    where.push(
      sql<SqlBool>`${v('ModelId')} IN (SELECT ${mm('Id')} FROM ${mm.item} WHERE ${dialect.inList(mm('Type'), listParam(filter.modelTypes, 'modelTypes'))})`,
    );
  }
  if (filter.hasLocalFiles != null) {
    const f = table('ModelFiles', 'f');
    const local = sql`SELECT ${f('ModelVersionId')} FROM ${f.item} WHERE ${localFilePresent(f)}`;
    where.push(sql<SqlBool>`${v('Id')} ${sql.raw(filter.hasLocalFiles ? 'IN' : 'NOT IN')} (${local})`);
  }
  return where;
}

// ——— Orderings ———

export type ModelOrderField = 'CREATED_AT' | 'UPDATED_AT' | 'NAME' | 'DOWNLOADS';
export type ModelVersionOrderField = 'CREATED_AT' | 'NAME' | 'DOWNLOADS';

export interface OrderInput<F extends string> {
  field: F;
  direction?: SortDirection | null;
}

const NATURAL_DIRECTION: Record<string, SortDirection> = {
  CREATED_AT: 'DESC',
  UPDATED_AT: 'DESC',
  DOWNLOADS: 'DESC',
  NAME: 'ASC',
};
const MAX_ORDER_KEYS = 4;

/**
 * Default orderings (no `orderBy`) by list and `scope` (the dialect and table alias their expressions are for): made
 * once, not once for every parent of a nested list in every request.
 */
const defaultOrderings = new Map<string, Ordering>();

function buildOrdering<F extends string>(
  list: string,
  scope: string,
  input: readonly OrderInput<F>[] | null | undefined,
  fallback: OrderInput<F>,
  expression: (field: F) => RawBuilder<unknown>,
  id: RawBuilder<unknown>,
): Ordering {
  if (input && input.length > 0) return orderingOf(list, input, expression, id);
  const key = `${list}|${scope}`;
  let ordering = defaultOrderings.get(key);
  if (!ordering) defaultOrderings.set(key, (ordering = orderingOf(list, [fallback], expression, id)));
  return ordering;
}

function orderingOf<F extends string>(
  list: string,
  requested: readonly OrderInput<F>[],
  expression: (field: F) => RawBuilder<unknown>,
  id: RawBuilder<unknown>,
): Ordering {
  if (requested.length > MAX_ORDER_KEYS)
    throw new AppError('BAD_USER_INPUT', `\`orderBy\` takes at most ${MAX_ORDER_KEYS} entries.`);
  const seen = new Set<string>();
  const keys: SortKey[] = [];
  for (const order of requested) {
    if (seen.has(order.field)) throw new AppError('BAD_USER_INPUT', `\`orderBy\` lists ${order.field} twice.`);
    seen.add(order.field);
    keys.push({
      expression: expression(order.field),
      direction: order.direction ?? NATURAL_DIRECTION[order.field] ?? 'ASC',
    });
  }
  // Ties break on the row id, in the direction of the last key, so positions are unique and stable.
  keys.push({ expression: id, direction: keys.at(-1)!.direction });
  const signature = `${list}:${requested.map((o, i) => `${o.field}.${keys[i]!.direction}`).join(',')}`;
  return { signature, keys };
}

export function modelOrdering(
  dialect: SqlDialect,
  input: readonly OrderInput<ModelOrderField>[] | null | undefined,
  m: TableRef<'Models'> = models,
): Ordering {
  return buildOrdering(
    'models',
    `${dialect.name}|${m.alias}`,
    input,
    { field: 'CREATED_AT' },
    (field) => {
      switch (field) {
        case 'CREATED_AT':
          return dialect.utc(m('CreatedAt'));
        case 'UPDATED_AT':
          return dialect.utc(m('UpdatedAt'));
        case 'NAME':
          return sql`lower(${m('Name')})`;
        case 'DOWNLOADS': {
          const dv = table('ModelVersions', 'dv');
          return sql`(SELECT COALESCE(SUM(${dv('DownloadCount')}), 0) FROM ${dv.item} WHERE ${dv('ModelId')} = ${m('Id')})`;
        }
      }
    },
    m('Id'),
  );
}

export function versionOrdering(
  dialect: SqlDialect,
  input: readonly OrderInput<ModelVersionOrderField>[] | null | undefined,
  v: TableRef<'ModelVersions'> = versions,
): Ordering {
  return buildOrdering(
    'versions',
    `${dialect.name}|${v.alias}`,
    input,
    { field: 'CREATED_AT' },
    (field) => {
      switch (field) {
        case 'CREATED_AT':
          return dialect.utc(v('CreatedAt'));
        case 'NAME':
          return sql`lower(${v('Name')})`;
        case 'DOWNLOADS':
          return sql`${v('DownloadCount')}`;
      }
    },
    v('Id'),
  );
}

const images = table('ModelImages', 'i');
const tags = table('Tags', 't');
const creators = table('Creators', 'c');

/** Images in display order: SortOrder, then id. */
export const IMAGE_ORDERING: Ordering = {
  signature: 'images:SORT_ORDER',
  keys: [
    { expression: images('SortOrder'), direction: 'ASC' },
    { expression: images('Id'), direction: 'ASC' },
  ],
};

export const TAG_ORDERING: Ordering = {
  signature: 'tags:NAME',
  keys: [
    { expression: tags('NormalizedName'), direction: 'ASC' },
    { expression: tags('Id'), direction: 'ASC' },
  ],
};

export const CREATOR_ORDERING: Ordering = {
  signature: 'creators:USERNAME',
  keys: [
    { expression: sql`lower(${creators('Username')})`, direction: 'ASC' },
    { expression: creators('Id'), direction: 'ASC' },
  ],
};

/** `column >= prefix AND column < prefix + U+FFFF`: a prefix match an index can serve (LIKE cannot, here). */
export function prefixRange(column: RawBuilder<unknown>, prefix: string, name: string): RawBuilder<SqlBool> {
  const value = textParam(prefix, name);
  return sql<SqlBool>`${column} >= ${value} AND ${column} < ${`${value}\uffff`}`;
}

// ——— Root lists ———

const listCreators = table('Creators', 'c');
const listTags = table('Tags', 't');

function filtered(item: TableRef<keyof Database>['item'], filters: readonly RawBuilder<SqlBool>[]): ListQuery {
  return (db: AnyDb) => filters.reduce((query, filter) => query.where(filter), db.selectFrom(item));
}

/** `models(filter)`: the planned columns of the models the filter selects. */
export function modelList(dialect: SqlDialect, filter: ModelFilter | null | undefined, fields: RowFields): ListSource {
  const filters = modelFilter(dialect, filter);
  const source = { from: filtered(models.item, filters), select: selectColumns('Model', 'm', fields) };
  // Unfiltered (the common first screen), the statement depends only on the plan: built once (see `shaped.ts`).
  return filters.length === 0 ? { ...source, shape: `${dialect.name}|models|${planKey(fields)}` } : source;
}

export function versionList(
  dialect: SqlDialect,
  filter: ModelVersionFilter | null | undefined,
  fields: RowFields = null,
): ListSource {
  return {
    from: filtered(versions.item, versionFilter(dialect, filter)),
    select: selectColumns('ModelVersion', 'v', fields),
  };
}

/** Creators whose lower-cased username starts with `prefix` (all when empty). */
export function creatorList(prefix: string): ListSource {
  const where = prefix ? [prefixRange(sql`lower(${listCreators('Username')})`, prefix, 'usernameStartsWith')] : [];
  return { from: filtered(listCreators.item, where), select: selectColumns('Creator', 'c') };
}

/** Tags whose normalized name starts with `prefix` (all when empty). */
export function tagList(prefix: string): ListSource {
  const where = prefix ? [prefixRange(listTags('NormalizedName'), prefix, 'nameStartsWith')] : [];
  return { from: filtered(listTags.item, where), select: selectColumns('Tag', 't') };
}
