/** Resolvers of search, facets and library statistics: argument checks, then the search domain. */
import type { GraphQLResolveInfo } from 'graphql';
import type { PageArgs } from '../catalog/pagination.ts';
import type { ModelFilter } from '../db/lists.ts';
import { AppError } from '../errors.ts';
import { modelFacets } from '../search/facets.ts';
import { libraryStats } from '../search/library-stats.ts';
import { type SearchHit, searchModels } from '../search/search.ts';
import type { GraphQLContext } from './context.ts';
import { CONNECTION_NODE_PATHS, plannedRowFields } from './selection.ts';

export const MAX_FACET_TOP = 200;
export const DEFAULT_FACET_TOP = 20;

/** `top` of a facet, checked. */
export function facetTop(value: number | null | undefined): number {
  const n = value ?? DEFAULT_FACET_TOP;
  if (n < 1 || n > MAX_FACET_TOP) throw new AppError('BAD_USER_INPUT', `\`top\` is between 1 and ${MAX_FACET_TOP}.`);
  return n;
}

/** A search edge carries the hit beside the Relay fields. */
type SearchEdgeShape = { hit: SearchHit };
const hitOf = (edge: object) => (edge as SearchEdgeShape).hit;

export const searchEdgeFields = {
  score: (edge: object) => hitOf(edge).score,
  matchedFields: (edge: object) => hitOf(edge).matchedFields(),
  snippet: (edge: object) => hitOf(edge).snippet(),
};

export const searchQueries = {
  search: async (
    _root: unknown,
    args: PageArgs & { query: string; filter?: ModelFilter | null },
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) => {
    const result = await searchModels(
      ctx.db,
      args.query,
      args,
      args.filter,
      plannedRowFields(info, 'Model', CONNECTION_NODE_PATHS),
    );
    return {
      pageInfo: result.pageInfo,
      totalCount: result.totalCount,
      edges: result.edges.map((edge) => ({ cursor: edge.cursor, node: edge.node.model, hit: edge.node })),
    };
  },
  modelFacets: (_root: unknown, args: { filter?: ModelFilter | null }, ctx: GraphQLContext) =>
    modelFacets(ctx.db, args.filter),
  libraryStats: (_root: unknown, _args: unknown, ctx: GraphQLContext) => libraryStats(ctx.db),
};
