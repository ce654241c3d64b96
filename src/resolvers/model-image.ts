/** Resolvers of ModelImage and its Thumbnail: rows by plan through the image loaders; bytes counted against the budget. */
import type { GraphQLResolveInfo } from 'graphql';
import { deleteModelImage, setImageThumbnail } from '../catalog/edits.ts';
import { AppError } from '../errors.ts';
import type { ModelImage } from '../generated/prisma/client.ts';
import type { PickedImage } from '../loaders/images.ts';
import { metaFromImageRow } from '../loaders/thumbnails.ts';
import { effectiveMimeType, thumbnailPath, type ThumbnailMeta } from '../thumbnails/facts.ts';
import type { GraphQLContext } from './context.ts';
import { idOf, loadNodes, lookupKey, referenced } from './lookup.ts';
import { plannedRowFields } from './selection.ts';

/** Loads the image SQL picked (none: null) with the columns the field's selection needs; null where the row vanished. */
export async function loadPlannedImage(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  picked: PickedImage | null,
): Promise<ModelImage | null> {
  if (!picked) return null;
  return (await ctx.loaders.images.rows(plannedRowFields(info, 'ModelImage')).load(picked.id)) ?? null;
}

export const thumbnailFields = {
  mimeType: async (thumb: ThumbnailMeta, _args: unknown, ctx: GraphQLContext) => {
    const head = await ctx.loaders.thumbnails.head.load(thumb.imageId);
    return head ? effectiveMimeType(head, thumb.storedMimeType) : (thumb.storedMimeType ?? 'application/octet-stream');
  },
  url: (thumb: ThumbnailMeta, _args: unknown, ctx: GraphQLContext) =>
    `${ctx.origin ?? ''}${thumbnailPath(thumb.imageId)}`,
  base64: async (thumb: ThumbnailMeta, _args: unknown, ctx: GraphQLContext) => {
    ctx.loaders.thumbnails.reserveBase64(thumb.byteSize);
    const bytes = await ctx.loaders.thumbnails.bytes.load(thumb.imageId);
    return bytes ? bytes.toString('base64') : '';
  },
  dataUri: async (thumb: ThumbnailMeta, _args: unknown, ctx: GraphQLContext) => {
    ctx.loaders.thumbnails.reserveBase64(thumb.byteSize);
    const bytes = await ctx.loaders.thumbnails.bytes.load(thumb.imageId);
    return bytes ? `data:${effectiveMimeType(bytes, thumb.storedMimeType)};base64,${bytes.toString('base64')}` : '';
  },
};

export const imageFields = {
  // A page's row carries the facts its selection planned (see `imagePagesByVersion`).
  thumbnail: (i: ModelImage, _args: unknown, ctx: GraphQLContext) =>
    'thumbnailByteSize' in i ? metaFromImageRow(i) : ctx.loaders.thumbnails.meta.load(i.id),
  version: (i: ModelImage, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    referenced(ctx.loaders.versions.byId(plannedRowFields(info, 'ModelVersion')), i.modelVersionId),
};

export const imageQueries = {
  modelImage: async (
    _root: unknown,
    args: { id?: string | null; databaseId?: number | null; civitaiId?: number | null },
    ctx: GraphQLContext,
  ) => {
    const key = lookupKey('modelImage', 'ModelImage', args, { civitaiId: args.civitaiId });
    // CivitaiId is not unique for images (the same image can belong to two versions): the oldest row answers.
    const id = key.key ? await ctx.loaders.images.idByCivitaiId.load(key.value) : key.id;
    return id === null ? null : ctx.loaders.images.rows().load(id);
  },
};

export const imageMutations = {
  setImageThumbnail: async (
    _root: unknown,
    args: { id: string; base64: string },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) => {
    const id = idOf(args.id, 'ModelImage');
    await setImageThumbnail(ctx.db, id, args.base64, {
      maxBytes: ctx.settings.maxThumbnailUploadBytes,
      thumbnailSide: ctx.settings.thumbnailSide,
    });
    ctx.loaders.thumbnails.forget(id);
    const image = await ctx.loaders.images.rows(plannedRowFields(info, 'ModelImage')).clear(id).load(id);
    if (!image) throw new AppError('NOT_FOUND', `Image ${id} no longer exists.`);
    return image;
  },
  deleteModelImage: async (_root: unknown, args: { id: string }, ctx: GraphQLContext) => {
    const databaseId = idOf(args.id, 'ModelImage');
    await deleteModelImage(ctx.db, databaseId);
    return { type: 'ModelImage' as const, databaseId };
  },
};

/** Relay node loading (`node`, `nodes`): whole rows through the loader the look-ups share. */
export const loadImageNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('ModelImage', ctx.loaders.images.rows(), ids);
