/** Resolvers of Tag: its models, look-ups by id or name, and the list of tags. */
import type { GraphQLResolveInfo } from 'graphql';
import type { PageArgs } from '../catalog/pagination.ts';
import { type ModelOrderField, modelOrdering, type OrderInput, TAG_ORDERING, tagList } from '../db/lists.ts';
import { rowMapper } from '../db/row-mapping.ts';
import { normalizeTagName } from '../db/tables/tags.ts';
import type { Tag } from '../generated/prisma/client.ts';
import { nestedConnection, rootConnection } from './connections.ts';
import type { GraphQLContext } from './context.ts';
import { loadNodes, lookupKey } from './lookup.ts';
import { nestedPagePlan } from './selection.ts';

const mapTag = rowMapper('Tag');

export const tagFields = {
  modelCount: (tag: Tag, _args: unknown, ctx: GraphQLContext) => ctx.loaders.tags.modelCount.load(tag.id),
  models: (
    tag: Tag,
    args: PageArgs & { orderBy?: readonly OrderInput<ModelOrderField>[] | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) =>
    nestedConnection(
      ctx.loaders.models.pagesByTag,
      modelOrdering(ctx.db.dialect, args.orderBy),
      args,
      tag.id,
      () => ctx.loaders.tags.modelCount.load(tag.id),
      nestedPagePlan(info, 'Model'),
    ),
};

export const tagQueries = {
  tag: async (
    _root: unknown,
    args: { id?: string | null; databaseId?: number | null; name?: string | null },
    ctx: GraphQLContext,
  ) => {
    const key = lookupKey('tag', 'Tag', args, { name: args.name });
    const id = key.key ? await ctx.loaders.tags.idByNormalizedName.load(normalizeTagName(key.value)) : key.id;
    return id === null ? null : ctx.loaders.tags.byId.load(id);
  },
  tags: (_root: unknown, args: PageArgs & { nameStartsWith?: string | null }, ctx: GraphQLContext) =>
    rootConnection(
      ctx.db.statements,
      tagList(args.nameStartsWith == null ? '' : normalizeTagName(args.nameStartsWith)),
      mapTag,
      TAG_ORDERING,
      args,
    ),
};

/** Relay node loading (`node`, `nodes`): whole rows through the loader the look-ups share. */
export const loadTagNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('Tag', ctx.loaders.tags.byId, ids);
