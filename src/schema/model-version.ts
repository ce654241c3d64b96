/** ModelVersion: a published version of a model, with its files, images and trigger words. */
import { BaseModel, readEnum } from '../db/enums.ts';
import type { ModelVersion } from '../generated/prisma/client.ts';
import { loadVersionNodes, versionFields, versionMutations, versionQueries } from '../resolvers/model-version.ts';
import { builder } from './builder.ts';
import { pageComplexity } from './connections.ts';
import { BaseModelEnum, ModelTypeEnum, OrderDirectionEnum } from './enums.ts';
import { ModelNode } from './model.ts';
import { ModelFileNode } from './model-file.ts';
import { ModelImageConnection, ModelImageNode } from './model-image.ts';
import { TriggerWordNode } from './trigger-word.ts';

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

/** A Relay node whose rows come from the request's loaders (see `src/resolvers/model-version.ts`). */
export const ModelVersionNode = builder.nodeRef(
  builder.prismaObject('ModelVersion', {
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
      removedFromCivitaiAt: t.expose('removedFromCivitaiAt', {
        type: 'DateTime',
        nullable: true,
        description:
          'When Civitai answered 404 for this version after it had been synced, or when it was imported from CivArchive after such a 404; cleared by the next successful sync.',
      }),
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
        resolve: versionFields.triggerWordsText,
      }),
    }),
  }),
  { id: { resolve: (v: ModelVersion) => v.id }, loadMany: loadVersionNodes },
);

export const ModelVersionConnection = builder.connectionObject(
  { type: ModelVersionNode, name: 'ModelVersionConnection' },
  { name: 'ModelVersionEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(ModelVersionNode, (t) => ({
  model: t.field({ type: ModelNode, resolve: versionFields.model }),
  files: t.field({ type: [ModelFileNode], description: 'Primary file first.', resolve: versionFields.files }),
  primaryFile: t.field({
    type: ModelFileNode,
    nullable: true,
    description: 'The file marked primary, else the first one.',
    resolve: versionFields.primaryFile,
  }),
  images: t.connection(
    {
      type: ModelImageNode,
      description: 'Preview images in display order (`sortOrder`).',
      complexity: pageComplexity,
      resolve: versionFields.images,
    },
    ModelImageConnection,
  ),
  primaryImage: t.field({
    type: ModelImageNode,
    nullable: true,
    description: 'The first safe-for-work still image, else the first image.',
    resolve: versionFields.primaryImage,
  }),
  triggerWords: t.field({
    type: [TriggerWordNode],
    description: 'In their order.',
    resolve: versionFields.triggerWords,
  }),
}));

builder.queryFields((t) => ({
  modelVersion: t.field({
    type: ModelVersionNode,
    nullable: true,
    description: 'One version by exactly one of `id`, `databaseId` or `civitaiId`.',
    args: { id: t.arg.id(), databaseId: t.arg.int(), civitaiId: t.arg.int() },
    resolve: versionQueries.modelVersion,
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
      resolve: versionQueries.modelVersions,
    },
    ModelVersionConnection,
  ),
}));

builder.mutationFields((t) => ({
  setTriggerWords: t.field({
    type: ModelVersionNode,
    description: "Replaces the version's trigger words, in this order. Protected from later syncs.",
    args: { id: t.arg.id({ required: true }), words: t.arg.stringList({ required: true }) },
    resolve: versionMutations.setTriggerWords,
  }),
}));
