/**
 * Limits on query shape, sized for Relay documents: a frontend's nested page (models → versions → files/images →
 * thumbnails) stays well inside them, while a query multiplying pages of pages is refused before it runs.
 */
function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

export const QUERY_LIMITS = {
  /** Sum over fields of (own cost + sub-selection cost × page size); `models(first: 100)` with a rich nested page ≈ 30k. */
  complexity: envInt('DIFFUSION_NEXUS_MAX_COMPLEXITY', 100_000),
  depth: envInt('DIFFUSION_NEXUS_MAX_DEPTH', 16),
  /** Total number of selected fields in the document. */
  breadth: envInt('DIFFUSION_NEXUS_MAX_BREADTH', 1_500),
  /** Aliased fields per operation (hash look-ups by alias are better done with `filesByHashes`). */
  aliases: envInt('DIFFUSION_NEXUS_MAX_ALIASES', 50),
  /** Lexical tokens per document: generous for GraphiQL-written queries, fatal to megabyte garbage. */
  tokens: envInt('DIFFUSION_NEXUS_MAX_TOKENS', 10_000),
  directives: envInt('DIFFUSION_NEXUS_MAX_DIRECTIVES', 50),
  /** Fields listed in one selection set: more only repeat fields (graphql-js compares every pair of them). */
  fieldsPerSelection: 200,
  /** Nesting of brackets in the query text (list literals, objects): the parser recurses once per level. */
  textNesting: 64,
  /** Ids `nodes(ids:)` takes at once (a page). */
  nodeIds: 100,
  /** Assumed size of plain lists (tags, files, trigger words). */
  listMultiplier: 5,
} as const;
