/**
 * What both baselines (`honest-baseline.ts`, `baseline.ts`) share: how rows become the API's JSON. They differ only
 * in how they read the rows, which is what the benchmark compares; the JSON must come out the same from either.
 */
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { cursorScope } from '../src/catalog/pagination.ts';
import {
  BaseModel,
  CommercialUse,
  DataSource,
  FileFormat,
  FilePrecision,
  FileSizeType,
  ModelMode,
  ModelType,
  NsfwLevel,
  readEnum,
  ScanResult,
} from '../src/db/enums.ts';
import { parseStoredTimestamp } from '../src/db/timestamps.ts';

export type Row = Record<string, unknown>;

export const iso = (stored: unknown) => parseStoredTimestamp(stored as string | null)?.toISOString() ?? null;
export const bool = (value: unknown) => Number(value) !== 0;
export const upper = (value: unknown) => (typeof value === 'string' ? value.toUpperCase() : null);
export const cursor = (signature: string, ...values: unknown[]) =>
  Buffer.from(`dn1:${JSON.stringify([signature, ...values])}`, 'utf8').toString('base64url');

/** The [key, id] a model list cursor carries. */
export function listCursorKey(after: string): [string, number] {
  const [, key, id] = JSON.parse(Buffer.from(after, 'base64url').toString('utf8').slice(4)) as [string, string, number];
  return [key, id];
}

