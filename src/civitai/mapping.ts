/**
 * The one mapping from Civitai API JSON to catalog rows, used by the CLI import, the GraphQL mutation and online
 * sync alike. Pure: JSON in, plain values out (or an error naming the JSON path). Field drift handled here:
 * `allowCommercialUse` as string, array or `{set}` string; `nsfwLevel` as bitmask, string or `nsfw` boolean;
 * base model spellings; hash key case; free-form generation `meta` with numbers as strings.
 *
 * `undefined` in a mapped model means "this payload does not say" (a model-version payload carries only part of
 * its model): the importer leaves such fields as they are.
 */
import {
  BaseModel,
  CommercialUse,
  FileFormat,
  FilePrecision,
  FileSizeType,
  ModelMode,
  ModelType,
  NsfwLevel,
  ScanResult,
  type BaseModelName,
  type CommercialUseName,
  type EnumDefinition,
  type FileFormatName,
  type FilePrecisionName,
  type FileSizeTypeName,
  type ModelModeName,
  type ModelTypeName,
  type NsfwLevelName,
  type ScanResultName,
} from '../db/enums.ts';
import { AppError } from '../errors.ts';
import { JsonReader, LIMITS } from './json-reader.ts';

export interface MappedHashes {
  autoV1: string | null;
  autoV2: string | null;
  autoV3: string | null;
  sha256: string | null;
  crc32: string | null;
  blake3: string | null;
}

export interface MappedFile {
  /** JSON path of the file in its payload (for errors). */
  path: string;
  civitaiId: number | null;
  fileName: string;
  sizeKB: number | undefined;
  fileType: string | undefined;
  /** Civitai leaves `primary` out for the files that are not: undefined here (see `fileValues` in import.ts). */
  isPrimary: boolean | undefined;
  format: FileFormatName | undefined;
  precision: FilePrecisionName | undefined;
  sizeType: FileSizeTypeName | undefined;
  downloadUrl: string | null | undefined;
  pickleScanResult: ScanResultName | undefined;
  pickleScanMessage: string | null | undefined;
  virusScanResult: ScanResultName | undefined;
  scannedAt: Date | null | undefined;
  hashes: MappedHashes;
}

export interface MappedImage {
  civitaiId: number | null;
  url: string;
  isNsfw: boolean;
  nsfwLevel: NsfwLevelName;
  width: number;
  height: number;
  blurHash: string | null;
  sortOrder: number;
  createdAt: Date | null;
  postId: number | null;
  username: string | null;
  prompt: string | null;
  negativePrompt: string | null;
  seed: bigint | null;
  steps: number | null;
  sampler: string | null;
  cfgScale: number | null;
  generationModel: string | null;
  denoisingStrength: number | null;
  likeCount: number;
  heartCount: number;
  commentCount: number;
}

export interface MappedVersion {
  /** JSON path of the version in its payload (for errors). */
  path: string;
  civitaiId: number;
  name: string;
  description: string | null | undefined;
  baseModel: BaseModelName | undefined;
  baseModelRaw: string | null | undefined;
  createdAt: Date | null;
  updatedAt: Date | null | undefined;
  publishedAt: Date | null | undefined;
  downloadUrl: string | null | undefined;
  earlyAccessDays: number | undefined;
  downloadCount: number | undefined;
  ratingCount: number | undefined;
  rating: number | undefined;
  thumbsUpCount: number | undefined;
  thumbsDownCount: number | undefined;
  trainedWords: string[] | undefined;
  files: MappedFile[];
  images: MappedImage[];
}

export interface MappedCreator {
  username: string;
  avatarUrl: string | null;
}

