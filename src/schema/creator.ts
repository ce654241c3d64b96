/** Creator: a Civitai user who published models. */
import type { Creator } from '../generated/prisma/client.ts';
import { creatorFields, creatorQueries, loadCreatorNodes } from '../resolvers/creator.ts';
import { builder } from './builder.ts';
import { pageComplexity } from './connections.ts';
import { ModelConnection, ModelNode, ModelOrderInput } from './model.ts';

/** A Relay node whose rows come from the request's loaders (see `src/resolvers/creator.ts`). */
export const CreatorNode = builder.nodeRef(
  builder.prismaObject('Creator', {
    fields: (t) => ({
      databaseId: t.exposeInt('id'),
      username: t.exposeString('username'),
      avatarUrl: t.exposeString('avatarUrl', { nullable: true }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the catalog first saw this creator.' }),
      modelCount: t.int({ resolve: creatorFields.modelCount }),
    }),
  }),
  { id: { resolve: (c: Creator) => c.id }, loadMany: loadCreatorNodes },
);

export const CreatorConnection = builder.connectionObject(
  { type: CreatorNode, name: 'CreatorConnection' },
  { name: 'CreatorEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(CreatorNode, (t) => ({
  models: t.connection(
    {
      type: ModelNode,
      args: { orderBy: t.arg({ type: [ModelOrderInput] }) },
      complexity: pageComplexity,
      resolve: creatorFields.models,
    },
    ModelConnection,
  ),
}));

builder.queryFields((t) => ({
  creator: t.field({
    type: CreatorNode,
    nullable: true,
    description: 'One creator by exactly one of `id`, `databaseId` or `username` (case-insensitive).',
    args: { id: t.arg.id(), databaseId: t.arg.int(), username: t.arg.string() },
    resolve: creatorQueries.creator,
  }),
  creators: t.connection(
    {
      type: CreatorNode,
      description: 'Creators by username (case-insensitive).',
      args: { usernameStartsWith: t.arg.string() },
      complexity: pageComplexity,
      resolve: creatorQueries.creators,
    },
    CreatorConnection,
  ),
}));
