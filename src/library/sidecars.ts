/**
 * Sidecar files other tools leave next to a model, turned into what the catalog understands:
 *   <stem>.civitai.info   a Civitai model-version payload (A1111 Civitai Helper)
 *   <stem>.json           a Civitai payload, or A1111's user metadata (description, activation text, sd version)
 *   <stem>.cm-info.json   Stability Matrix's ConnectedModelInfo
 *   <stem>.metadata.json  LoRA Manager's metadata (with the Civitai version under `civitai`)
 * Civitai-derived data becomes a Civitai-shaped payload and goes through the one import mapping.
 */
import type { BaseModelName } from '../db/enums.ts';
import { isAppError } from '../errors.ts';
import { mapBaseModel } from '../civitai/mapping.ts';
import { parseCheckedJson } from '../json-shape.ts';
import { baseModelFromHints } from './safetensors-facts.ts';
import {
  isSpecialFileError,
  readLibraryFile,
  SIDECAR_SUFFIXES,
  sidecarFor,
  type FoundFile,
  type WalkProblem,
} from './library-files.ts';

export interface SidecarFacts {
  /** Civitai payloads to import (model or model version shaped). */
  payloads: { source: string; json: unknown }[];
  title: string | null;
  description: string | null;
  baseModel: BaseModelName | null;
  triggerWords: string[];
  /** Latest modification time among the sidecars read (to skip them next time when unchanged). */
  mtimeMs: number | null;
  /** Sidecars that were not read: links out of the roots, special files. */
  problems: WalkProblem[];
  /** How many of them were special files (FIFOs, sockets, devices). */
  skipped: number;
}