export interface MappedModel {
  civitaiId: number;
  name: string | undefined;
  description: string | null | undefined;
  type: ModelTypeName | undefined;
  isNsfw: boolean | undefined;
  isPoi: boolean | undefined;
  mode: ModelModeName | undefined;
  allowNoCredit: boolean | undefined;
  allowCommercialUse: CommercialUseName | undefined;
  allowDerivatives: boolean | undefined;
  allowDifferentLicense: boolean | undefined;
  creator: MappedCreator | null | undefined;
  /** Display spellings; matched on their normalized form. */
  tags: string[] | undefined;
  versions: MappedVersion[];
  /** Values that could not be mapped exactly (kept as Other/Unknown), for the import log. */
  warnings: string[];
}

export type PayloadKind = 'model' | 'version' | 'list' | 'images';

// ——— Enumerations ———

function squash(text: string): string {
  return text.replace(/[\s._-]/g, '').toLowerCase();
}

function byLooseName<M extends string>(definition: EnumDefinition<M>, text: string): M | null {
  const wanted = squash(text);
  return definition.members.find((m) => squash(m) === wanted) ?? null;
}

/** "SD 1.5" → SD15, "SDXL 1.0" → SDXL10, "Flux.1 D" → Flux1D; anything unknown → Other. */
export function mapBaseModel(raw: string | null): BaseModelName {
  if (!raw || raw.trim() === '') return 'Unknown';
  return byLooseName(BaseModel, raw) ?? 'Other';
}

export function mapModelType(raw: string, warnings: string[]): ModelTypeName {
  const found = byLooseName(ModelType, raw);
  if (!found) warnings.push(`model type "${raw}" is not known: stored as Other`);
  return found ?? 'Other';
}

export function mapMode(raw: string | null, warnings: string[]): ModelModeName {
  if (raw === null) return 'Available';
  const found = byLooseName(ModelMode, raw);
  if (!found) warnings.push(`mode "${raw}" is not known: stored as Available`);
  return found ?? 'Available';
}

const COMMERCIAL_RANK: Record<string, CommercialUseName> = {
  none: 'None',
  image: 'Image',
  rent: 'Rent',
  rentcivit: 'Rent',
  sell: 'Sell',
};

/** The highest permission among None < Image < Rent (Rent, RentCivit) < Sell, from any of Civitai's shapes. */
export function mapCommercialUse(raw: unknown): CommercialUseName {
  const parts = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.replace(/^\{|\}$/g, '').split(',') : [];
  let best: CommercialUseName = 'None';
  for (const part of parts) {
    const level = typeof part === 'string' ? COMMERCIAL_RANK[squash(part)] : undefined;
    if (level && CommercialUse.members.indexOf(level) > CommercialUse.members.indexOf(best)) best = level;
  }
  return best;
}

/** Civitai's bitmask (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX, 32 Blocked) or level name, or the old `nsfw` flag. */
export function mapNsfwLevel(level: unknown, nsfwFlag: unknown): NsfwLevelName {
  if (typeof level === 'number' && Number.isInteger(level) && level >= 0) {
    if (level >= 8) return 'X';
    if (level >= 4) return 'Mature';
    if (level >= 2) return 'Soft';
    return 'None';
  }
  if (typeof level === 'string') {
    const found = byLooseName(NsfwLevel, level);
    if (found) return found;
  }
  return nsfwFlag === true ? 'Soft' : 'None';
}

export function mapScanResult(raw: string | null): ScanResultName {
  return (raw ? byLooseName(ScanResult, raw) : null) ?? 'Pending';
}

export function mapFormat(raw: string | null): FileFormatName {
  if (!raw) return 'Unknown';
  if (squash(raw) === 'coreml') return 'Core';
  return byLooseName(FileFormat, raw) ?? 'Other';
}

export function mapPrecision(raw: string | null): FilePrecisionName {
  return (raw ? byLooseName(FilePrecision, raw) : null) ?? 'Unknown';
}

export function mapSizeType(raw: string | null): FileSizeTypeName {
  return (raw ? byLooseName(FileSizeType, raw) : null) ?? 'Unknown';
}

// ——— Free-form values ———

