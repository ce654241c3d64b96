/**
 * Limits on query shape, sized for Relay documents: a frontend's nested page (models → versions → files/images →
 * thumbnails) stays well inside them, while a query multiplying pages of pages is refused before it runs.
 */
export interface QueryLimits {
  complexity: number;
  depth: number;
  breadth: number;
  aliases: number;
  tokens: number;
  directives: number;
  fieldsPerSelection: number;
  textNesting: number;
  nodeIds: number;
  listMultiplier: number;
}

/** The defaults; the first six can be changed through the environment (see `resolveQueryLimits` in config.ts). */
export const QUERY_LIMITS = {
  /** Sum over fields of (own cost + sub-selection cost × page size); `models(first: 100)` with a rich nested page ≈ 30k. */
  complexity: 100_000,
  depth: 16,
  /** Total number of selected fields in the document. */
  breadth: 1_500,
  /** Aliased fields per operation (hash look-ups by alias are better done with `filesByHashes`). */
  aliases: 50,
  /** Lexical tokens per document: generous for GraphiQL-written queries, fatal to megabyte garbage. */
  tokens: 10_000,
  directives: 50,
  /** Fields listed in one selection set: more only repeat fields (graphql-js compares every pair of them). */
  fieldsPerSelection: 200,
  /** Nesting of brackets in the query text (list literals, objects): the parser recurses once per level. */
  textNesting: 64,
  /** Ids `nodes(ids:)` takes at once (a page). */
  nodeIds: 100,
  /** Assumed size of plain lists (tags, files, trigger words). */
  listMultiplier: 5,
} as const satisfies QueryLimits;
