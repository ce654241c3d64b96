/** Resolvers of Creator: its models, look-ups by id or username, and the list of creators. */
import type { GraphQLResolveInfo } from 'graphql';
import type { PageArgs } from '../catalog/pagination.ts';
import { CREATOR_ORDERING, creatorList, type ModelOrderField, modelOrdering, type OrderInput } from '../db/lists.ts';
import { rowMapper } from '../db/row-mapping.ts';
import type { Creator } from '../generated/prisma/client.ts';
import { nestedConnection, rootConnection } from './connections.ts';
import type { GraphQLContext } from './context.ts';
import { loadNodes, lookupKey } from './lookup.ts';
import { nestedPagePlan } from './selection.ts';

const mapCreator = rowMapper('Creator');

export const creatorFields = {
  modelCount: (c: Creator, _args: unknown, ctx: GraphQLContext) => ctx.loaders.creators.modelCount.load(c.id),
  models: (
    c: Creator,
    args: PageArgs & { orderBy?: readonly OrderInput<ModelOrderField>[] | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) =>
    nestedConnection(
      ctx.loaders.models.pagesByCreator,
      modelOrdering(ctx.db.dialect, args.orderBy),
      args,
      c.id,
      () => ctx.loaders.creators.modelCount.load(c.id),
      nestedPagePlan(info, 'Model'),
    ),
};

export const creatorQueries = {
  creator: async (
    _root: unknown,
    args: { id?: string | null; databaseId?: number | null; username?: string | null },
    ctx: GraphQLContext,
  ) => {
    const key = lookupKey('creator', 'Creator', args, { username: args.username });
    const id = key.key ? await ctx.loaders.creators.idByUsername.load(key.value.trim().toLowerCase()) : key.id;
    return id === null ? null : ctx.loaders.creators.byId.load(id);
  },
  creators: (_root: unknown, args: PageArgs & { usernameStartsWith?: string | null }, ctx: GraphQLContext) =>
    rootConnection(
      ctx.db.statements,
      creatorList(args.usernameStartsWith?.trim().toLowerCase() ?? ''),
      mapCreator,
      CREATOR_ORDERING,
      args,
    ),
};

/** Relay node loading (`node`, `nodes`): whole rows through the loader the look-ups share. */
export const loadCreatorNodes = (ids: readonly (string | number)[], ctx: GraphQLContext) =>
  loadNodes('Creator', ctx.loaders.creators.byId, ids);
