/** Model: the catalog's aggregate root — its type, look-ups and lists. */
import { CommercialUse, DataSource, ModelMode, ModelType, readEnum } from '../db/enums.ts';
import { modelFilterSql, modelOrdering, versionOrdering } from '../catalog/model-query.ts';
import { pageWindow } from '../catalog/pagination.ts';
import { rowMapper, selectFields, selectList } from '../db/row-mapping.ts';
import { CONNECTION_NODE_PATHS, plannedRowFields } from '../resolvers/selection.ts';
import { builder } from './builder.ts';
import { TagNode } from './tag.ts';
import { ModelVersionNode, ModelVersionOrderInput, ModelVersionConnection } from './model-version.ts';
import { loadPlannedImages, ModelImageNode } from './model-image.ts';
import { CreatorNode } from './creator.ts';
import { nestedConnection, pageComplexity, rootConnection } from './connections.ts';
import {
  BaseModelEnum,
  CommercialUseEnum,
  DataSourceEnum,
  ModelModeEnum,
  ModelTypeEnum,
  NsfwFilterEnum,
  OrderDirectionEnum,
  TagsModeEnum,
} from './enums.ts';
import { lookupKey } from '../resolvers/lookup.ts';
import { DeletedNode, idOf } from './mutation-results.ts';
import { deleteModel, setIgnoreUpdates, setModelTags, updateModel } from '../catalog/edits.ts';
import { ensureSearchIndexCurrent } from '../search/search-index.ts';

export const ModelOrderFieldEnum = builder.enumType('ModelOrderField', {
  description: 'Sort keys for model lists. Ties always break on the model id, so pages never skip or repeat.',
  values: {
    CREATED_AT: { description: 'When the model was added (default, newest first).' },
    UPDATED_AT: { description: 'When the model last changed.' },
    NAME: { description: 'Name, case-insensitive (ascending by default).' },
    DOWNLOADS: { description: 'Civitai downloads summed over all versions.' },
  } as const,
});

export const ModelOrderInput = builder.inputType('ModelOrder', {
  fields: (t) => ({
    field: t.field({ type: ModelOrderFieldEnum, required: true }),
    direction: t.field({
      type: OrderDirectionEnum,
      description: 'Defaults to DESC for dates and downloads, ASC for names.',
    }),
  }),
});

export const ModelFilterInput = builder.inputType('ModelFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    types: t.field({ type: [ModelTypeEnum], description: 'Any of these model types.' }),
    baseModels: t.field({ type: [BaseModelEnum], description: 'Has a version for any of these base models.' }),
    nsfw: t.field({ type: NsfwFilterEnum, description: 'Default INCLUDE.' }),
    creator: t.string({ description: 'Creator username, case-insensitive.' }),
    tags: t.stringList({ description: 'Tag names, case-insensitive; see `tagsMode`.' }),
    tagsMode: t.field({ type: TagsModeEnum, description: 'ALL (default) or ANY of `tags`.', defaultValue: 'ALL' }),
    source: t.field({ type: [DataSourceEnum], description: 'Any of these sources.' }),
    hasLocalFiles: t.boolean({ description: 'Has (true) or lacks (false) a present, verified local file.' }),
    createdAfter: t.field({ type: 'DateTime' }),
    createdBefore: t.field({ type: 'DateTime' }),
    nameContains: t.string({ description: 'Substring of the name, case-insensitive for ASCII.' }),
    query: t.string({
      description: "Full-text search, as `search(query:)` reads it (results keep this list's order).",
    }),
    hasUpdate: t.boolean({
      description: 'Has (true) or lacks (false) a newer Civitai version than the newest local one.',
    }),
  }),
});

const MODEL_SOURCE = { select: selectList('Model', 'm'), from: '"Models" m', map: rowMapper('Model') };

export const ModelNode = builder.prismaNode('Model', {
  id: { field: 'id' },
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The row id in the Models table.' }),
    civitaiId: t.exposeInt('civitaiId', { nullable: true }),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true, description: 'HTML, as Civitai serves it.' }),
    type: t.field({ type: ModelTypeEnum, resolve: (m) => readEnum(ModelType, m.type) }),
    isNsfw: t.exposeBoolean('isNsfw'),
    isPoi: t.exposeBoolean('isPoi', { description: 'Depicts a real person.' }),
    mode: t.field({ type: ModelModeEnum, resolve: (m) => readEnum(ModelMode, m.mode) }),
    source: t.field({ type: DataSourceEnum, resolve: (m) => readEnum(DataSource, m.source) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    lastSyncedAt: t.expose('lastSyncedAt', { type: 'DateTime', nullable: true }),
    allowNoCredit: t.exposeBoolean('allowNoCredit'),
    allowCommercialUse: t.field({
      type: CommercialUseEnum,
      resolve: (m) => readEnum(CommercialUse, m.allowCommercialUse),
    }),
    allowDerivatives: t.exposeBoolean('allowDerivatives'),
    allowDifferentLicense: t.exposeBoolean('allowDifferentLicense'),
    ignoreUpdates: t.boolean({
      description: 'The user asked not to be told about newer versions.',
      resolve: (m) => m.ignoreUpdates ?? false,
    }),
    hasUpdate: t.boolean({
      description:
        'Civitai has a version newer than the newest one with a present local file (known after a sync); false when ignored or with no local file.',
      resolve: async (m, _args, ctx) => (await ctx.loaders.models.hasUpdate.load(m.id)) === 1,
    }),
    versionCount: t.int({ resolve: (m, _args, ctx) => ctx.loaders.versions.countByModel.load(m.id) }),
    totalDownloads: t.int({
      description: 'Civitai downloads summed over all versions.',
      resolve: (m, _args, ctx) => ctx.loaders.versions.downloadsByModel.load(m.id),
    }),
  }),
});

