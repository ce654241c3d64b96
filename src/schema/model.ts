/** Model: the catalog's aggregate root — its type, look-ups and lists. */
import { CommercialUse, DataSource, ModelMode, ModelType, readEnum } from '../db/enums.ts';
import type { Model } from '../generated/prisma/client.ts';
import { loadModelNodes, modelFields, modelMutations, modelQueries } from '../resolvers/model.ts';
import { builder } from './builder.ts';
import { pageComplexity } from './connections.ts';
import { CreatorNode } from './creator.ts';
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
import { ModelImageNode } from './model-image.ts';
import { ModelVersionConnection, ModelVersionNode, ModelVersionOrderInput } from './model-version.ts';
import { DeletedNode } from './mutation-results.ts';
import { TagNode } from './tag.ts';

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
    removedFromCivitai: t.boolean({
      description: 'Gone from Civitai (true): answered 404 after a sync, or archived or taken down there.',
    }),
  }),
});

/** A Relay node whose rows come from the request's loaders (see `src/resolvers/model.ts`). */
export const ModelNode = builder.nodeRef(
  builder.prismaObject('Model', {
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
      removedFromCivitaiAt: t.expose('removedFromCivitaiAt', {
        type: 'DateTime',
        nullable: true,
        description:
          'When Civitai answered 404 for this model after it had been synced, or when it was imported from CivArchive after such a 404 (every row is kept); cleared by the next successful sync. See also `mode`.',
      }),
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
        resolve: modelFields.hasUpdate,
      }),
      versionCount: t.int({ resolve: modelFields.versionCount }),
      totalDownloads: t.int({
        description: 'Civitai downloads summed over all versions.',
        resolve: modelFields.totalDownloads,
      }),
    }),
  }),
  { id: { resolve: (m: Model) => m.id }, loadMany: loadModelNodes },
);

export const ModelConnection = builder.connectionObject(
  { type: ModelNode, name: 'ModelConnection' },
  { name: 'ModelEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(ModelNode, (t) => ({
  creator: t.field({ type: CreatorNode, nullable: true, resolve: modelFields.creator }),
  tags: t.field({ type: [TagNode], resolve: modelFields.tags }),
  versions: t.connection(
    {
      type: ModelVersionNode,
      description: "The model's versions, newest first unless `orderBy` says otherwise.",
      args: { orderBy: t.arg({ type: [ModelVersionOrderInput] }) },
      complexity: pageComplexity,
      resolve: modelFields.versions,
    },
    ModelVersionConnection,
  ),
  latestVersion: t.field({
    type: ModelVersionNode,
    nullable: true,
    description: 'The newest version by creation time.',
    resolve: modelFields.latestVersion,
  }),
  primaryImage: t.field({
    type: ModelImageNode,
    nullable: true,
    description: 'The primary image of the newest version that has images.',
    resolve: modelFields.primaryImage,
  }),
}));

builder.queryFields((t) => ({
  model: t.field({
    type: ModelNode,
    nullable: true,
    description: 'One model by exactly one of `id`, `databaseId` or `civitaiId`; null when there is none.',
    args: { id: t.arg.id(), databaseId: t.arg.int(), civitaiId: t.arg.int() },
    resolve: modelQueries.model,
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
      resolve: modelQueries.models,
    },
    ModelConnection,
  ),
}));

const UpdateModelInput = builder.inputType('UpdateModelInput', {
  description:
    'Fields to change; omitted or null fields stay as they are. Changed name, description, type, isNsfw, isPoi and mode are protected from later syncs.',
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
  updateModel: t.field({
    type: ModelNode,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateModelInput, required: true }) },
    resolve: modelMutations.updateModel,
  }),
  deleteModel: t.field({
    type: DeletedNode,
    description: 'Deletes the model with its versions, files, images and trigger words.',
    args: { id: t.arg.id({ required: true }) },
    resolve: modelMutations.deleteModel,
  }),
  setIgnoreUpdates: t.field({
    type: ModelNode,
    description: 'Stops (or resumes) reporting newer versions of this model through `hasUpdate`.',
    args: { id: t.arg.id({ required: true }), ignore: t.arg.boolean({ required: true }) },
    resolve: modelMutations.setIgnoreUpdates,
  }),
  setModelTags: t.field({
    type: ModelNode,
    description:
      "Replaces the model's tags (matched case-insensitively; new tags are created). Protected from later syncs.",
    args: { id: t.arg.id({ required: true }), tags: t.arg.stringList({ required: true }) },
    resolve: modelMutations.setModelTags,
  }),
}));
