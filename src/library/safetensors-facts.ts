/**
 * What a model file says about itself: the safetensors header's `__metadata__` (kohya's `ss_*` keys, Stability's
 * `modelspec.*`) gives a title, base model, model type and activation words for files Civitai does not know.
 */
import type { BaseModelName, ModelTypeName } from '../db/enums.ts';

export interface HeaderFacts {
  title: string | null;
  baseModel: BaseModelName | null;
  baseModelRaw: string | null;
  type: ModelTypeName | null;
  triggerWords: string[];
}

const EMPTY: HeaderFacts = { title: null, baseModel: null, baseModelRaw: null, type: null, triggerWords: [] };

/** Hints are short names ("sdxl_base_v1-0", "flux1-schnell"); only their start is looked at, whatever a file claims. */
const MAX_HINT_CHARS = 200;
const MAX_TRIGGER_WORD_CHARS = 500;

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** kohya's ss_base_model_version / ss_sd_model_name, or modelspec.architecture → our enum. */
export function baseModelFromHints(...hints: (string | null)[]): BaseModelName | null {
  const joined = hints
    .filter(Boolean)
    .map((hint) => hint!.slice(0, MAX_HINT_CHARS))
    .join(' ')
    .toLowerCase();
  if (joined === '') return null;
  if (joined.includes('pony')) return 'Pony';
  if (joined.includes('illustrious')) return 'Illustrious';
  if (joined.includes('noob')) return 'NoobAI';
  if (joined.split(/\s+/).some((word) => /flux.*schnell/.test(word)) || /flux1?-?s\b/.test(joined)) return 'Flux1S';
  if (/flux/.test(joined)) return 'Flux1D';
  if (/sd3\.?5|sd-?3-?5|stable-diffusion-3\.5/.test(joined)) return 'SD35';
  if (/sd3|stable-diffusion-3/.test(joined)) return 'SD3';
  if (/sdxl|xl[-_ ]?(base|v1)|stable-diffusion-xl/.test(joined)) return 'SDXL10';
  if (/sd_?v2|sd2|v2-1|stable-diffusion-v2/.test(joined)) return 'SD21';
  if (/sd_?v1|sd1|v1-5|stable-diffusion-v1/.test(joined)) return 'SD15';
  return null;
}

function typeFromMetadata(metadata: Record<string, unknown>): ModelTypeName | null {
  const module = text(metadata.ss_network_module)?.slice(0, MAX_HINT_CHARS).toLowerCase() ?? '';
  const architecture = text(metadata['modelspec.architecture'])?.slice(0, MAX_HINT_CHARS).toLowerCase() ?? '';
  if (/lycoris|locon|loha|lokr/.test(module) || /lycoris/.test(architecture)) return 'LoCon';
  if (/dora/.test(module)) return 'DoRA';
  if (/lora/.test(module) || architecture.endsWith('/lora')) return 'LORA';
  if (architecture.endsWith('/textual-inversion')) return 'TextualInversion';
  if (architecture !== '' && !architecture.includes('/')) return 'Checkpoint';
  return null;
}

function splitWords(value: string): string[] {
  return value
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
}

/**
 * At most this many activation words come from `ss_tag_frequency`: the most frequent training tags, the ones other
 * tools show for a LoRA (a header lists hundreds of tags; the long tail says little).
 */
export const MAX_HEADER_TRIGGER_WORDS = 10;
/** `modelspec.trigger_phrase` is written by a person; its words are kept up to this many. */
const MAX_TRIGGER_PHRASE_WORDS = 20;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether tag `a` ranks before `b`: more frequent first, ties in code-unit order of the tag (the same every time). */
function ranksBefore(a: readonly [string, number], b: readonly [string, number]): boolean {
  return a[1] !== b[1] ? a[1] > b[1] : a[0] < b[0];
}

/**
 * The most frequent tags of kohya's `ss_tag_frequency` — `{ "<dataset folder>": { "<tag>": count } }` — with counts
 * summed over datasets (tags trimmed, so " city" and "city" are one). Counts that are not positive numbers are
 * ignored. The header is untrusted: one parse, one pass over the tags, and a top list of a fixed length kept in
 * order while passing (no sort of every tag).
 */
