/** Resolver of Query.health: the same report as GET /health. */
import { readHealth } from '../db/health.ts';
import type { GraphQLContext } from './context.ts';

export const healthQueries = {
  health: (_root: unknown, _args: unknown, ctx: GraphQLContext) => readHealth(ctx.db),
};
