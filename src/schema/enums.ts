/**
 * GraphQL enums. The catalog's enums have exactly the stored member names (`LORA`, `SDXL10`, `SafeTensor`…), taken
 * from `src/db/enums.ts`; the rest are API vocabulary.
 */
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
  ScanResult,
  type EnumDefinition,
} from '../db/enums.ts';
import { HASH_ALGORITHMS } from '../catalog/hash-lookup.ts';
import { builder } from './builder.ts';

function catalogEnum<const M extends string>(definition: EnumDefinition<M>, description: string) {
  return builder.enumType(definition.name, { description, values: definition.members });
}

export const ModelTypeEnum = catalogEnum(ModelType, 'Kind of model file (Civitai model type).');
export const BaseModelEnum = catalogEnum(
  BaseModel,
  "Base model family a version was trained for; `baseModelRaw` keeps Civitai's spelling.",
);
export const ModelModeEnum = catalogEnum(ModelMode, 'Availability of a model on Civitai.');
export const DataSourceEnum = catalogEnum(DataSource, "Where a model's data came from.");
export const CommercialUseEnum = catalogEnum(
  CommercialUse,
  'Highest commercial use the license allows (None < Image < Rent < Sell).',
);
export const FileFormatEnum = catalogEnum(FileFormat, 'Serialization format of a model file.');
export const FilePrecisionEnum = catalogEnum(FilePrecision, 'Floating-point precision of a model file.');
export const FileSizeTypeEnum = catalogEnum(FileSizeType, 'Whether a model file is full or pruned.');
export const ScanResultEnum = catalogEnum(ScanResult, "Outcome of Civitai's pickle or virus scan.");
export const NsfwLevelEnum = catalogEnum(NsfwLevel, 'NSFW rating of an image.');

export const OrderDirectionEnum = builder.enumType('OrderDirection', { values: ['ASC', 'DESC'] as const });

export const NsfwFilterEnum = builder.enumType('NsfwFilter', {
  description: 'Whether NSFW models are included, excluded, or the only ones listed.',
  values: ['INCLUDE', 'EXCLUDE', 'ONLY'] as const,
});

export const TagsModeEnum = builder.enumType('TagsMode', {
  description: 'Whether a model must carry ALL of the given tags or ANY of them.',
  values: ['ALL', 'ANY'] as const,
});

export const HashAlgorithmEnum = builder.enumType('HashAlgorithm', {
  description:
    'Hash kinds Civitai publishes. CRC32 is matched in both byte orders (Civitai prints it reversed from zlib).',
  values: HASH_ALGORITHMS,
});
