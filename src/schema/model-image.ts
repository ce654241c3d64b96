/**
 * ModelImage: a preview image with generation metadata, and its stored thumbnail. Declared in Prisma's `select`
 * mode so a Prisma-loaded image reads only the columns a query asks for — never the thumbnail BLOB, which only
 * the thumbnail loaders (or GET /thumbnails/:id) read.
 */
import { NsfwLevel, readEnum } from '../db/enums.ts';
import { effectiveMimeType, thumbnailPath, type ThumbnailMeta } from '../resolvers/thumbnails.ts';
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { ModelImage } from '../generated/prisma/client.ts';
import type { ImageQuery, PickedImage } from '../loaders/images.ts';
import type { GraphQLContext } from './context.ts';
import { builder } from './builder.ts';
import { ModelVersionNode } from './model-version.ts';
import { NsfwLevelEnum } from './enums.ts';
import { lookupKey } from './lookup.ts';
import { DeletedNode, idOf } from './mutation-results.ts';
import { deleteModelImage, setImageThumbnail } from '../resolvers/catalog-edits.ts';

const Thumbnail = builder.objectRef<ThumbnailMeta>('Thumbnail').implement({
  description: 'The small preview stored in the database. `url` is cheap; `base64`/`dataUri` carry the bytes in the response.',
  fields: (t) => ({
    mimeType: t.string({
      description: 'Detected from the bytes (the stored type can be wrong).',
      resolve: async (thumb, _args, ctx) => {
        const head = await ctx.loaders.thumbnails.head.load(thumb.imageId);
        return head ? effectiveMimeType(head, thumb.storedMimeType) : thumb.storedMimeType ?? 'application/octet-stream';
      },
    }),
    width: t.int({ nullable: true, resolve: (thumb) => thumb.width }),
    height: t.int({ nullable: true, resolve: (thumb) => thumb.height }),
    byteSize: t.int({ resolve: (thumb) => thumb.byteSize }),
    url: t.string({
      description: 'GET this for the bytes (ETag/304 caching). Absolute when the request carried a Host header.',
      resolve: (thumb, _args, ctx) => `${ctx.origin ?? ''}${thumbnailPath(thumb.imageId)}`,
    }),
    base64: t.string({
      description: 'The bytes, base64-encoded. Counts against the per-response base64 budget.',
      resolve: async (thumb, _args, ctx) => {
        ctx.loaders.thumbnails.reserveBase64(thumb.byteSize);
        const bytes = await ctx.loaders.thumbnails.bytes.load(thumb.imageId);
        return bytes ? bytes.toString('base64') : '';
      },
    }),
    dataUri: t.string({
      description: '`data:<mimeType>;base64,…`, usable directly as an <img src>. Counts against the base64 budget.',
      resolve: async (thumb, _args, ctx) => {
        ctx.loaders.thumbnails.reserveBase64(thumb.byteSize);
        const bytes = await ctx.loaders.thumbnails.bytes.load(thumb.imageId);
        return bytes ? `data:${effectiveMimeType(bytes, thumb.storedMimeType)};base64,${bytes.toString('base64')}` : '';
      },
    }),
  }),
});

export const ModelImageNode = builder.prismaNode('ModelImage', {
  id: { field: 'id' },
  nullable: true,
  select: { id: true },
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    civitaiId: t.exposeInt('civitaiId', { nullable: true }),
    url: t.exposeString('url', { description: 'The full image on Civitai (or wherever it came from).' }),
    isNsfw: t.exposeBoolean('isNsfw'),
    nsfwLevel: t.field({ type: NsfwLevelEnum, select: { nsfwLevel: true }, resolve: (i) => readEnum(NsfwLevel, i.nsfwLevel) }),
    width: t.exposeInt('width'),
    height: t.exposeInt('height'),
    aspectRatio: t.float({
      nullable: true,
      description: 'width / height; null when the height is unknown (0).',
      select: { width: true, height: true },
      resolve: (i) => (i.height > 0 ? i.width / i.height : null),
    }),
    blurHash: t.exposeString('blurHash', { nullable: true }),
    sortOrder: t.exposeInt('sortOrder'),
    isPrimary: t.boolean({ description: 'First in display order (sortOrder 0).', select: { sortOrder: true }, resolve: (i) => i.sortOrder === 0 }),
    createdAt: t.expose('createdAt', { type: 'DateTime', nullable: true }),
    postId: t.exposeInt('postId', { nullable: true }),
    username: t.exposeString('username', { nullable: true }),
    thumbnail: t.field({
      type: Thumbnail,
      nullable: true,
      description: 'Null when no thumbnail is stored.',
      resolve: (i, _args, ctx) => ctx.loaders.thumbnails.meta.load(i.id),
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
});

export const ModelImageConnection = builder.connectionObject({ type: ModelImageNode, name: 'ModelImageConnection' }, { name: 'ModelImageEdge' });

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.prismaObjectFields(ModelImageNode, (t) => ({
  version: t.field({
    type: ModelVersionNode,
    select: { modelVersionId: true },
    resolve: async (i, _args, ctx) => (await ctx.loaders.versions.byId.load(i.modelVersionId))!,
  }),
}));

/** Where a connection's nodes sit in the selection: under `edges { node }` and under `nodes`. */
export const CONNECTION_NODE_PATHS = [['edges', 'node'], ['nodes']];

/**
 * Loads images SQL picked, through Prisma with the selection plugin-prisma planned for the field being resolved
 * (`paths` leads from that field to the images). Results keep the order of `picked`; null where a row vanished.
 */
export function loadPlannedImages(ctx: GraphQLContext, info: GraphQLResolveInfo, picked: readonly PickedImage[], paths: string[][] = [[]]): Promise<(ModelImage | null)[]> {
  if (picked.length === 0) return Promise.resolve([]);
  const query = queryFromInfo({ context: ctx, info, typeName: 'ModelImage', paths }) as ImageQuery;
  const rows = ctx.loaders.images.rows(query);
  return Promise.all(picked.map((image) => rows.load(image.id)));
}

builder.queryFields((t) => ({
  modelImage: t.prismaField({
    type: ModelImageNode,
    nullable: true,
    args: { id: t.arg.id(), databaseId: t.arg.int(), civitaiId: t.arg.int() },
    resolve: (query, _root, args, ctx) => {
      const key = lookupKey('modelImage', 'ModelImage', args, { civitaiId: args.civitaiId });
      // CivitaiId is not unique for images (the same image can belong to two versions): take the oldest row.
      if (key.key) return ctx.db.prisma.modelImage.findFirst({ ...query, where: { civitaiId: key.value }, orderBy: { id: 'asc' } });
      return ctx.db.prisma.modelImage.findUnique({ ...query, where: { id: key.id } });
    },
  }),
}));

builder.mutationFields((t) => ({
  setImageThumbnail: t.prismaField({
    type: ModelImageNode,
    description: 'Stores a thumbnail (base64 or a data: URI of a WebP/PNG/JPEG/GIF/AVIF image, at most DIFFUSION_NEXUS_MAX_THUMBNAIL_BYTES).',
    args: { imageId: t.arg.id({ required: true }), base64: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = idOf(String(args.imageId), 'ModelImage');
      await setImageThumbnail(ctx.db, id, args.base64, ctx.settings.maxThumbnailUploadBytes);
      return ctx.db.prisma.modelImage.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  deleteModelImage: t.field({
    type: DeletedNode,
    args: { imageId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => {
      const databaseId = idOf(String(args.imageId), 'ModelImage');
      deleteModelImage(ctx.db, databaseId);
      return { type: 'ModelImage' as const, databaseId };
    },
  }),
}));
