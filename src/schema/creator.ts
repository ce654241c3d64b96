/** Creator: a Civitai user who published models. */
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { CREATOR_ORDERING, modelOrdering, prefixRange } from '../catalog/model-query.ts';
import { CONNECTION_NODE_PATHS, plannedRowFields } from '../resolvers/selection.ts';
import { builder } from './builder.ts';
import { ModelNode, ModelOrderInput, ModelConnection } from './model.ts';
import { nestedConnection, pageComplexity, rootConnection } from './connections.ts';
import { lookupKey } from '../resolvers/lookup.ts';

const CREATOR_SOURCE = { select: selectList('Creator', 'c'), from: '"Creators" c', map: rowMapper('Creator') };

export const CreatorNode = builder.prismaNode('Creator', {
  id: { field: 'id' },
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    username: t.exposeString('username'),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the catalog first saw this creator.' }),
    modelCount: t.int({ resolve: (c, _args, ctx) => ctx.loaders.creators.modelCount.load(c.id) }),
  }),
});

export const CreatorConnection = builder.connectionObject(
  { type: CreatorNode, name: 'CreatorConnection' },
  { name: 'CreatorEdge' },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.prismaObjectFields(CreatorNode, (t) => ({
  models: t.connection(
    {
      type: ModelNode,
      args: { orderBy: t.arg({ type: [ModelOrderInput] }) },
      complexity: pageComplexity,
      resolve: (c, args, ctx, info) =>
        nestedConnection(
          ctx.loaders.models.pagesByCreator,
          modelOrdering(args.orderBy),
          args,
          c.id,
          () => ctx.loaders.creators.modelCount.load(c.id),
          plannedRowFields(ctx, info, 'Model', CONNECTION_NODE_PATHS),
        ),
    },
    ModelConnection,
  ),
}));

builder.queryFields((t) => ({
  creator: t.prismaField({
    type: CreatorNode,
    nullable: true,
    description: 'One creator by exactly one of `id`, `databaseId` or `username` (case-insensitive).',
    args: { id: t.arg.id(), databaseId: t.arg.int(), username: t.arg.string() },
    resolve: async (query, _root, args, ctx) => {
      const key = lookupKey('creator', 'Creator', args, { username: args.username });
      if (!key.key) return ctx.db.prisma.creator.findUnique({ ...query, where: { id: key.id } });
      const row = ctx.db
        .statement(
          `SELECT c."Id" AS "id" FROM "Creators" c WHERE lower(c."Username") = lower(?) ORDER BY c."Id" LIMIT 1`,
        )
        .get(key.value.trim()) as { id: number } | undefined;
      return row ? ctx.db.prisma.creator.findUnique({ ...query, where: { id: row.id } }) : null;
    },
  }),
  creators: t.connection(
    {
      type: CreatorNode,
      description: 'Creators by username (case-insensitive).',
      args: { usernameStartsWith: t.arg.string() },
      complexity: pageComplexity,
      resolve: (_root, args, ctx) => {
        const prefix = args.usernameStartsWith?.trim().toLowerCase();
        const source = {
          ...CREATOR_SOURCE,
          where: prefix ? [prefixRange('lower(c."Username")', prefix, 'usernameStartsWith')] : [],
        };
        return rootConnection(ctx.db, source, CREATOR_ORDERING, args);
      },
    },
    CreatorConnection,
  ),
}));