/** A number from a free-form field: numbers, or strings holding one; anything else is null (not an error). */
export function looseNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

export function looseInteger(value: unknown): number | null {
  const n = looseNumber(value);
  return n !== null && Number.isInteger(n) && Math.abs(n) <= 2_147_483_647 ? n : null;
}

/** An image dimension: a non-negative 32-bit integer, else 0 (unknown), as for an image Civitai gave none. */
function pixelCount(value: unknown): number {
  const n = looseInteger(value);
  return n !== null && n >= 0 ? n : 0;
}

const INT64_MAX = 2n ** 63n - 1n;

/** A seed: any integer that fits a signed 64-bit column, exactly (strings keep digits JSON numbers would lose). */
export function looseSeed(value: unknown): bigint | null {
  let text: string | null = null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value.trim())) text = value.trim();
  if (text === null) return null;
  const seed = BigInt(text);
  return seed <= INT64_MAX && seed >= -INT64_MAX - 1n ? seed : null;
}

function looseText(value: unknown, max: number = LIMITS.longText): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  return value.length > max ? value.slice(0, max) : value;
}

/** Civitai's hash keys, lower-cased (`AutoV2`, `SHA256`, …; also our `HashAlgorithm` names), to the mapped field. */
export const HASH_KEYS: Record<string, keyof MappedHashes> = {
  autov1: 'autoV1',
  autov2: 'autoV2',
  autov3: 'autoV3',
  sha256: 'sha256',
  crc32: 'crc32',
  blake3: 'blake3',
};

export function mapHashes(hashes: JsonReader | null): MappedHashes {
  const mapped: MappedHashes = { autoV1: null, autoV2: null, autoV3: null, sha256: null, crc32: null, blake3: null };
  if (!hashes) return mapped;
  for (const [key, value] of Object.entries(hashes.value as Record<string, unknown>)) {
    const field = HASH_KEYS[key.toLowerCase()];
    if (!field || value === null || value === undefined) continue;
    const hex =
      typeof value === 'string' && /^[0-9a-fA-F]{8,64}$/.test(value)
        ? value
        : new JsonReader(value, `${hashes.path}.${key}`).fail('a hexadecimal hash');
    mapped[field] = hex.toUpperCase();
  }
  return mapped;
}

// ——— Structures ———

/** `read()` when the payload names `key` (even as null), else undefined: what a payload does not say changes nothing. */
function stated<T>(reader: JsonReader, key: string, read: () => T): T | undefined {
  return reader.states(key) ? read() : undefined;
}

/** A file fact the payload gives (mapped), else undefined: a file's row keeps what a partial payload leaves out. */
function given<T>(raw: string | null | undefined, map: (raw: string) => T): T | undefined {
  return raw === null || raw === undefined ? undefined : map(raw);
}

function mapFile(file: JsonReader): MappedFile {
  const metadata = file.optObject('metadata');
  return {
    path: file.path,
    civitaiId: file.optId('id'),
    fileName: file.string('name', 1000),
    sizeKB: file.optNumber('sizeKB') ?? undefined,
    fileType: file.optString('type') ?? undefined,
    isPrimary: file.optBoolean('primary') ?? undefined,
    format: given(metadata?.optString('format'), mapFormat),
    precision: given(metadata?.optString('fp'), mapPrecision),
    sizeType: given(metadata?.optString('size'), mapSizeType),
    downloadUrl: stated(file, 'downloadUrl', () => file.optString('downloadUrl')),
    pickleScanResult: given(file.optString('pickleScanResult'), mapScanResult),
    pickleScanMessage: stated(file, 'pickleScanMessage', () => file.optText('pickleScanMessage', 1000)),
    virusScanResult: given(file.optString('virusScanResult'), mapScanResult),
    scannedAt: stated(file, 'scannedAt', () => file.optDate('scannedAt')),
    hashes: mapHashes(file.optObject('hashes')),
  };
}

