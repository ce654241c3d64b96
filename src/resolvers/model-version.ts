/** Resolvers of ModelVersion: its model, files, images and trigger words through the loaders; look-ups, list, mutation. */
import type { GraphQLResolveInfo } from 'graphql';
import type { PageArgs } from '../catalog/pagination.ts';
import { setTriggerWords } from '../catalog/edits.ts';
import {
  IMAGE_ORDERING,
  type ModelVersionFilter,
  type ModelVersionOrderField,
  type OrderInput,
  versionList,
  versionOrdering,
} from '../db/lists.ts';
import { rowMapper } from '../db/row-mapping.ts';
import type { ModelVersion, TriggerWord } from '../generated/prisma/client.ts';
import { nestedConnection, rootConnection } from './connections.ts';
import type { GraphQLContext } from './context.ts';
import { idOf, loadNodes, lookupKey, referenced } from './lookup.ts';
import { loadPlannedImage } from './model-image.ts';
import { nestedPagePlan, plannedRowFields } from './selection.ts';

const mapVersion = rowMapper('ModelVersion');

export const versionFields = {
  triggerWordsText: async (v: ModelVersion, _args: unknown, ctx: GraphQLContext) =>
    (await ctx.loaders.triggerWords.byVersion.load(v.id)).map((w) => w.word).join(', '),
  model: (v: ModelVersion, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    referenced(ctx.loaders.models.byId(plannedRowFields(info, 'Model')), v.modelId),
  files: (v: ModelVersion, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    ctx.loaders.files.byVersion(plannedRowFields(info, 'ModelFile')).load(v.id),
  primaryFile: async (v: ModelVersion, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    (await ctx.loaders.files.byVersion(plannedRowFields(info, 'ModelFile')).load(v.id))[0] ?? null,
  images: (v: ModelVersion, args: PageArgs, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    nestedConnection(
      ctx.loaders.images.pagesByVersion,
      IMAGE_ORDERING,
      args,
      v.id,
      () => ctx.loaders.images.countByVersion.load(v.id),
      nestedPagePlan(info, 'ModelImage'),
    ),
  primaryImage: async (v: ModelVersion, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    loadPlannedImage(ctx, info, await ctx.loaders.images.primaryByVersion.load(v.id)),
  triggerWords: (v: ModelVersion, _args: unknown, ctx: GraphQLContext) => ctx.loaders.triggerWords.byVersion.load(v.id),
};

export const versionQueries = {
  modelVersion: async (
    _root: unknown,
    args: { id?: string | null; databaseId?: number | null; civitaiId?: number | null },
    ctx: GraphQLContext,
  ) => {
    const key = lookupKey('modelVersion', 'ModelVersion', args, { civitaiId: args.civitaiId });
    const id = key.key ? await ctx.loaders.versions.idByCivitaiId.load(key.value) : key.id;
    return id === null ? null : ctx.loaders.versions.byId().load(id);
  },
  modelVersions: (
    _root: unknown,
    args: PageArgs & {
      filter?: ModelVersionFilter | null;
      orderBy?: readonly OrderInput<ModelVersionOrderField>[] | null;
    },
    ctx: GraphQLContext,
  ) =>
    rootConnection(
      ctx.db.statements,
      versionList(ctx.db.dialect, args.filter),
      mapVersion,
      versionOrdering(ctx.db.dialect, args.orderBy),
      args,
    ),
};

export const versionMutations = {
  setTriggerWords: async (_root: unknown, args: { id: string; words: readonly string[] }, ctx: GraphQLContext) => {
    const id = idOf(args.id, 'ModelVersion');
    await setTriggerWords(ctx.db, id, args.words, { jobId: ctx.requestId });
    const version = await ctx.loaders.versions.byId().clear(id).load(id);
    if (!version) throw new Error(`Model version ${id} vanished after it was written.`);
    return version;
  },
};

export const triggerWordFields = {
  version: (w: TriggerWord, _args: unknown, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
    referenced(ctx.loaders.versions.byId(plannedRowFields(info, 'ModelVersion')), w.modelVersionId),
};

/** Relay node loading (`node`, `nodes`): whole rows through the loader the look-ups share. */
export const loadVersionNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('ModelVersion', ctx.loaders.versions.byId(), ids);
export const loadTriggerWordNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('TriggerWord', ctx.loaders.triggerWords.byId, ids);
