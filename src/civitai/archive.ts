/**
 * CivArchive's answers as Civitai payloads, so they go through the one mapping like everything else (the answer
 * itself is what the payload archive keeps).
 *
 * CivArchive publishes no schema. The shape read here is the one public clients of its `GET /api/sha256/:hash`
 * rely on (ComfyUI-Lora-Manager's CivArchive client): `{ model: { name, type, nsfw, description, tags, version: {
 * id, modelId, name, baseModel, trigger, files: [{ id, name, sizeKB, type, sha256, mirrors }], images } } }`; one
 * of its answers may also carry only a top-level `files` list naming the Civitai ids. Anything else is treated as
 * "the archive does not know it" rather than guessed at.
 */

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;

/** A file's first mirror that was not deleted. */
function liveMirror(file: Obj): Obj | undefined {
  const mirrors = Array.isArray(file.mirrors) ? file.mirrors : [];
  return mirrors.find((m): m is Obj => isObject(m) && m.deletedAt == null);
}

function civitaiFile(file: unknown, index: number, sha256: string): Obj | null {
  if (!isObject(file)) return null;
  const mirror = liveMirror(file);
  const name = text(file.name) ?? text(mirror?.filename);
  if (!name) return null;
  const hash = text(file.sha256) ?? (index === 0 ? sha256 : undefined);
  return {
    ...(positiveInt(file.id) ? { id: file.id } : {}),
    name,
    ...(typeof file.sizeKB === 'number' ? { sizeKB: file.sizeKB } : {}),
    type: text(file.type) ?? 'Model',
    primary: index === 0,
    ...(hash ? { hashes: { SHA256: hash.toUpperCase() } } : {}),
    ...(text(mirror?.url) ? { downloadUrl: mirror!.url } : {}),
  };
}

/**
 * The Civitai payload an archive answer for `sha256` describes, or null when it holds no version with Civitai ids
 * (the archive then knows nothing this catalog can use). A model payload when the answer names the model's name and
 * type (a model payload must have both), so its description and tags come along; else a version payload, which has
 * no place for them.
 */
export function payloadFromArchive(answer: unknown, sha256: string): Obj | null {
  if (!isObject(answer) || !isObject(answer.model)) return null;
  const model = answer.model;
  const version = isObject(model.version) ? model.version : null;
  if (!version) return null;
  const id = positiveInt(version.id);
  const modelId = positiveInt(version.modelId) ?? positiveInt(model.id);
  const name = text(version.name);
  if (!id || !modelId || !name) return null;
  const listed = Array.isArray(version.files) ? version.files : [];
  // An answer whose files name their SHA-256s, none of them this one, is about another file.
  const hashes = listed.flatMap((file) =>
    isObject(file) && text(file.sha256) ? [String(file.sha256).toUpperCase()] : [],
  );
  if (hashes.length > 0 && !hashes.includes(sha256.toUpperCase())) return null;
  const files = listed.map((file, i) => civitaiFile(file, i, sha256)).filter((file): file is Obj => file !== null);
  const words = version.trainedWords ?? version.trigger;
  const civitaiVersion = {
    id,
    modelId,
    name,
    ...(text(version.description) ? { description: version.description } : {}),
    ...(text(version.baseModel) ? { baseModel: version.baseModel } : {}),
    ...(Array.isArray(words) ? { trainedWords: words.filter((w) => typeof w === 'string') } : {}),
    ...(text(version.createdAt) ? { createdAt: version.createdAt } : {}),
    ...(text(version.publishedAt) ? { publishedAt: version.publishedAt } : {}),
    files,
    images: Array.isArray(version.images) ? version.images.filter((i) => isObject(i) && text(i.url)) : [],
  };
  const modelFacts = {
    ...(text(model.name) ? { name: model.name } : {}),
    ...(text(model.type) ? { type: model.type } : {}),
    ...(typeof model.nsfw === 'boolean' ? { nsfw: model.nsfw } : {}),
  };
  if (!modelFacts.name || !modelFacts.type) return { ...civitaiVersion, model: modelFacts };
  return {
    id: modelId,
    ...modelFacts,
    ...(text(model.description) ? { description: model.description } : {}),
    ...(Array.isArray(model.tags) ? { tags: model.tags.filter((t) => typeof t === 'string') } : {}),
    modelVersions: [civitaiVersion],
  };
}