/** Sidecars are small JSON files (a Civitai version payload is tens of kilobytes). */
const MAX_SIDECAR_BYTES = 8 * 1024 * 1024;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads keys case-insensitively (Stability Matrix writes PascalCase, Civitai camelCase). */
function pick(object: Obj, ...keys: string[]): unknown {
  for (const key of keys) {
    const found = Object.keys(object).find((k) => k.toLowerCase() === key.toLowerCase());
    if (found !== undefined && object[found] !== null && object[found] !== undefined) return object[found];
  }
  return undefined;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function words(value: unknown): string[] {
  if (Array.isArray(value))
    return value
      .filter((w): w is string => typeof w === 'string')
      .map((w) => w.trim())
      .filter(Boolean);
  if (typeof value === 'string')
    return value
      .split(',')
      .map((w) => w.trim())
      .filter(Boolean);
  return [];
}

/** A sidecar's JSON, or null: unreadable or not JSON is ignored (scanning goes on); refused reads are reported. */
async function readJson(
  file: string,
  roots: readonly string[],
  facts: SidecarFacts,
): Promise<{ json: unknown; mtimeMs: number } | null> {
  try {
    const { bytes, mtimeMs } = await readLibraryFile(file, roots, MAX_SIDECAR_BYTES);
    return { json: parseCheckedJson(bytes), mtimeMs };
  } catch (error) {
    if (isSpecialFileError(error)) facts.skipped++;
    if (isAppError(error) && (error.code === 'FORBIDDEN' || isSpecialFileError(error)))
      facts.problems.push({ path: file, message: error.message });
    return null;
  }
}

/** Stability Matrix's ConnectedModelInfo → a Civitai model payload with the one version and file it describes. */
export function payloadFromCmInfo(info: Obj, fileName: string): Obj | null {
  const modelId = pick(info, 'ModelId');
  const versionId = pick(info, 'VersionId');
  if (typeof modelId !== 'number' || typeof versionId !== 'number') return null;
  const metadata = isObject(pick(info, 'FileMetadata')) ? (pick(info, 'FileMetadata') as Obj) : {};
  const hashes = isObject(pick(info, 'Hashes')) ? (pick(info, 'Hashes') as Obj) : {};
  return {
    id: modelId,
    name: str(pick(info, 'ModelName')) ?? fileName,
    description: str(pick(info, 'ModelDescription')),
    type: str(pick(info, 'ModelType')) ?? 'Other',
    nsfw: pick(info, 'Nsfw') === true,
    tags: words(pick(info, 'Tags')),
    modelVersions: [
      {
        id: versionId,
        modelId,
        name: str(pick(info, 'VersionName')) ?? 'v1',
        description: str(pick(info, 'VersionDescription')),
        baseModel: str(pick(info, 'BaseModel')),
        trainedWords: words(pick(info, 'TrainedWords')),
        files: [
          {
            name: fileName,
            type: 'Model',
            primary: true,
            metadata: {
              fp: str(pick(metadata, 'fp')),
              size: str(pick(metadata, 'size')),
              format: str(pick(metadata, 'format')),
            },
            hashes: Object.fromEntries(Object.entries(hashes).filter(([, v]) => typeof v === 'string')),
          },
        ],
        images: [],
      },
    ],
  };
}

/** LoRA Manager's metadata: the Civitai version sits under `civitai`, model facts around it. */
export function payloadFromLoraManager(meta: Obj): Obj | null {
  const civitai = isObject(meta.civitai) ? meta.civitai : null;
  if (!civitai || typeof civitai.id !== 'number' || typeof civitai.modelId !== 'number') return null;
  const model = isObject(civitai.model) ? civitai.model : {};
  return {
    id: civitai.modelId,
    name: str(model.name) ?? str(meta.model_name) ?? String(civitai.modelId),
    description: str(meta.modelDescription) ?? str(model.description),
    type: str(model.type) ?? 'Other',
    nsfw: model.nsfw === true,
    poi: model.poi === true,
    tags: words(Array.isArray(meta.tags) ? meta.tags : model.tags),
    ...(isObject(civitai.creator) ? { creator: civitai.creator } : {}),
    modelVersions: [{ ...civitai, modelId: civitai.modelId }],
  };
}

function isCivitaiPayload(json: Obj): boolean {
  return Array.isArray(json.modelVersions) || (typeof json.modelId === 'number' && typeof json.id === 'number');
}

export async function readSidecars(
  file: Pick<FoundFile, 'dir' | 'stem' | 'siblings' | 'fileName'>,
  roots: readonly string[],
): Promise<SidecarFacts> {
  const facts: SidecarFacts = {
    payloads: [],
    title: null,
    description: null,
    baseModel: null,
    triggerWords: [],
    mtimeMs: null,
    problems: [],
    skipped: 0,
  };
  const seen = (mtimeMs: number) => {
    facts.mtimeMs = Math.max(facts.mtimeMs ?? 0, mtimeMs);
  };

  const info = sidecarFor(file, SIDECAR_SUFFIXES[0]);
  const infoJson = info ? await readJson(info, roots, facts) : null;
  if (info && infoJson && isObject(infoJson.json) && isCivitaiPayload(infoJson.json)) {
    seen(infoJson.mtimeMs);
    facts.payloads.push({ source: info, json: infoJson.json });
  }

  const cm = sidecarFor(file, SIDECAR_SUFFIXES[1]);
  const cmJson = cm ? await readJson(cm, roots, facts) : null;
  if (cm && cmJson && isObject(cmJson.json)) {
    seen(cmJson.mtimeMs);
    const payload = payloadFromCmInfo(cmJson.json, file.fileName);
    if (payload) facts.payloads.push({ source: cm, json: payload });
    facts.title ??= str(pick(cmJson.json, 'UserTitle'));
  }

  const lm = sidecarFor(file, SIDECAR_SUFFIXES[2]);
  const lmJson = lm ? await readJson(lm, roots, facts) : null;
  if (lm && lmJson && isObject(lmJson.json)) {
    seen(lmJson.mtimeMs);
    const payload = payloadFromLoraManager(lmJson.json);
    if (payload) facts.payloads.push({ source: lm, json: payload });
    facts.title ??= str(lmJson.json.model_name);
    facts.baseModel ??= str(lmJson.json.base_model) ? mapBaseModel(str(lmJson.json.base_model)) : null;
    facts.description ??= str(lmJson.json.modelDescription) ?? str(lmJson.json.notes);
  }

  const plain = sidecarFor(file, SIDECAR_SUFFIXES[3]);
  const plainJson = plain ? await readJson(plain, roots, facts) : null;
  if (plain && plainJson && isObject(plainJson.json)) {
    seen(plainJson.mtimeMs);
    if (isCivitaiPayload(plainJson.json)) {
      facts.payloads.push({ source: plain, json: plainJson.json });
    } else {
      // A1111's per-model user metadata.
      facts.description ??= str(plainJson.json.description) ?? str(plainJson.json.notes);
      facts.triggerWords = facts.triggerWords.length ? facts.triggerWords : words(plainJson.json['activation text']);
      facts.baseModel ??= baseModelFromHints(str(plainJson.json['sd version']));
    }
  }
  return facts;
}
