/** TriggerWord: a word that activates a version (LoRA, embedding) in a prompt. */
import type { TriggerWord } from '../generated/prisma/client.ts';
import { loadTriggerWordNodes, triggerWordFields } from '../resolvers/model-version.ts';
import { builder } from './builder.ts';
import { ModelVersionNode } from './model-version.ts';

/** A Relay node whose rows come from the request's loaders. */
export const TriggerWordNode = builder.nodeRef(
  builder.prismaObject('TriggerWord', {
    fields: (t) => ({
      databaseId: t.exposeInt('id'),
      word: t.exposeString('word'),
      order: t.exposeInt('order'),
    }),
  }),
  { id: { resolve: (w: TriggerWord) => w.id }, loadMany: loadTriggerWordNodes },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(TriggerWordNode, (t) => ({
  version: t.field({ type: ModelVersionNode, resolve: triggerWordFields.version }),
}));
