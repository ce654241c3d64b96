/**
 * Rows as the GraphQL types expect them (the shapes of Prisma's generated types): booleans from 0/1, Dates from
 * either timestamp format, bigint for 64-bit columns. Columns and types come from the Prisma datamodel, so there is
 * one description of every table. Physical column names follow one rule: the field name with its first letter
 * upper-cased (checked against the migrated database by a test).
 */
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import type {
  Creator,
  Model,
  ModelFile,
  ModelImage,
  ModelVersion,
  Tag,
  TriggerWord,
} from '../generated/prisma/client.ts';
import { type AliasedRawBuilder, sql } from 'kysely';
import { parseStoredTimestamp } from './timestamps.ts';

export interface CatalogRows {
  Creator: Creator;
  Model: Model;
  ModelVersion: ModelVersion;
  ModelFile: ModelFile;
  ModelImage: ModelImage;
  Tag: Tag;
  TriggerWord: TriggerWord;
}
export type CatalogModelName = keyof CatalogRows;

/** Row fields to read: a planned subset (always with `id`), or every column when null (see `src/loaders/row-fields.ts`). */
export type RowFields = readonly string[] | null;

type ScalarType = 'Int' | 'String' | 'Boolean' | 'DateTime' | 'Float' | 'BigInt' | 'Bytes';

export interface ColumnSpec {
  field: string;
  column: string;
  type: ScalarType;
}

export function columnNameOf(field: string): string {
  return field.charAt(0).toUpperCase() + field.slice(1);
}

const datamodel: Readonly<Record<string, { fields: readonly { name: string; kind: string; type: string }[] }>> =
  getDatamodel().datamodel.models;

export function columnsOf(model: CatalogModelName): ColumnSpec[] {
  return datamodel[model]!.fields.filter((f) => f.kind === 'scalar').map((f) => ({
    field: f.name,
    column: columnNameOf(f.name),
    type: f.type as ScalarType,
  }));
}

/** Fields never read unless a plan names them: the thumbnail BLOB (its own loaders read it). */
const UNPLANNED_OMITTED = new Set(['thumbnailData']);

/** A row-field plan as text (part of a statement's shape: see `shaped.ts`). */
export function planKey(fields: RowFields): string {
  return fields === null ? '*' : fields.join(',');
}

const selectLists = new Map<string, AliasedRawBuilder<unknown, string>[]>();

/**
 * The select list for a row-field plan (every column but the BLOB when `fields` is null): `alias.Column AS field`,
 * but for the `omit`ted fields (the statement selects them otherwise). 64-bit columns are read as text and turned
 * into bigint by `rowMapper` (exact past 2^53 on every engine).
 */
export function selectColumns(
  model: CatalogModelName,
  alias: string,
  fields: readonly string[] | null = null,
  omit: readonly string[] = [],
): AliasedRawBuilder<unknown, string>[] {
  // Built once per list: every batch of every request selects through the same few plans.
  const key = `${model}|${alias}|${fields === null ? '*' : fields.join(',')}|${omit.join(',')}`;
  let list = selectLists.get(key);
  if (!list) {
    const wanted = fields === null ? null : new Set(fields);
    list = columnsOf(model)
      .filter((c) => (wanted ? wanted.has(c.field) : !UNPLANNED_OMITTED.has(c.field)) && !omit.includes(c.field))
      .map((c) => {
        const ref = sql.ref(`${alias}.${c.column}`);
        return (c.type === 'BigInt' ? sql`CAST(${ref} AS TEXT)` : sql`${ref}`).as(c.field);
      });
    selectLists.set(key, list);
  }
  return list;
}

type Converter = (value: unknown) => unknown;

const CONVERTERS: Record<ScalarType, Converter> = {
  Int: (v) => (typeof v === 'bigint' ? Number(v) : v),
  Float: (v) => (typeof v === 'bigint' ? Number(v) : v),
  String: (v) => v,
  Boolean: (v) => (v === null || v === undefined ? v : Number(v) !== 0),
  DateTime: (v) => parseStoredTimestamp(v as string | number | bigint | null),
  BigInt: (v) => (v === null || v === undefined ? v : typeof v === 'bigint' ? v : BigInt(v as string)),
  Bytes: (v) => (v === null || v === undefined ? v : new Uint8Array(v as Buffer)),
};

const mappers = new Map<CatalogModelName, (raw: Record<string, unknown>) => unknown>();

/**
 * A converter for rows selected with `selectColumns(model, …)`; extra columns (ranks, keys) pass through. One per
 * model, made at first use: requests ask for them per search and per loader family (4 KB of garbage each time).
 */
export function rowMapper<M extends CatalogModelName>(model: M): (raw: Record<string, unknown>) => CatalogRows[M] {
  let mapper = mappers.get(model);
  if (!mapper) {
    const conversions = new Map(
      columnsOf(model)
        .filter((c) => c.type !== 'String')
        .map((c) => [c.field, CONVERTERS[c.type]] as const),
    );
    // Over the row's own columns: a planned row has a handful, the model many.
    mapper = (raw) => {
      for (const field in raw) {
        const convert = conversions.get(field);
        if (convert) raw[field] = convert(raw[field]);
      }
      return raw;
    };
    mappers.set(model, mapper);
  }
  return mapper as (raw: Record<string, unknown>) => CatalogRows[M];
}

/**
 * Every column under its physical name (as writers compare them: see `updateChanged`), 64-bit ones as exact text,
 * for `omit`ted fields' columns (the BLOB by default) left out.
 */
export function physicalColumns(
  model: CatalogModelName,
  alias: string,
  omit: readonly string[] = ['thumbnailData'],
): AliasedRawBuilder<unknown, string>[] {
  return columnsOf(model)
    .filter((c) => !omit.includes(c.field))
    .map((c) => {
      const ref = sql.ref(`${alias}.${c.column}`);
      return (c.type === 'BigInt' ? sql`CAST(${ref} AS TEXT)` : sql`${ref}`).as(c.column);
    });
}
