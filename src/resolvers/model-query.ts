/**
 * The catalog's list queries as SQL: filters that map onto indexes, and orderings with stable keyset cursors.
 * GraphQL arguments arrive already type-checked; this module turns them into trusted SQL plus parameters.
 */
import { AppError, limitExceeded } from '../errors.ts';
import { utcTimestampParam, utcTimestampSql } from '../db/timestamps.ts';
import { JSON_LIST, type SqlFragment } from '../db/sql.ts';
import { searchFilterSql } from './search/query.ts';
import type { Ordering, SortDirection, SortKey } from './pagination.ts';

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
}

export interface ModelVersionFilter {
  baseModels?: readonly string[] | null;
  modelTypes?: readonly string[] | null;
  hasLocalFiles?: boolean | null;
}

const MAX_LIST_FILTER = 100;
const MAX_TEXT_FILTER = 200;

function listParam(values: readonly string[], name: string): string {
  if (values.length > MAX_LIST_FILTER)
    throw limitExceeded(`\`${name}\` takes at most ${MAX_LIST_FILTER} values, got ${values.length}.`, MAX_LIST_FILTER);
  return JSON.stringify([...new Set(values)]);
}

function textParam(value: string, name: string): string {
  if (value.length > MAX_TEXT_FILTER)
    throw limitExceeded(`\`${name}\` is at most ${MAX_TEXT_FILTER} characters, got ${value.length}.`, MAX_TEXT_FILTER);
  return value;
}

/** Tags match on NormalizedName: trimmed and lower-cased, as the import mapping stores it. */
export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase();
}

/** `LIKE` pattern for a substring, with the wildcard characters of the user's text escaped. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Local files that are present: a path and a successful last check. */
const LOCAL_FILE_CONDITION = `f."LocalPath" IS NOT NULL AND f."IsLocalFileValid" = 1`;

/**
 * Whether model `m` has an update: a Civitai version created after the newest version with a present local file
 * (models without local files have no baseline, so no update), unless the user ignores its updates.
 */
export function hasUpdateSql(m = 'm'): string {
  const newestLocal = `(SELECT MAX(${utcTimestampSql('lv."CreatedAt"')}) FROM "ModelVersions" lv JOIN "ModelFiles" f ON f."ModelVersionId" = lv."Id"
    WHERE lv."ModelId" = ${m}."Id" AND ${LOCAL_FILE_CONDITION})`;
  return `(COALESCE(${m}."IgnoreUpdates", 0) = 0 AND EXISTS (SELECT 1 FROM "ModelVersions" nv WHERE nv."ModelId" = ${m}."Id" AND nv."CivitaiId" IS NOT NULL
    AND ${utcTimestampSql('nv."CreatedAt"')} > ${newestLocal}))`;
}

export function modelFilterSql(filter: ModelFilter | null | undefined, m = 'm'): SqlFragment[] {
  if (!filter) return [];
  const where: SqlFragment[] = [];
  if (filter.types?.length)
    where.push({ sql: `${m}."Type" IN ${JSON_LIST}`, params: [listParam(filter.types, 'types')] });
  if (filter.baseModels?.length) {
    where.push({
      sql: `${m}."Id" IN (SELECT v."ModelId" FROM "ModelVersions" v WHERE v."BaseModel" IN ${JSON_LIST})`,
      params: [listParam(filter.baseModels, 'baseModels')],
    });
  }
  if (filter.nsfw === 'EXCLUDE') where.push({ sql: `${m}."IsNsfw" = 0`, params: [] });
  if (filter.nsfw === 'ONLY') where.push({ sql: `${m}."IsNsfw" = 1`, params: [] });
  if (filter.creator != null) {
    where.push({
      sql: `${m}."CreatorId" IN (SELECT c."Id" FROM "Creators" c WHERE lower(c."Username") = lower(?))`,
      params: [textParam(filter.creator.trim(), 'creator')],
    });
  }
  if (filter.tags?.length) {
    const names = [...new Set(filter.tags.map(normalizeTagName))];
    const matching = `SELECT mt."ModelId" FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId" WHERE t."NormalizedName" IN ${JSON_LIST}`;
    where.push(
      filter.tagsMode === 'ALL'
        ? {
            sql: `${m}."Id" IN (${matching} GROUP BY mt."ModelId" HAVING COUNT(*) = ?)`,
            params: [listParam(names, 'tags'), names.length],
          }
        : { sql: `${m}."Id" IN (${matching})`, params: [listParam(names, 'tags')] },
    );
  }
  if (filter.source?.length)
    where.push({ sql: `${m}."Source" IN ${JSON_LIST}`, params: [listParam(filter.source, 'source')] });
  if (filter.hasLocalFiles != null) {
    const local = `SELECT v."ModelId" FROM "ModelVersions" v JOIN "ModelFiles" f ON f."ModelVersionId" = v."Id" WHERE ${LOCAL_FILE_CONDITION}`;
    where.push({ sql: `${m}."Id" ${filter.hasLocalFiles ? 'IN' : 'NOT IN'} (${local})`, params: [] });
  }
  if (filter.createdAfter)
    where.push({ sql: `${utcTimestampSql(`${m}."CreatedAt"`)} > ?`, params: [utcTimestampParam(filter.createdAfter)] });
  if (filter.createdBefore)
    where.push({
      sql: `${utcTimestampSql(`${m}."CreatedAt"`)} < ?`,
      params: [utcTimestampParam(filter.createdBefore)],
    });
  if (filter.query != null) where.push(searchFilterSql(filter.query, m));
  if (filter.hasUpdate != null)
    where.push({ sql: filter.hasUpdate ? hasUpdateSql(m) : `NOT ${hasUpdateSql(m)}`, params: [] });
  if (filter.nameContains != null && filter.nameContains !== '') {
    where.push({
      sql: `${m}."Name" LIKE ? ESCAPE '\\'`,
      params: [likeContains(textParam(filter.nameContains, 'nameContains'))],
    });
  }
  return where;
}

