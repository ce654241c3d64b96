/**
 * The desktop app's enumerations. They are stored as TEXT holding exactly these member names, so these lists are
 * the contract with every existing database. `fallback` is what an unrecognised stored value reads as (a newer
 * desktop app may have added members); the raw text is never rewritten by a read.
 */
export interface EnumDefinition<M extends string> {
  readonly name: string;
  readonly members: readonly M[];
  readonly fallback: M;
}

function defineEnum<const M extends string>(name: string, members: readonly M[], fallback: M): EnumDefinition<M> {
  return { name, members, fallback };
}

export const ModelType = defineEnum(
  'ModelType',
  [
    'Unknown',
    'Checkpoint',
    'TextualInversion',
    'Hypernetwork',
    'AestheticGradient',
    'LORA',
    'LoCon',
    'DoRA',
    'Controlnet',
    'Poses',
    'Upscaler',
    'MotionModule',
    'VAE',
    'Wildcards',
    'Workflows',
    'Other',
    'Embedding',
    'Detection',
    'Motion',
  ],
  'Other',
);

export const BaseModel = defineEnum(
  'BaseModel',
  [
    'Unknown',
    'SD14',
    'SD15',
    'SD15LCM',
    'SD20',
    'SD21',
    'SDXL09',
    'SDXL10',
    'SDXLTurbo',
    'SDXLLightning',
    'SDXLDistilled',
    'SD3',
    'SD35',
    'SD35Large',
    'SD35Medium',
    'Flux1D',
    'Flux1S',
    'Pony',
    'Illustrious',
    'NoobAI',
    'Hunyuan',
    'HunyuanVideo',
    'WanVideo21',
    'WanVideo22',
    'Other',
  ],
  'Other',
);

export const ModelMode = defineEnum('ModelMode', ['Available', 'Archived', 'TakenDown'], 'Available');
export const DataSource = defineEnum('DataSource', ['Unknown', 'LocalFile', 'CivitaiApi', 'Manual'], 'Unknown');
export const CommercialUse = defineEnum('CommercialUse', ['None', 'Image', 'Rent', 'Sell'], 'None');
export const FileFormat = defineEnum(
  'FileFormat',
  ['Unknown', 'SafeTensor', 'PickleTensor', 'Diffusers', 'Core', 'ONNX', 'Other'],
  'Unknown',
);
export const FilePrecision = defineEnum('FilePrecision', ['Unknown', 'FP16', 'FP32', 'BF16'], 'Unknown');
export const FileSizeType = defineEnum('FileSizeType', ['Unknown', 'Full', 'Pruned'], 'Unknown');
export const ScanResult = defineEnum('ScanResult', ['Pending', 'Success', 'Danger', 'Error'], 'Pending');
export const NsfwLevel = defineEnum('NsfwLevel', ['None', 'Soft', 'Mature', 'X'], 'None');

export type ModelTypeName = (typeof ModelType.members)[number];
export type BaseModelName = (typeof BaseModel.members)[number];
export type ModelModeName = (typeof ModelMode.members)[number];
export type CommercialUseName = (typeof CommercialUse.members)[number];
export type FileFormatName = (typeof FileFormat.members)[number];
export type FilePrecisionName = (typeof FilePrecision.members)[number];
export type FileSizeTypeName = (typeof FileSizeType.members)[number];
export type ScanResultName = (typeof ScanResult.members)[number];
export type NsfwLevelName = (typeof NsfwLevel.members)[number];

/** Reads a stored member name; an unknown value becomes the enum's fallback instead of failing the read. */
export function readEnum<M extends string>(definition: EnumDefinition<M>, stored: string | null | undefined): M {
  return stored != null && (definition.members as readonly string[]).includes(stored)
    ? (stored as M)
    : definition.fallback;
}

export function isEnumMember<M extends string>(definition: EnumDefinition<M>, value: string): value is M {
  return (definition.members as readonly string[]).includes(value);
}
