/**
 * ModelImage: a preview image with generation metadata, and its stored thumbnail. Images are read by the image
 * loaders with only the columns a query asks for — never the thumbnail BLOB, which only the thumbnail loaders (or
 * GET /thumbnails/:id) read.
 */
import { NsfwLevel, readEnum } from '../db/enums.ts';
import type { ModelImage } from '../generated/prisma/client.ts';
import {
  thumbnailFields,
  imageFields,
  imageMutations,
  imageQueries,
  loadImageNodes,
} from '../resolvers/model-image.ts';
import type { ThumbnailMeta } from '../thumbnails/facts.ts';
import { builder } from './builder.ts';
import { NsfwLevelEnum } from './enums.ts';
import { ModelVersionNode } from './model-version.ts';
import { DeletedNode } from './mutation-results.ts';

const Thumbnail = builder.objectRef<ThumbnailMeta>('Thumbnail').implement({
  description:
    'The small preview stored in the database. `url` is cheap; `base64`/`dataUri` carry the bytes in the response.',
  fields: (t) => ({
    mimeType: t.string({
      description: 'Detected from the bytes (the stored type can be wrong).',
      resolve: thumbnailFields.mimeType,
    }),
    width: t.int({ nullable: true, resolve: (thumb) => thumb.width }),
    height: t.int({ nullable: true, resolve: (thumb) => thumb.height }),
    byteSize: t.int({ resolve: (thumb) => thumb.byteSize }),
    blurHash: t.string({
      nullable: true,
      description: "A BlurHash placeholder to show while the thumbnail loads: the image's (`ModelImage.blurHash`).",
      resolve: (thumb) => thumb.blurHash,
    }),
    url: t.string({
      description: 'GET this for the bytes (ETag/304 caching). Absolute when the request carried a Host header.',
      resolve: thumbnailFields.url,
    }),
    base64: t.string({
      description: 'The bytes, base64-encoded. Counts against the per-response base64 budget.',
      resolve: thumbnailFields.base64,
    }),
    dataUri: t.string({
      description: '`data:<mimeType>;base64,…`, usable directly as an <img src>. Counts against the base64 budget.',
      resolve: thumbnailFields.dataUri,
    }),
  }),
});

/**
 * A Relay node whose rows come from the image loaders: only the columns the query planned (`plannedRowFields`), and
 * for `node(id:)` every column but the BLOB.
 */
export const ModelImageNode = builder.nodeRef(
  builder.prismaObject('ModelImage', {
    fields: (t) => ({
      databaseId: t.exposeInt('id'),
      civitaiId: t.exposeInt('civitaiId', { nullable: true }),
      url: t.exposeString('url', { description: 'The full image on Civitai (or wherever it came from).' }),
      isNsfw: t.exposeBoolean('isNsfw'),
      nsfwLevel: t.field({ type: NsfwLevelEnum, resolve: (i) => readEnum(NsfwLevel, i.nsfwLevel) }),
      width: t.exposeInt('width'),
      height: t.exposeInt('height'),
      aspectRatio: t.float({
        nullable: true,
        description: 'width / height; null when the height is unknown (0).',
        resolve: (i) => (i.height > 0 ? i.width / i.height : null),
      }),
      blurHash: t.exposeString('blurHash', { nullable: true }),
      sortOrder: t.exposeInt('sortOrder'),
      isPrimary: t.boolean({ description: 'First in display order (sortOrder 0).', resolve: (i) => i.sortOrder === 0 }),
      createdAt: t.expose('createdAt', { type: 'DateTime', nullable: true }),
      postId: t.exposeInt('postId', { nullable: true }),
      username: t.exposeString('username', { nullable: true }),
      thumbnail: t.field({
        type: Thumbnail,
        nullable: true,
        description: 'Null when no thumbnail is stored.',
        resolve: imageFields.thumbnail,
      }),
      localCachePath: t.exposeString('localCachePath', { nullable: true }),
      isLocalCacheValid: t.exposeBoolean('isLocalCacheValid'),
      cachedAt: t.expose('cachedAt', { type: 'DateTime', nullable: true }),
      cachedFileSize: t.expose('cachedFileSize', { type: 'BigInt', nullable: true }),
      prompt: t.exposeString('prompt', { nullable: true }),
      negativePrompt: t.exposeString('negativePrompt', { nullable: true }),
      seed: t.expose('seed', { type: 'BigInt', nullable: true }),
      steps: t.exposeInt('steps', { nullable: true }),
      sampler: t.exposeString('sampler', { nullable: true }),
      cfgScale: t.exposeFloat('cfgScale', { nullable: true }),
      generationModel: t.exposeString('generationModel', { nullable: true }),
      denoisingStrength: t.exposeFloat('denoisingStrength', { nullable: true }),
      likeCount: t.exposeInt('likeCount'),
      heartCount: t.exposeInt('heartCount'),
      commentCount: t.exposeInt('commentCount'),
    }),
  }),
  { id: { resolve: (i: ModelImage) => i.id }, loadMany: loadImageNodes },
);

export const ModelImageConnection = builder.connectionObject(
  { type: ModelImageNode, name: 'ModelImageConnection' },
  { name: 'ModelImageEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(ModelImageNode, (t) => ({
  version: t.field({ type: ModelVersionNode, resolve: imageFields.version }),
}));

builder.queryFields((t) => ({
  modelImage: t.field({
    type: ModelImageNode,
    nullable: true,
    args: { id: t.arg.id(), databaseId: t.arg.int(), civitaiId: t.arg.int() },
    resolve: imageQueries.modelImage,
  }),
}));

builder.mutationFields((t) => ({
  setImageThumbnail: t.field({
    type: ModelImageNode,
    description:
      'Stores a thumbnail (base64 or a data: URI of a WebP/PNG/JPEG/GIF/AVIF image, at most DIFFUSION_NEXUS_MAX_THUMBNAIL_BYTES).',
    args: { id: t.arg.id({ required: true }), base64: t.arg.string({ required: true }) },
    resolve: imageMutations.setImageThumbnail,
  }),
  deleteModelImage: t.field({
    type: DeletedNode,
    args: { id: t.arg.id({ required: true }) },
    resolve: imageMutations.deleteModelImage,
  }),
}));
