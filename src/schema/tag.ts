/** Tag: a label shared by models, matched by its normalized (trimmed, lower-case) name. */
import { rowMapper, selectList } from '../db/row-mapping.ts';
import { modelOrdering, normalizeTagName, prefixRange, TAG_ORDERING } from '../catalog/model-query.ts';
import { CONNECTION_NODE_PATHS, plannedRowFields } from '../resolvers/selection.ts';
import { builder } from './builder.ts';
import { ModelNode, ModelOrderInput, ModelConnection } from './model.ts';
import { nestedConnection, pageComplexity, rootConnection } from './connections.ts';
import { lookupKey } from '../resolvers/lookup.ts';

const TAG_SOURCE = { select: selectList('Tag', 't'), from: '"Tags" t', map: rowMapper('Tag') };

export const TagNode = builder.prismaNode('Tag', {
  id: { field: 'id' },
  nullable: true,
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    name: t.exposeString('name', { description: 'Display spelling (the first one seen).' }),
    normalizedName: t.exposeString('normalizedName'),
    modelCount: t.int({ resolve: (tag, _args, ctx) => ctx.loaders.tags.modelCount.load(tag.id) }),
  }),
});

export const TagConnection = builder.connectionObject({ type: TagNode, name: 'TagConnection' }, { name: 'TagEdge' });

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.prismaObjectFields(TagNode, (t) => ({
  models: t.connection(
    {
      type: ModelNode,
      args: { orderBy: t.arg({ type: [ModelOrderInput] }) },
      complexity: pageComplexity,
      resolve: (tag, args, ctx, info) =>
        nestedConnection(
          ctx.loaders.models.pagesByTag,
          modelOrdering(args.orderBy),
          args,
          tag.id,
          () => ctx.loaders.tags.modelCount.load(tag.id),
          plannedRowFields(ctx, info, 'Model', CONNECTION_NODE_PATHS),
        ),
    },
    ModelConnection,
  ),
}));

builder.queryFields((t) => ({
  tag: t.prismaField({
    type: TagNode,
    nullable: true,
    description: 'One tag by exactly one of `id`, `databaseId` or `name` (matched on the normalized name).',
    args: { id: t.arg.id(), databaseId: t.arg.int(), name: t.arg.string() },
    resolve: (query, _root, args, ctx) => {
      const key = lookupKey('tag', 'Tag', args, { name: args.name });
      return ctx.db.prisma.tag.findUnique({
        ...query,
        where: key.key ? { normalizedName: normalizeTagName(key.value) } : { id: key.id },
      });
    },
  }),
  tags: t.connection(
    {
      type: TagNode,
      description: 'Tags by normalized name.',
      args: { nameStartsWith: t.arg.string() },
      complexity: pageComplexity,
      resolve: (_root, args, ctx) => {
        const prefix = args.nameStartsWith == null ? '' : normalizeTagName(args.nameStartsWith);
        const source = {
          ...TAG_SOURCE,
          where: prefix ? [prefixRange('t."NormalizedName"', prefix, 'nameStartsWith')] : [],
        };
        return rootConnection(ctx.db, source, TAG_ORDERING, args);
      },
    },
    TagConnection,
  ),
}));
