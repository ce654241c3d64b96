/**
 * Which row fields a query needs. Loaders read only the columns the selected GraphQL fields use (long texts, hash
 * columns and 64-bit values cost time to read and convert; a list page needs a handful of columns). A GraphQL field
 * named like a row field reads that field; the others are declared here. A field found in neither place makes
 * the plan fall back to every column, so a field added without a declaration is slower, never wrong.
 */
import { type CatalogModelName, columnsOf, type RowFields } from '../db/row-mapping.ts';

export type { RowFields };

/** The row types loaders read by plan. */
export type PlannedModelName = Extract<CatalogModelName, 'Model' | 'ModelVersion' | 'ModelFile' | 'ModelImage'>;

const NONE: readonly string[] = [];

/** GraphQL fields whose row reads differ from their own name (`[]`: the field uses only the id, through loaders). */
export const DERIVED_FIELD_READS: Readonly<Record<PlannedModelName, Readonly<Record<string, readonly string[]>>>> = {
  Model: {
    id: NONE,
    databaseId: NONE,
    creator: ['creatorId'],
    tags: NONE,
    versions: NONE,
    latestVersion: NONE,
    primaryImage: NONE,
    hasUpdate: NONE,
    versionCount: NONE,
    totalDownloads: NONE,
    history: NONE,
    payloads: NONE,
  },
  ModelVersion: {
    id: NONE,
    databaseId: NONE,
    model: ['modelId'],
    files: NONE,
    primaryFile: NONE,
    images: NONE,
    primaryImage: NONE,
    triggerWords: NONE,
    triggerWordsText: NONE,
  },
  ModelFile: {
    id: NONE,
    databaseId: NONE,
    version: ['modelVersionId'],
    isSecure: ['pickleScanResult', 'virusScanResult'],
    // `hashes { … }` reads the columns of the hashes selected inside it.
    hashes: NONE,
    'hashes.autoV1': ['hashAutoV1'],
    'hashes.autoV2': ['hashAutoV2'],
    'hashes.autoV3': ['hashAutoV3'],
    'hashes.sha256': ['hashSHA256'],
    'hashes.crc32': ['hashCRC32'],
    'hashes.blake3': ['hashBLAKE3'],
  },
  ModelImage: {
    id: NONE,
    databaseId: NONE,
    version: ['modelVersionId'],
    aspectRatio: ['width', 'height'],
    isPrimary: ['sortOrder'],
    // A page's rows carry the thumbnail facts the selection inside `thumbnail { … }` reads (its length always);
    // other rows' thumbnails come from the thumbnail loaders, by id.
    thumbnail: NONE,
    'thumbnail.width': ['thumbnailWidth'],
    'thumbnail.height': ['thumbnailHeight'],
    'thumbnail.mimeType': ['thumbnailMimeType'],
    'thumbnail.blurHash': ['blurHash'],
    'thumbnail.dataUri': ['thumbnailMimeType'],
  },
};

const ROW_FIELDS = new Map<string, ReadonlySet<string>>(
  (Object.keys(DERIVED_FIELD_READS) as PlannedModelName[]).map((model) => [
    model,
    new Set(columnsOf(model).map((c) => c.field)),
  ]),
);

/**
 * The row fields the given GraphQL fields of `model` read (`a.b` names field `b` inside object field `a`), sorted,
 * with `id` (and `required`); null (every column) when a field is not known to read only declared fields.
 */
export function rowFieldsFor(
  model: PlannedModelName,
  graphQLFields: Iterable<string>,
  required: readonly string[] = [],
): RowFields {
  const columns = ROW_FIELDS.get(model)!;
  const derived = DERIVED_FIELD_READS[model];
  const fields = new Set<string>(['id', ...required]);
  for (const name of graphQLFields) {
    if (name === '__typename' || name.endsWith('.__typename')) continue;
    // A field inside an object field (`hashes.sha256`) counts only where declared; the object field itself is.
    if (name.includes('.') && !Object.hasOwn(derived, name)) continue;
    const reads = Object.hasOwn(derived, name) ? derived[name]! : columns.has(name) ? [name] : null;
    if (reads === null) return null;
    for (const field of reads) fields.add(field);
  }
  return [...fields].sort();
}

/** Merges two plans (null wins: every column). */
export function unionRowFields(a: RowFields, b: RowFields): RowFields {
  return a === null || b === null ? null : [...new Set([...a, ...b])].sort();
}

/** A plan's key (loaders are memoised by it): kept with the plan, which lives as long as its document's field nodes. */
const keys = new WeakMap<readonly string[], string>();

export function rowFieldsKey(fields: RowFields): string {
  if (fields === null) return '*';
  let key = keys.get(fields);
  if (key === undefined) keys.set(fields, (key = fields.join(',')));
  return key;
}