export function versionFilterSql(filter: ModelVersionFilter | null | undefined, v = 'v'): SqlFragment[] {
  if (!filter) return [];
  const where: SqlFragment[] = [];
  if (filter.baseModels?.length)
    where.push({ sql: `${v}."BaseModel" IN ${JSON_LIST}`, params: [listParam(filter.baseModels, 'baseModels')] });
  if (filter.modelTypes?.length) {
    where.push({
      sql: `${v}."ModelId" IN (SELECT mm."Id" FROM "Models" mm WHERE mm."Type" IN ${JSON_LIST})`,
      params: [listParam(filter.modelTypes, 'modelTypes')],
    });
  }
  if (filter.hasLocalFiles != null) {
    const local = `SELECT f."ModelVersionId" FROM "ModelFiles" f WHERE ${LOCAL_FILE_CONDITION}`;
    where.push({ sql: `${v}."Id" ${filter.hasLocalFiles ? 'IN' : 'NOT IN'} (${local})`, params: [] });
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

function buildOrdering<F extends string>(
  list: string,
  input: readonly OrderInput<F>[] | null | undefined,
  fallback: OrderInput<F>,
  expression: (field: F) => string,
  idSql: string,
): Ordering {
  const requested = input && input.length > 0 ? input : [fallback];
  if (requested.length > MAX_ORDER_KEYS)
    throw new AppError('BAD_USER_INPUT', `\`orderBy\` takes at most ${MAX_ORDER_KEYS} entries.`);
  const seen = new Set<string>();
  const keys: SortKey[] = [];
  for (const order of requested) {
    if (seen.has(order.field)) throw new AppError('BAD_USER_INPUT', `\`orderBy\` lists ${order.field} twice.`);
    seen.add(order.field);
    keys.push({ sql: expression(order.field), direction: order.direction ?? NATURAL_DIRECTION[order.field] ?? 'ASC' });
  }
  // Ties break on the row id, in the direction of the last key, so positions are unique and stable.
  keys.push({ sql: idSql, direction: keys.at(-1)!.direction });
  const signature = `${list}:${requested.map((o, i) => `${o.field}.${keys[i]!.direction}`).join(',')}`;
  return { signature, keys };
}

export function modelOrdering(input: readonly OrderInput<ModelOrderField>[] | null | undefined, m = 'm'): Ordering {
  return buildOrdering(
    'models',
    input,
    { field: 'CREATED_AT' },
    (field) => {
      switch (field) {
        case 'CREATED_AT':
          return utcTimestampSql(`${m}."CreatedAt"`);
        case 'UPDATED_AT':
          return utcTimestampSql(`${m}."UpdatedAt"`);
        case 'NAME':
          return `lower(${m}."Name")`;
        case 'DOWNLOADS':
          return `(SELECT COALESCE(SUM(dv."DownloadCount"), 0) FROM "ModelVersions" dv WHERE dv."ModelId" = ${m}."Id")`;
      }
    },
    `${m}."Id"`,
  );
}

export function versionOrdering(
  input: readonly OrderInput<ModelVersionOrderField>[] | null | undefined,
  v = 'v',
): Ordering {
  return buildOrdering(
    'versions',
    input,
    { field: 'CREATED_AT' },
    (field) => {
      switch (field) {
        case 'CREATED_AT':
          return utcTimestampSql(`${v}."CreatedAt"`);
        case 'NAME':
          return `lower(${v}."Name")`;
        case 'DOWNLOADS':
          return `${v}."DownloadCount"`;
      }
    },
    `${v}."Id"`,
  );
}

/** Images in display order: SortOrder, then id. */
export const IMAGE_ORDERING: Ordering = {
  signature: 'images:SORT_ORDER',
  keys: [
    { sql: 'i."SortOrder"', direction: 'ASC' },
    { sql: 'i."Id"', direction: 'ASC' },
  ],
};

export const TAG_ORDERING: Ordering = {
  signature: 'tags:NAME',
  keys: [
    { sql: 't."NormalizedName"', direction: 'ASC' },
    { sql: 't."Id"', direction: 'ASC' },
  ],
};

export const CREATOR_ORDERING: Ordering = {
  signature: 'creators:USERNAME',
  keys: [
    { sql: 'lower(c."Username")', direction: 'ASC' },
    { sql: 'c."Id"', direction: 'ASC' },
  ],
};

/** `column >= prefix AND column < prefix + U+FFFF`: a prefix match an index can serve (LIKE cannot, here). */
export function prefixRange(columnSql: string, prefix: string, name: string): SqlFragment {
  const value = textParam(prefix, name);
  return { sql: `${columnSql} >= ? AND ${columnSql} < ?`, params: [value, `${value}\uffff`] };
}
