/** ModelVersion: a published version of a model, with its files, images and trigger words. */
import { BaseModel, readEnum } from '../db/enums.ts';
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { IMAGE_ORDERING, versionFilterSql, versionOrdering } from '../catalog/model-query.ts';
import { pageWindow } from '../catalog/pagination.ts';
import { builder } from './builder.ts';
import { TriggerWordNode } from './trigger-word.ts';
import { loadPlannedImages, ModelImageConnection, ModelImageNode } from './model-image.ts';
import { CONNECTION_NODE_PATHS, plannedRowFields } from '../resolvers/selection.ts';
import { ModelFileNode } from './model-file.ts';
import { ModelNode } from './model.ts';
import { pageComplexity, rootConnection, withTotalCount } from './connections.ts';
import { BaseModelEnum, ModelTypeEnum, OrderDirectionEnum } from './enums.ts';
import { lookupKey } from '../resolvers/lookup.ts';
import { idOf } from './mutation-results.ts';
import { setTriggerWords } from '../catalog/edits.ts';

export const ModelVersionOrderFieldEnum = builder.enumType('ModelVersionOrderField', {
  values: {
    CREATED_AT: { description: 'When the version was created (default, newest first).' },
    NAME: { description: 'Version name, case-insensitive.' },
    DOWNLOADS: { description: 'Civitai downloads of this version.' },
  } as const,
});

export const ModelVersionOrderInput = builder.inputType('ModelVersionOrder', {
  fields: (t) => ({
    field: t.field({ type: ModelVersionOrderFieldEnum, required: true }),
    direction: t.field({ type: OrderDirectionEnum }),
  }),
});

export const ModelVersionFilterInput = builder.inputType('ModelVersionFilter', {
  fields: (t) => ({
    baseModels: t.field({ type: [BaseModelEnum] }),
    modelTypes: t.field({ type: [ModelTypeEnum] }),
    hasLocalFiles: t.boolean({ description: 'Has (true) or lacks (false) a present, verified local file.' }),
  }),
});

const VERSION_SOURCE = {
  select: selectList('ModelVersion', 'v'),
  from: '"ModelVersions" v',
  map: rowMapper('ModelVersion'),
};

export const ModelVersionNode = builder.prismaNode('ModelVersion', {
  id: { field: 'id' },
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    civitaiId: t.exposeInt('civitaiId', { nullable: true }),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    baseModel: t.field({ type: BaseModelEnum, resolve: (v) => readEnum(BaseModel, v.baseModel) }),
    baseModelRaw: t.exposeString('baseModelRaw', {
      nullable: true,
      description: 'The base model as Civitai spelled it.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime', nullable: true }),
    downloadUrl: t.exposeString('downloadUrl', { nullable: true }),
    earlyAccessDays: t.exposeInt('earlyAccessDays'),
    downloadCount: t.exposeInt('downloadCount'),
    ratingCount: t.exposeInt('ratingCount'),
    rating: t.exposeFloat('rating'),
    thumbsUpCount: t.exposeInt('thumbsUpCount'),
    thumbsDownCount: t.exposeInt('thumbsDownCount'),
    triggerWordsText: t.string({
      description: 'The trigger words joined with ", ", ready to paste into a prompt.',
      resolve: async (v, _args, ctx) =>
        (await ctx.loaders.triggerWords.byVersion.load(v.id)).map((w) => w.word).join(', '),
    }),
  }),
});

export const ModelVersionConnection = builder.connectionObject(
  { type: ModelVersionNode, name: 'ModelVersionConnection' },
  { name: 'ModelVersionEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.prismaObjectFields(ModelVersionNode, (t) => ({
  model: t.field({
    type: ModelNode,
    resolve: async (v, _args, ctx, info) =>
      (await ctx.loaders.models.byId(plannedRowFields(ctx, info, 'Model')).load(v.modelId))!,
  }),
  files: t.field({
    type: [ModelFileNode],
    description: 'Primary file first.',
    resolve: (v, _args, ctx, info) => ctx.loaders.files.byVersion(plannedRowFields(ctx, info, 'ModelFile')).load(v.id),
  }),
  primaryFile: t.field({
    type: ModelFileNode,
    nullable: true,
    description: 'The file marked primary, else the first one.',
    resolve: async (v, _args, ctx, info) =>
      (await ctx.loaders.files.byVersion(plannedRowFields(ctx, info, 'ModelFile')).load(v.id))[0] ?? null,
  }),
  images: t.connection(
    {
      type: ModelImageNode,
      description: 'Preview images in display order (`sortOrder`).',
      complexity: pageComplexity,
      resolve: async (v, args, ctx, info) => {
        const page = await ctx.loaders.images
          .pagesByVersion(IMAGE_ORDERING, pageWindow(args, IMAGE_ORDERING))
          .load(v.id);
        const loaded = await loadPlannedImages(
          ctx,
          info,
          page.edges.map((edge) => edge.node),
          CONNECTION_NODE_PATHS,
        );
        // A row deleted between the two statements simply drops out of the page.
        const edges = page.edges.flatMap((edge, i) => (loaded[i] ? [{ cursor: edge.cursor, node: loaded[i] }] : []));
        return withTotalCount({ ...page, edges }, () => ctx.loaders.images.countByVersion.load(v.id));
      },
    },
    ModelImageConnection,
  ),
  primaryImage: t.field({
    type: ModelImageNode,
    nullable: true,
    description: 'The first safe-for-work still image, else the first image.',
    resolve: async (v, _args, ctx, info) => {
      const picked = await ctx.loaders.images.primaryByVersion.load(v.id);
      return picked ? ((await loadPlannedImages(ctx, info, [picked]))[0] ?? null) : null;
    },
  }),
  triggerWords: t.field({
    type: [TriggerWordNode],
    description: 'In their order.',
    resolve: (v, _args, ctx) => ctx.loaders.triggerWords.byVersion.load(v.id),
  }),
}));

builder.queryFields((t) => ({
  modelVersion: t.prismaField({
    type: ModelVersionNode,
    nullable: true,
    description: 'One version by exactly one of `id`, `databaseId` or `civitaiId`.',
    args: { id: t.arg.id(), databaseId: t.arg.int(), civitaiId: t.arg.int() },
    resolve: (query, _root, args, ctx) => {
      const key = lookupKey('modelVersion', 'ModelVersion', args, { civitaiId: args.civitaiId });
      return ctx.db.prisma.modelVersion.findUnique({
        ...query,
        where: key.key ? { civitaiId: key.value } : { id: key.id },
      });
    },
  }),
  modelVersions: t.connection(
    {
      type: ModelVersionNode,
      description: 'Versions across all models, newest first by default.',
      args: {
        filter: t.arg({ type: ModelVersionFilterInput }),
        orderBy: t.arg({ type: [ModelVersionOrderInput] }),
      },
      complexity: pageComplexity,
      resolve: (_root, args, ctx) => {
        const ordering = versionOrdering(args.orderBy);
        const source = { ...VERSION_SOURCE, where: versionFilterSql(args.filter) };
        return rootConnection(ctx.db, source, ordering, args);
      },
    },
    ModelVersionConnection,
  ),
}));

builder.mutationFields((t) => ({
  setTriggerWords: t.prismaField({
    type: ModelVersionNode,
    description: "Replaces the version's trigger words, in this order. Protected from later syncs.",
    args: { versionId: t.arg.id({ required: true }), words: t.arg.stringList({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = idOf(String(args.versionId), 'ModelVersion');
      await setTriggerWords(ctx.db, id, args.words);
      return ctx.db.prisma.modelVersion.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