export function groupBy(rows: Row[], key: string): Map<number, Row[]> {
  const groups = new Map<number, Row[]>();
  for (const row of rows) {
    const k = Number(row[key]);
    const list = groups.get(k);
    if (list) list.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

/** The image columns the detail page shows, under the names `detailAnswer` reads (`i` is the table's alias). */
export const DETAIL_IMAGE_COLUMNS = (i: string) =>
  `${i}."Id" AS id, ${i}."Url" AS url, ${i}."IsNsfw" AS isNsfw, ${i}."NsfwLevel" AS nsfwLevel, ${i}."Width" AS width,
  ${i}."Height" AS height, ${i}."BlurHash" AS blurHash, ${i}."SortOrder" AS sortOrder, ${i}."CreatedAt" AS createdAt,
  ${i}."Prompt" AS prompt, ${i}."NegativePrompt" AS negativePrompt, CAST(${i}."Seed" AS TEXT) AS seed, ${i}."Steps" AS steps,
  ${i}."Sampler" AS sampler, ${i}."CfgScale" AS cfgScale, ${i}."GenerationModel" AS generationModel,
  ${i}."DenoisingStrength" AS denoisingStrength, ${i}."LikeCount" AS likeCount, ${i}."HeartCount" AS heartCount,
  ${i}."CommentCount" AS commentCount, length(${i}."ThumbnailData") AS thumbBytes, ${i}."ThumbnailWidth" AS thumbWidth,
  ${i}."ThumbnailHeight" AS thumbHeight`;

export interface DetailRows {
  /** The model's row (every column). */
  model: Row;
  creator: { username: unknown; avatarUrl: unknown } | null;
  tags: { id: unknown; name: unknown }[];
  versionCount: unknown;
  totalDownloads: unknown;
  /** The versions shown (every column), newest first. */
  versions: Row[];
  /** By version id: trigger words (`word`, `order`), files (every column), images (`DETAIL_IMAGE_COLUMNS`). */
  words: Map<number, Row[]>;
  files: Map<number, Row[]>;
  images: Map<number, Row[]>;
}

/** The benchmark's model detail answer (`DETAIL_QUERY`). */
export function detailAnswer(rows: DetailRows, origin: string): unknown {
  const { model: m, creator } = rows;
  const id = Number(m.Id);
  return {
    data: {
      model: {
        id: encodeNodeId('Model', id),
        databaseId: id,
        civitaiId: m.CivitaiId,
        name: m.Name,
        description: m.Description,
        type: readEnum(ModelType, m.Type as string),
        isNsfw: bool(m.IsNsfw),
        isPoi: bool(m.IsPoi),
        mode: readEnum(ModelMode, m.Mode as string),
        source: readEnum(DataSource, m.Source as string),
        createdAt: iso(m.CreatedAt),
        updatedAt: iso(m.UpdatedAt),
        lastSyncedAt: iso(m.LastSyncedAt),
        allowNoCredit: bool(m.AllowNoCredit),
        allowCommercialUse: readEnum(CommercialUse, m.AllowCommercialUse as string),
        allowDerivatives: bool(m.AllowDerivatives),
        allowDifferentLicense: bool(m.AllowDifferentLicense),
        versionCount: rows.versionCount,
        totalDownloads: rows.totalDownloads,
        creator: creator
          ? {
              id: encodeNodeId('Creator', Number(m.CreatorId)),
              username: creator.username,
              avatarUrl: creator.avatarUrl,
            }
          : null,
        tags: rows.tags.map((t) => ({ id: encodeNodeId('Tag', Number(t.id)), name: t.name })),
        versions: {
          nodes: rows.versions.map((v) => ({
            id: encodeNodeId('ModelVersion', Number(v.Id)),
            databaseId: v.Id,
            civitaiId: v.CivitaiId,
            name: v.Name,
            description: v.Description,
            baseModel: readEnum(BaseModel, v.BaseModel as string),
            baseModelRaw: v.BaseModelRaw,
            createdAt: iso(v.CreatedAt),
            updatedAt: iso(v.UpdatedAt),
            publishedAt: iso(v.PublishedAt),
            downloadUrl: v.DownloadUrl,
            earlyAccessDays: v.EarlyAccessDays,
            downloadCount: v.DownloadCount,
            ratingCount: v.RatingCount,
            rating: v.Rating,
            thumbsUpCount: v.ThumbsUpCount,
            thumbsDownCount: v.ThumbsDownCount,
            triggerWords: (rows.words.get(Number(v.Id)) ?? []).map((w) => ({ word: w.word, order: w.order })),
            files: (rows.files.get(Number(v.Id)) ?? []).map(detailFile),
            images: { nodes: (rows.images.get(Number(v.Id)) ?? []).map((i) => detailImage(i, origin)) },
          })),
        },
      },
    },
  };
}

function detailFile(f: Row) {
  return {
    id: encodeNodeId('ModelFile', Number(f.Id)),
    databaseId: f.Id,
    civitaiId: f.CivitaiId,
    fileName: f.FileName,
    sizeKB: f.SizeKB,
    fileType: f.FileType,
    isPrimary: bool(f.IsPrimary),
    format: readEnum(FileFormat, f.Format as string),
    precision: readEnum(FilePrecision, f.Precision as string),
    sizeType: readEnum(FileSizeType, f.SizeType as string),
    pickleScanResult: readEnum(ScanResult, f.PickleScanResult as string),
    virusScanResult: readEnum(ScanResult, f.VirusScanResult as string),
    scannedAt: iso(f.ScannedAt),
    localPath: f.LocalPath,
    isLocalFileValid: bool(f.IsLocalFileValid),
    hashes: {
      autoV1: upper(f.HashAutoV1),
      autoV2: upper(f.HashAutoV2),
      autoV3: upper(f.HashAutoV3),
      sha256: upper(f.HashSHA256),
      crc32: upper(f.HashCRC32),
      blake3: upper(f.HashBLAKE3),
    },
  };
}

function detailImage(i: Row, origin: string) {
  return {
    id: encodeNodeId('ModelImage', Number(i.id)),
    databaseId: i.id,
    url: i.url,
    isNsfw: bool(i.isNsfw),
    nsfwLevel: readEnum(NsfwLevel, i.nsfwLevel as string),
    width: i.width,
    height: i.height,
    blurHash: i.blurHash,
    sortOrder: i.sortOrder,
    createdAt: iso(i.createdAt),
    prompt: i.prompt,
    negativePrompt: i.negativePrompt,
    seed: i.seed,
    steps: i.steps,
    sampler: i.sampler,
    cfgScale: i.cfgScale,
    generationModel: i.generationModel,
    denoisingStrength: i.denoisingStrength,
    likeCount: i.likeCount,
    heartCount: i.heartCount,
    commentCount: i.commentCount,
    thumbnail:
      i.thumbBytes === null
        ? null
        : { url: `${origin}/thumbnails/${i.id}`, width: i.thumbWidth, height: i.thumbHeight, byteSize: i.thumbBytes },
  };
}

/**
 * The benchmark's hash look-up answer: per asked hash, in order, the file its (upper-case) key found. `found` rows
 * carry `id`, `fileName`, `sizeKB`, `versionId`, `versionName`, `modelId` and `modelName`.
 */
export function hashesAnswer(hashes: readonly string[], keys: readonly string[], found: Map<string, Row>): unknown {
  return {
    data: {
      filesByHashes: hashes.map((hash, index) => {
        const f = found.get(keys[index]!);
        return {
          hash,
          file: f
            ? {
                id: encodeNodeId('ModelFile', Number(f.id)),
                fileName: f.fileName,
                sizeKB: f.sizeKB,
                version: {
                  id: encodeNodeId('ModelVersion', Number(f.versionId)),
                  name: f.versionName,
                  model: { id: encodeNodeId('Model', Number(f.modelId)), name: f.modelName },
                },
              }
            : null,
        };
      }),
    },
  };
}

/**
 * The rows of one list page, as both list answers read them: `page` holds up to `first + 1` models (`Id`, `Name`,
 * `Type`, `CreatorId`, `CreatedAt`, `IsNsfw` for the wide page, and `at`, the cursor's UTC key); the maps are keyed by
 * model id (tags, versions) or version id (files, images, words), each list already in the API's order.
 */
export interface ListRows {
  page: Row[];
  first: number;
  usernames: Map<number, unknown>;
  tags: Map<number, Row[]>;
  versions: Map<number, Row[]>;
  files: Map<number, Row[]>;
  images: Map<number, Row[]>;
  words?: Map<number, Row[]>;
}

const MODEL_LIST_SIGNATURE = 'models:CREATED_AT.DESC';
const rowsOf = (map: Map<number, Row[]> | undefined, id: unknown) => map?.get(Number(id)) ?? [];
const creatorOf = (rows: ListRows, m: Row) =>
  m.CreatorId === null ? null : { username: rows.usernames.get(Number(m.CreatorId)) };

/** The benchmark's list page answer (`LIST_QUERY`): edges with cursors and global ids. */
export function listAnswer(rows: ListRows, origin: string): unknown {
  const models = rows.page.slice(0, rows.first);
  const last = models.at(-1);
  return {
    data: {
      models: {
        pageInfo: {
          endCursor: last ? cursor(MODEL_LIST_SIGNATURE, last.at, last.Id) : null,
          hasNextPage: rows.page.length > rows.first,
        },
        edges: models.map((m) => ({
          cursor: cursor(MODEL_LIST_SIGNATURE, m.at, m.Id),
          node: {
            id: encodeNodeId('Model', Number(m.Id)),
            name: m.Name,
            type: readEnum(ModelType, m.Type as string),
            creator: creatorOf(rows, m),
            tags: rowsOf(rows.tags, m.Id).map((t) => ({ name: t.Name })),
            versions: {
              nodes: rowsOf(rows.versions, m.Id).map((v) => ({
                id: encodeNodeId('ModelVersion', Number(v.Id)),
                name: v.Name,
                baseModel: readEnum(BaseModel, v.BaseModel as string),
                files: rowsOf(rows.files, v.Id).map((f) => ({
                  fileName: f.FileName,
                  sizeKB: f.SizeKB,
                  hashes: { sha256: upper(f.HashSHA256) },
                })),
                images: {
                  nodes: rowsOf(rows.images, v.Id).map((i) => ({
                    id: encodeNodeId('ModelImage', Number(i.Id)),
                    width: i.Width,
                    height: i.Height,
                    thumbnail: bool(i.hasThumbnail) ? { url: `${origin}/thumbnails/${i.Id}` } : null,
                  })),
                },
              })),
            },
          },
        })),
      },
    },
  };
}

/** The benchmark's wide list page answer (`LIST_WIDE_QUERY`): `nodes`, database ids, trigger words. */
export function listWideAnswer(rows: ListRows, origin: string): unknown {
  return {
    data: {
      models: {
        nodes: rows.page.slice(0, rows.first).map((m) => ({
          databaseId: m.Id,
          name: m.Name,
          type: readEnum(ModelType, m.Type as string),
          isNsfw: bool(m.IsNsfw),
          createdAt: iso(m.CreatedAt),
          creator: creatorOf(rows, m),
          tags: rowsOf(rows.tags, m.Id).map((t) => ({ name: t.Name })),
          versions: {
            nodes: rowsOf(rows.versions, m.Id).map((v) => ({
              databaseId: v.Id,
              name: v.Name,
              baseModel: readEnum(BaseModel, v.BaseModel as string),
              files: rowsOf(rows.files, v.Id).map((f) => ({
                databaseId: f.Id,
                fileName: f.FileName,
                sizeKB: f.SizeKB,
                hashes: { sha256: upper(f.HashSHA256) },
              })),
              images: {
                nodes: rowsOf(rows.images, v.Id).map((i) => ({
                  databaseId: i.Id,
                  sortOrder: i.SortOrder,
                  thumbnail: bool(i.hasThumbnail)
                    ? { url: `${origin}/thumbnails/${i.Id}`, width: i.ThumbnailWidth, height: i.ThumbnailHeight }
                    : null,
                })),
              },
              triggerWords: rowsOf(rows.words, v.Id).map((w) => ({ word: w.Word })),
            })),
          },
        })),
      },
    },
  };
}

/**
 * The files a hash look-up answers with, by upper-case hash (`matchKey`): of several files with one hash, the one
 * present on disk (`LocalPath`, `IsLocalFileValid`), else the oldest row (`id`).
 */
export function bestFileByHash(rows: readonly Row[]): Map<string, Row> {
  const best = new Map<string, Row>();
  const rank = (r: Row) => (r.LocalPath !== null && bool(r.IsLocalFileValid) ? 1 : 0);
  for (const row of rows) {
    const key = row.matchKey as string;
    const held = best.get(key);
    if (!held || rank(row) > rank(held) || (rank(row) === rank(held) && Number(row.id) < Number(held.id)))
      best.set(key, row);
  }
  return best;
}

/** A thumbnail route's answer from its row (`ThumbnailData`, `ThumbnailMimeType`), null when there is none. */
export function thumbnailAnswer(row: Row | undefined): { bytes: Buffer; mimeType: string } | null {
  return row?.ThumbnailData
    ? {
        bytes: row.ThumbnailData as Buffer,
        mimeType: (row.ThumbnailMimeType as string | null) ?? 'application/octet-stream',
      }
    : null;
}

/** The benchmark's search answer (`SEARCH_QUERY`) from up to `first + 1` ranked rows (`Id`, `Name`, `Type`, `rank`). */
export function searchAnswer(rows: readonly Row[], first: number, scope: string): unknown {
  return {
    data: {
      search: {
        pageInfo: { hasNextPage: rows.length > first },
        edges: rows.slice(0, first).map((r) => ({
          cursor: cursor(`search:RANK#${cursorScope(scope)}`, r.rank, r.Id),
          score: -Number(r.rank),
          node: {
            id: encodeNodeId('Model', Number(r.Id)),
            name: r.Name,
            type: readEnum(ModelType, r.Type as string),
          },
        })),
      },
    },
  };
}
