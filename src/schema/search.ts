/** Finding models: ranked full-text search, facet counts for a filter, and library-wide statistics. */
import { AppError } from '../errors.ts';
import { libraryStats, type LibraryStats } from '../search/library-stats.ts';
import { modelFacets, type FacetCount, type ModelFacets } from '../search/facets.ts';
import { searchModels, type SearchHit } from '../search/search.ts';
import { CONNECTION_NODE_PATHS, plannedRowFields } from '../resolvers/selection.ts';
import { SEARCH_COLUMNS } from '../search/search-index.ts';
import { builder } from './builder.ts';
import { pageComplexity } from './connections.ts';
import { ModelFilterInput, ModelNode } from './model.ts';

const SearchFieldEnum = builder.enumType('SearchField', {
  description: 'The parts of a model the search looks at (ranked in this order; example prompts count least).',
  values: Object.fromEntries(
    SEARCH_COLUMNS.map((c) => [c.replace(/[A-Z]/g, (l) => `_${l}`).toUpperCase(), { value: c }]),
  ) as Record<string, { value: (typeof SEARCH_COLUMNS)[number] }>,
});

const FacetCountRef = builder.objectRef<FacetCount>('FacetCount').implement({
  fields: (t) => ({ value: t.exposeString('value'), count: t.exposeInt('count') }),
});

const MAX_TOP = 200;

/** A search edge carries the hit beside the Relay fields. */
type SearchEdgeShape = { hit: SearchHit };
const hitOf = (edge: object) => (edge as SearchEdgeShape).hit;

const ModelFacetsRef = builder.objectRef<ModelFacets>('ModelFacets').implement({
  description: 'Counts of the models the filter selects, by dimension. Each is computed only when selected.',
  fields: (t) => {
    const top = { top: t.arg.int({ defaultValue: 20, description: `At most ${MAX_TOP}.` }) };
    const checkTop = (value: number | null | undefined) => {
      const n = value ?? 20;
      if (n < 1 || n > MAX_TOP) throw new AppError('BAD_USER_INPUT', `\`top\` is between 1 and ${MAX_TOP}.`);
      return n;
    };
    return {
      total: t.int({ resolve: (f) => f.total() }),
      byType: t.field({ type: [FacetCountRef], resolve: (f) => f.byType() }),
      byBaseModel: t.field({
        type: [FacetCountRef],
        description: 'Models with at least one version for the base model.',
        resolve: (f) => f.byBaseModel(),
      }),
      byNsfw: t.field({
        type: [FacetCountRef],
        description: "`SFW` / `NSFW` by the model's flag.",
        resolve: (f) => f.byNsfw(),
      }),
      byNsfwLevel: t.field({
        type: [FacetCountRef],
        description: "By the highest NSFW level among the model's images.",
        resolve: (f) => f.byNsfwLevel(),
      }),
      byTag: t.field({ type: [FacetCountRef], args: top, resolve: (f, args) => f.byTag(checkTop(args.top)) }),
      byCreator: t.field({ type: [FacetCountRef], args: top, resolve: (f, args) => f.byCreator(checkTop(args.top)) }),
      bySource: t.field({ type: [FacetCountRef], resolve: (f) => f.bySource() }),
      byHasLocalFiles: t.field({
        type: [FacetCountRef],
        description: '`true` / `false`.',
        resolve: (f) => f.byHasLocalFiles(),
      }),
    };
  },
});

const LibraryStatsRef = builder.objectRef<LibraryStats>('LibraryStats').implement({
  fields: (t) => ({
    models: t.exposeInt('models'),
    versions: t.exposeInt('versions'),
    files: t.exposeInt('files'),
    localFilesValid: t.exposeInt('localFilesValid', {
      description: 'Catalog files with a present, verified local copy.',
    }),
    localFilesMissing: t.exposeInt('localFilesMissing', {
      description: 'Catalog files whose local copy was not found at the last check.',
    }),
    localBytes: t.field({
      type: 'BigInt',
      description: 'Total size of the present local files.',
      resolve: (s) => BigInt(s.localBytes),
    }),
    images: t.exposeInt('images'),
    thumbnails: t.exposeInt('thumbnails'),
    thumbnailBytes: t.field({ type: 'BigInt', resolve: (s) => BigInt(s.thumbnailBytes) }),
    databaseBytes: t.field({
      type: 'BigInt',
      description: 'The database file and its write-ahead log.',
      resolve: (s) => BigInt(s.databaseBytes),
    }),
    byBaseModel: t.field({
      type: [FacetCountRef],
      description: 'Versions per base model.',
      resolve: (s) => s.byBaseModel,
    }),
  }),
});

builder.queryFields((t) => ({
  search: t.connection(
    {
      type: ModelNode,
      description:
        'Models ranked by relevance (bm25). Words must all match; `"two words"` is a phrase; `sty*` a prefix. ' +
        'Any text is safe: punctuation and search operators are read as words. Combine with `filter` like `models`.',
      args: { query: t.arg.string({ required: true }), filter: t.arg({ type: ModelFilterInput }) },
      complexity: pageComplexity,
      resolve: async (_root, args, ctx, info) => {
        const result = await searchModels(
          ctx.db,
          args.query,
          args,
          args.filter,
          plannedRowFields(ctx, info, 'Model', CONNECTION_NODE_PATHS),
        );
        return {
          pageInfo: result.pageInfo,
          totalCount: result.totalCount,
          edges: result.edges.map((edge) => ({ cursor: edge.cursor, node: edge.node.model, hit: edge.node })),
        };
      },
    },
    { name: 'SearchConnection' },
    {
      name: 'SearchEdge',
      fields: (edge) => ({
        score: edge.float({ description: 'Relevance: higher is better.', resolve: (e) => hitOf(e).score }),
        matchedFields: edge.field({ type: [SearchFieldEnum], resolve: (e) => hitOf(e).matchedFields() }),
        snippet: edge.string({
          description: 'HTML-escaped text around the best match, with matches in <mark>…</mark>.',
          resolve: (e) => hitOf(e).snippet(),
        }),
      }),
    },
  ),
  modelFacets: t.field({
    type: ModelFacetsRef,
    args: { filter: t.arg({ type: ModelFilterInput }) },
    resolve: (_root, args, ctx) => modelFacets(ctx.db, args.filter),
  }),
  libraryStats: t.field({ type: LibraryStatsRef, resolve: (_root, _args, ctx) => libraryStats(ctx.db) }),
}));