export function mapImage(image: JsonReader, position: number): MappedImage {
  const meta =
    image.isObject() && image.has('meta') && image.at('meta').isObject()
      ? (image.at('meta').value as Record<string, unknown>)
      : {};
  const stats = image.optObject('stats');
  const level = image.isObject() ? (image.value as Record<string, unknown>).nsfwLevel : undefined;
  const flag = image.isObject() ? (image.value as Record<string, unknown>).nsfw : undefined;
  const nsfwLevel = mapNsfwLevel(level, flag);
  return {
    civitaiId: image.optId('id'),
    url: image.string('url', 4000),
    isNsfw: nsfwLevel !== 'None' || flag === true,
    nsfwLevel,
    width: pixelCount(image.isObject() ? (image.value as Record<string, unknown>).width : null),
    height: pixelCount(image.isObject() ? (image.value as Record<string, unknown>).height : null),
    blurHash: image.optString('hash', 200),
    sortOrder: position,
    createdAt: image.optDate('createdAt'),
    postId: image.optId('postId'),
    username: image.optString('username', 500),
    prompt: looseText(meta.prompt),
    negativePrompt: looseText(meta.negativePrompt),
    seed: looseSeed(meta.seed),
    steps: looseInteger(meta.steps),
    sampler: looseText(meta.sampler, 200),
    cfgScale: looseNumber(meta.cfgScale),
    generationModel: looseText(meta.Model ?? meta.model, 500),
    denoisingStrength: looseNumber(meta['Denoising strength'] ?? meta.denoise ?? meta.denoisingStrength),
    likeCount: looseInteger(stats?.isObject() ? (stats.value as Record<string, unknown>).likeCount : null) ?? 0,
    heartCount: looseInteger(stats?.isObject() ? (stats.value as Record<string, unknown>).heartCount : null) ?? 0,
    commentCount: looseInteger(stats?.isObject() ? (stats.value as Record<string, unknown>).commentCount : null) ?? 0,
  };
}

function earlyAccessDays(version: JsonReader): number | undefined {
  if (!['earlyAccessTimeFrame', 'earlyAccessConfig', 'earlyAccessEndsAt'].some((key) => version.has(key)))
    return version.has('publishedAt') ? 0 : undefined;
  const timeframe =
    version.optCount('earlyAccessTimeFrame') ?? version.optObject('earlyAccessConfig')?.optCount('timeframe') ?? null;
  if (timeframe !== null) return timeframe;
  const endsAt = version.optDate('earlyAccessEndsAt');
  const publishedAt = version.optDate('publishedAt');
  return endsAt && publishedAt && endsAt > publishedAt
    ? Math.ceil((endsAt.getTime() - publishedAt.getTime()) / 86_400_000)
    : 0;
}

function trainedWords(version: JsonReader): string[] | undefined {
  const words = version.optArray('trainedWords');
  if (words === null) return undefined;
  return words.map((w) => (typeof w.value === 'string' ? w.value.trim() : w.fail('a string'))).filter((w) => w !== '');
}

export function mapVersion(version: JsonReader, warnings: string[]): MappedVersion {
  const stats = version.optObject('stats');
  const baseModelRaw = stated(version, 'baseModel', () => version.optString('baseModel', 200));
  const baseModel = baseModelRaw === undefined ? undefined : mapBaseModel(baseModelRaw);
  if (baseModel === 'Other')
    warnings.push(`base model "${baseModelRaw}" is not known: stored as Other (raw text kept)`);
  const files = (version.optArray('files') ?? []).map(mapFile);
  return {
    path: version.path,
    civitaiId: version.id('id'),
    name: version.string('name', 1000),
    description: stated(version, 'description', () => version.optText('description')),
    baseModel,
    baseModelRaw,
    createdAt: version.optDate('createdAt'),
    updatedAt: stated(version, 'updatedAt', () => version.optDate('updatedAt')),
    publishedAt: stated(version, 'publishedAt', () => version.optDate('publishedAt')),
    downloadUrl: stated(version, 'downloadUrl', () => version.optString('downloadUrl')),
    earlyAccessDays: earlyAccessDays(version),
    downloadCount: stats?.optCount('downloadCount') ?? undefined,
    ratingCount: stats?.optCount('ratingCount') ?? undefined,
    rating: stats?.optNumber('rating') ?? undefined,
    thumbsUpCount: stats?.optCount('thumbsUpCount') ?? undefined,
    thumbsDownCount: stats?.optCount('thumbsDownCount') ?? undefined,
    trainedWords: trainedWords(version),
    files,
    images: (version.optArray('images') ?? []).map((image, i) => mapImage(image, i)),
  };
}

