/** TriggerWord: a word that activates a version (LoRA, embedding) in a prompt. */
import { plannedRowFields } from '../resolvers/selection.ts';
import { builder } from './builder.ts';
import { ModelVersionNode } from './model-version.ts';

export const TriggerWordNode = builder.prismaNode('TriggerWord', {
  id: { field: 'id' },
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    word: t.exposeString('word'),
    order: t.exposeInt('order'),
  }),
});

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.prismaObjectFields(TriggerWordNode, (t) => ({
  version: t.field({
    type: ModelVersionNode,
    resolve: async (w, _args, ctx, info) =>
      (await ctx.loaders.versions.byId(plannedRowFields(ctx, info, 'ModelVersion')).load(w.modelVersionId))!,
  }),
}));