export const ModelConnection = builder.connectionObject(
  { type: ModelNode, name: 'ModelConnection' },
  { name: 'ModelEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.prismaObjectFields(ModelNode, (t) => ({
  creator: t.field({
    type: CreatorNode,
    nullable: true,
    resolve: (m, _args, ctx) => (m.creatorId === null ? null : ctx.loaders.creators.byId.load(m.creatorId)),
  }),
  tags: t.field({ type: [TagNode], resolve: (m, _args, ctx) => ctx.loaders.tags.byModel.load(m.id) }),
  versions: t.connection(
    {
      type: ModelVersionNode,
      description: "The model's versions, newest first unless `orderBy` says otherwise.",
      args: { orderBy: t.arg({ type: [ModelVersionOrderInput] }) },
      complexity: pageComplexity,
      resolve: (m, args, ctx, info) =>
        nestedConnection(
          ctx.loaders.versions.pagesByModel,
          versionOrdering(args.orderBy),
          args,
          m.id,
          () => ctx.loaders.versions.countByModel.load(m.id),
          plannedRowFields(ctx, info, 'ModelVersion', CONNECTION_NODE_PATHS),
        ),
    },
    ModelVersionConnection,
  ),
  latestVersion: t.field({
    type: ModelVersionNode,
    nullable: true,
    description: 'The newest version by creation time.',
    resolve: async (m, _args, ctx, info) => {
      const ordering = versionOrdering(null);
      const page = await ctx.loaders.versions
        .pagesByModel(ordering, pageWindow({ first: 1 }, ordering), plannedRowFields(ctx, info, 'ModelVersion'))
        .load(m.id);
      return page.edges[0]?.node ?? null;
    },
  }),
  primaryImage: t.field({
    type: ModelImageNode,
    nullable: true,
    description: 'The primary image of the newest version that has images.',
    resolve: async (m, _args, ctx, info) => {
      const picked = await ctx.loaders.images.primaryByModel.load(m.id);
      return picked ? ((await loadPlannedImages(ctx, info, [picked]))[0] ?? null) : null;
    },
  }),
}));

builder.queryFields((t) => ({
  model: t.prismaField({
    type: ModelNode,
    nullable: true,
    description: 'One model by exactly one of `id`, `databaseId` or `civitaiId`; null when there is none.',
    args: { id: t.arg.id(), databaseId: t.arg.int(), civitaiId: t.arg.int() },
    resolve: (query, _root, args, ctx, info) => {
      const key = lookupKey('model', 'Model', args, { civitaiId: args.civitaiId });
      // By id through the request's batched loader (the planned columns only); by Civitai id through Prisma.
      return key.key
        ? ctx.db.prisma.model.findUnique({ ...query, where: { civitaiId: key.value } })
        : ctx.loaders.models.byId(plannedRowFields(ctx, info, 'Model')).load(key.id);
    },
  }),
  models: t.connection(
    {
      type: ModelNode,
      description: 'Models, filtered and ordered; keyset-paginated (20 per page by default, at most 100).',
      args: {
        filter: t.arg({ type: ModelFilterInput }),
        orderBy: t.arg({ type: [ModelOrderInput] }),
      },
      complexity: pageComplexity,
      resolve: async (_root, args, ctx, info) => {
        if (args.filter?.query != null) await ensureSearchIndexCurrent(ctx.db);
        const select = selectFields('Model', 'm', plannedRowFields(ctx, info, 'Model', CONNECTION_NODE_PATHS));
        return rootConnection(
          ctx.db,
          { ...MODEL_SOURCE, select, where: modelFilterSql(args.filter) },
          modelOrdering(args.orderBy),
          args,
        );
      },
    },
    ModelConnection,
  ),
}));

const UpdateModelInput = builder.inputType('UpdateModelInput', {
  description:
    'Fields to change; omitted or null fields stay as they are. Changed name, description, type, isNsfw and isPoi are protected from later syncs.',
  fields: (t) => ({
    name: t.string(),
    description: t.string({ description: 'HTML; an empty string clears it.' }),
    type: t.field({ type: ModelTypeEnum }),
    isNsfw: t.boolean(),
    isPoi: t.boolean(),
    mode: t.field({ type: ModelModeEnum }),
  }),
});

builder.mutationFields((t) => ({
  updateModel: t.prismaField({
    type: ModelNode,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateModelInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = idOf(String(args.id), 'Model');
      await updateModel(ctx.db, id, args.input);
      return ctx.db.prisma.model.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  deleteModel: t.field({
    type: DeletedNode,
    description: 'Deletes the model with its versions, files, images and trigger words.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const databaseId = idOf(String(args.id), 'Model');
      await deleteModel(ctx.db, databaseId);
      return { type: 'Model' as const, databaseId };
    },
  }),
  setIgnoreUpdates: t.prismaField({
    type: ModelNode,
    description: 'Stops (or resumes) reporting newer versions of this model through `hasUpdate`.',
    args: { id: t.arg.id({ required: true }), ignore: t.arg.boolean({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = idOf(String(args.id), 'Model');
      await setIgnoreUpdates(ctx.db, id, args.ignore);
      return ctx.db.prisma.model.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  setModelTags: t.prismaField({
    type: ModelNode,
    description:
      "Replaces the model's tags (matched case-insensitively; new tags are created). Protected from later syncs.",
    args: { id: t.arg.id({ required: true }), tags: t.arg.stringList({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = idOf(String(args.id), 'Model');
      await setModelTags(ctx.db, id, args.tags);
      return ctx.db.prisma.model.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