function mapCreator(reader: JsonReader): MappedCreator | null | undefined {
  if (!reader.has('creator')) return undefined;
  const creator = reader.object('creator');
  const username = creator.optString('username', 500)?.trim();
  return username ? { username, avatarUrl: creator.optString('image') } : null;
}

function mapTags(model: JsonReader): string[] | undefined {
  const tags = model.optArray('tags', 500);
  if (!tags) return undefined;
  const seen = new Set<string>();
  const names: string[] = [];
  for (const tag of tags) {
    // Older API versions send { name } objects.
    const name =
      typeof tag.value === 'string' ? tag.value : tag.isObject() ? tag.string('name', 500) : tag.fail('a tag name');
    const trimmed = name.trim();
    if (trimmed !== '' && !seen.has(trimmed.toLowerCase())) {
      seen.add(trimmed.toLowerCase());
      names.push(trimmed);
    }
  }
  return names;
}

/** `GET /api/v1/models/:id` (or one item of a models list). */
export function mapModelPayload(model: JsonReader): MappedModel {
  const warnings: string[] = [];
  const raw = model.value as Record<string, unknown>;
  return {
    civitaiId: model.id('id'),
    name: model.string('name', 1000),
    description: stated(model, 'description', () => model.optText('description')),
    type: mapModelType(model.string('type', 100), warnings),
    // Absent (or null) flags say nothing: a new model takes NEW_MODEL_DEFAULTS, a stored one keeps its values.
    isNsfw: model.optBoolean('nsfw') ?? undefined,
    isPoi: model.optBoolean('poi') ?? undefined,
    mode: stated(model, 'mode', () => mapMode(model.optString('mode', 100), warnings)),
    allowNoCredit: model.optBoolean('allowNoCredit') ?? undefined,
    allowCommercialUse: stated(model, 'allowCommercialUse', () => mapCommercialUse(raw.allowCommercialUse)),
    allowDerivatives: model.optBoolean('allowDerivatives') ?? undefined,
    allowDifferentLicense: model.optBoolean('allowDifferentLicense') ?? undefined,
    creator: mapCreator(model),
    tags: mapTags(model),
    versions: model.array('modelVersions', 1000).map((version) => mapVersion(version, warnings)),
    warnings,
  };
}

/** `GET /api/v1/model-versions/:id` or `/by-hash/:hash` (also `.civitai.info` files): a version with part of its model. */
export function mapVersionPayload(version: JsonReader): MappedModel {
  const warnings: string[] = [];
  const model = version.optObject('model');
  const mappedVersion = mapVersion(version, warnings);
  const type = model?.optString('type', 100);
  return {
    civitaiId: version.id('modelId'),
    name: model?.optString('name', 1000) ?? undefined,
    description: undefined,
    type: type ? mapModelType(type, warnings) : undefined,
    isNsfw: model?.optBoolean('nsfw') ?? undefined,
    isPoi: model?.optBoolean('poi') ?? undefined,
    mode: model?.has('mode') ? mapMode(model.optString('mode', 100), warnings) : undefined,
    allowNoCredit: undefined,
    allowCommercialUse: undefined,
    allowDerivatives: undefined,
    allowDifferentLicense: undefined,
    creator: mapCreator(version),
    tags: undefined,
    versions: [mappedVersion],
    warnings,
  };
}

