/** Finding models: ranked full-text search, facet counts for a filter, and library-wide statistics. */
import { DEFAULT_FACET_TOP, facetTop, MAX_FACET_TOP, searchEdgeFields, searchQueries } from '../resolvers/search.ts';
import type { FacetCount, ModelFacets } from '../search/facets.ts';
import type { LibraryStats } from '../search/library-stats.ts';
import { SEARCH_COLUMNS } from '../search/search.ts';
import { builder } from './builder.ts';
import { notCoveredByRevision } from './revision-coverage.ts';
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

const ModelFacetsRef = builder.objectRef<ModelFacets>('ModelFacets').implement({
  description: 'Counts of the models the filter selects, by dimension. Each is computed only when selected.',
  fields: (t) => {
    const top = { top: t.arg.int({ defaultValue: DEFAULT_FACET_TOP, description: `At most ${MAX_FACET_TOP}.` }) };
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
      byTag: t.field({ type: [FacetCountRef], args: top, resolve: (f, args) => f.byTag(facetTop(args.top)) }),
      byCreator: t.field({ type: [FacetCountRef], args: top, resolve: (f, args) => f.byCreator(facetTop(args.top)) }),
      bySource: t.field({ type: [FacetCountRef], resolve: (f) => f.bySource() }),
      byHasLocalFiles: t.field({
        type: [FacetCountRef],
        description: '`true` / `false`.',
        resolve: (f) => f.byHasLocalFiles(),
      }),
      byRemovedFromCivitai: t.field({
        type: [FacetCountRef],
        description: '`true` / `false`: gone from Civitai (404 after a sync, archived or taken down).',
        resolve: (f) => f.byRemovedFromCivitai(),
      }),
    };
  },
});

const LibraryStatsRef = builder.objectRef<LibraryStats>('LibraryStats').implement({
  fields: (t) => ({
    models: t.exposeInt('models'),
    removedFromCivitai: t.exposeInt('removedFromCivitai', {
      description: 'Models gone from Civitai: answered 404 after a sync, archived or taken down.',
    }),
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
      extensions: notCoveredByRevision('the size of the database file changes with any write and with checkpoints'),
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
        'Models ranked by relevance (bm25 on SQLite, ts_rank_cd on PostgreSQL). Words must all match; `"two words"` is a phrase; `sty*` a prefix. ' +
        'Any text is safe: punctuation and search operators are read as words. Combine with `filter` like `models`.',
      args: { query: t.arg.string({ required: true }), filter: t.arg({ type: ModelFilterInput }) },
      complexity: pageComplexity,
      resolve: searchQueries.search,
    },
    { name: 'SearchConnection' },
    {
      name: 'SearchEdge',
      fields: (edge) => ({
        score: edge.float({ description: 'Relevance: higher is better.', resolve: searchEdgeFields.score }),
        matchedFields: edge.field({ type: [SearchFieldEnum], resolve: searchEdgeFields.matchedFields }),
        snippet: edge.string({
          description: 'HTML-escaped text around the best match, with matches in <mark>…</mark>.',
          resolve: searchEdgeFields.snippet,
        }),
      }),
    },
  ),
  modelFacets: t.field({
    type: ModelFacetsRef,
    args: { filter: t.arg({ type: ModelFilterInput }) },
    resolve: searchQueries.modelFacets,
  }),
  libraryStats: t.field({ type: LibraryStatsRef, resolve: searchQueries.libraryStats }),
}));