function mostFrequentTags(frequencyText: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frequencyText);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  const counts = new Map<string, number>();
  for (const dataset of Object.values(parsed)) {
    if (!isRecord(dataset)) continue;
    for (const [rawTag, count] of Object.entries(dataset)) {
      if (typeof count !== 'number' || !Number.isFinite(count) || count <= 0) continue;
      const tag = rawTag.trim();
      if (tag !== '') counts.set(tag, (counts.get(tag) ?? 0) + count);
    }
  }
  const top: [string, number][] = [];
  for (const entry of counts) {
    if (top.length === MAX_HEADER_TRIGGER_WORDS) {
      if (!ranksBefore(entry, top[top.length - 1]!)) continue;
      top.pop();
    }
    let at = top.length;
    while (at > 0 && ranksBefore(entry, top[at - 1]!)) at--;
    top.splice(at, 0, entry);
  }
  return top.map(([tag]) => tag.slice(0, MAX_TRIGGER_WORD_CHARS));
}

/**
 * Activation words: `modelspec.trigger_phrase`, else the most frequent training tags (`ss_tag_frequency`). The
 * scanner prefers words from a sidecar or Civitai over both.
 */
function triggerWordsFrom(metadata: Record<string, unknown>): string[] {
  const phrase = text(metadata['modelspec.trigger_phrase']);
  if (phrase)
    return splitWords(phrase)
      .slice(0, MAX_TRIGGER_PHRASE_WORDS)
      .map((word) => word.slice(0, MAX_TRIGGER_WORD_CHARS));
  const frequencyText = text(metadata.ss_tag_frequency);
  return frequencyText ? mostFrequentTags(frequencyText) : [];
}

/** Facts from a safetensors header's `__metadata__` texts (read and parsed by the hashing worker). */
export function headerFacts(metadata: Readonly<Record<string, string>> | null): HeaderFacts {
  if (!metadata) return EMPTY;
  const baseModelRaw =
    (
      text(metadata.ss_base_model_version) ??
      text(metadata['modelspec.architecture']) ??
      text(metadata.ss_sd_model_name)
    )?.slice(0, MAX_HINT_CHARS) ?? null;
  return {
    title: (text(metadata['modelspec.title']) ?? text(metadata.ss_output_name))?.slice(0, 1000) ?? null,
    baseModel: baseModelFromHints(
      text(metadata.ss_base_model_version),
      text(metadata['modelspec.architecture']),
      text(metadata.ss_sd_model_name),
    ),
    baseModelRaw,
    type: typeFromMetadata(metadata),
    triggerWords: triggerWordsFrom(metadata),
  };
}

const FOLDER_TYPES: [RegExp, ModelTypeName][] = [
  [/^(loras?|lora_models?)$/i, 'LORA'],
  [/^(lycoris|locon|lycoris_models)$/i, 'LoCon'],
  [/^(checkpoints?|stable-diffusion|models?_checkpoints?|ckpts?)$/i, 'Checkpoint'],
  [/^(embeddings?|textual[-_ ]?inversions?)$/i, 'TextualInversion'],
  [/^(hypernetworks?)$/i, 'Hypernetwork'],
  [/^(vae|vaes)$/i, 'VAE'],
  [/^(controlnets?|control[-_]?net)$/i, 'Controlnet'],
  [/^(upscale_models|upscalers?|esrgan|realesrgan)$/i, 'Upscaler'],
  [/^(motion[-_]?modules?|animatediff_models)$/i, 'MotionModule'],
];

/** The nearest folder that names a model type (ComfyUI/A1111 layouts: models/loras, models/Stable-diffusion…). */
export function typeFromFolders(folders: readonly string[]): ModelTypeName | null {
  for (const folder of [...folders].reverse()) {
    for (const [pattern, type] of FOLDER_TYPES) if (pattern.test(folder)) return type;
  }
  return null;
}