/**
 * Ids that contradict each other inside one model: a version listed twice, or one file id in two places (the
 * importer would otherwise write two rows with one Civitai id, which every later import keeps).
 */
export function checkOwnIds(model: MappedModel): void {
  const versions = new Map<number, MappedVersion>();
  const files = new Map<number, MappedVersion>();
  for (const version of model.versions) {
    const earlier = versions.get(version.civitaiId);
    if (earlier)
      throw new AppError(
        'CONFLICT',
        `${version.path}.id: version ${version.civitaiId} appears twice in model ${model.civitaiId}.`,
        { path: `${version.path}.id` },
      );
    versions.set(version.civitaiId, version);
    for (const file of version.files) {
      if (file.civitaiId === null) continue;
      const owner = files.get(file.civitaiId);
      if (owner) {
        const where =
          owner === version
            ? `twice in version ${version.civitaiId}`
            : `in versions ${owner.civitaiId} and ${version.civitaiId}`;
        throw new AppError(
          'CONFLICT',
          `${file.path}.id: file ${file.civitaiId} appears ${where} of model ${model.civitaiId}; nothing of this model was imported.`,
          { path: `${file.path}.id` },
        );
      }
      files.set(file.civitaiId, version);
    }
  }
}

/**
 * Ids that contradict each other between the models of one payload (a models list): a version or file claimed by
 * two models. Returns, for each model involved (by position), why it must not be imported — silently moving the
 * version to whichever model came last would lose the other's.
 */
export function conflictsBetween(models: readonly (MappedModel | null)[]): Map<number, AppError> {
  const conflicts = new Map<number, AppError>();
  for (const [kind, idsOf] of [
    ['version', (m: MappedModel) => m.versions.map((v) => ({ id: v.civitaiId, path: `${v.path}.id` }))],
    [
      'file',
      (m: MappedModel) =>
        m.versions.flatMap((v) =>
          v.files.flatMap((f) => (f.civitaiId === null ? [] : [{ id: f.civitaiId, path: `${f.path}.id` }])),
        ),
    ],
  ] as const) {
    const claims = new Map<number, { index: number; path: string }[]>();
    models.forEach((model, index) => {
      if (!model) return;
      for (const { id, path } of idsOf(model)) claims.set(id, [...(claims.get(id) ?? []), { index, path }]);
    });
    for (const [id, claimants] of claims) {
      const owners = [...new Set(claimants.map((c) => models[c.index]!.civitaiId))];
      if (owners.length < 2) continue;
      for (const { index, path } of claimants) {
        if (conflicts.has(index)) continue;
        conflicts.set(
          index,
          new AppError(
            'CONFLICT',
            `${path}: ${kind} ${id} appears under models ${owners.join(' and ')} of this payload; ` +
              'none of them was imported.',
            { path },
          ),
        );
      }
    }
  }
  return conflicts;
}

export function payloadKind(payload: JsonReader): PayloadKind {
  if (!payload.isObject()) payload.fail('a Civitai model, model version or models list (an object)');
  if (payload.has('items')) {
    // `GET /api/v1/images` pages hold images (with a `url`), not models.
    const first = payload.array('items', 1000)[0];
    return first?.isObject() && first.has('url') && !first.has('modelVersions') && !first.has('modelId')
      ? 'images'
      : 'list';
  }
  if (payload.has('modelVersions')) return 'model';
  if (payload.has('modelId')) return 'version';
  throw new AppError(
    'NOT_CIVITAI_PAYLOAD',
    '$: not a Civitai payload: expected a model (with `modelVersions`), a model version (with `modelId`), or a models or images list (with `items`).',
    { path: '$' },
  );
}
