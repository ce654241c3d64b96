/** Tag: a label shared by models, matched by its normalized (trimmed, lower-case) name. */
import type { Tag } from '../generated/prisma/client.ts';
import { tagFields, tagQueries, loadTagNodes } from '../resolvers/tag.ts';
import { builder } from './builder.ts';
import { pageComplexity } from './connections.ts';
import { ModelConnection, ModelNode, ModelOrderInput } from './model.ts';

/** A Relay node whose rows come from the request's loaders (see `src/resolvers/tag.ts`). */
export const TagNode = builder.nodeRef(
  builder.prismaObject('Tag', {
    fields: (t) => ({
      databaseId: t.exposeInt('id'),
      name: t.exposeString('name', { description: 'Display spelling (the first one seen).' }),
      normalizedName: t.exposeString('normalizedName'),
      modelCount: t.int({ resolve: tagFields.modelCount }),
    }),
  }),
  { id: { resolve: (tag: Tag) => tag.id }, loadMany: loadTagNodes },
);

export const TagConnection = builder.connectionObject({ type: TagNode, name: 'TagConnection' }, { name: 'TagEdge' });

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(TagNode, (t) => ({
  models: t.connection(
    {
      type: ModelNode,
      args: { orderBy: t.arg({ type: [ModelOrderInput] }) },
      complexity: pageComplexity,
      resolve: tagFields.models,
    },
    ModelConnection,
  ),
}));

builder.queryFields((t) => ({
  tag: t.field({
    type: TagNode,
    nullable: true,
    description: 'One tag by exactly one of `id`, `databaseId` or `name` (matched on the normalized name).',
    args: { id: t.arg.id(), databaseId: t.arg.int(), name: t.arg.string() },
    resolve: tagQueries.tag,
  }),
  tags: t.connection(
    {
      type: TagNode,
      description: 'Tags by normalized name.',
      args: { nameStartsWith: t.arg.string() },
      complexity: pageComplexity,
      resolve: tagQueries.tags,
    },
    TagConnection,
  ),
}));
