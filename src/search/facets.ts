/** Facet counts for a filter: the search index is brought up to date first when the filter searches. */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type ModelFacets, modelFacets as facetsOf } from '../db/facets.ts';
import type { ModelFilter } from '../db/lists.ts';
import { ensureSearchIndexFor } from './search-index.ts';

export type { FacetCount, ModelFacets } from '../db/facets.ts';

export async function modelFacets(db: CatalogDatabase, filter: ModelFilter | null | undefined): Promise<ModelFacets> {
  await ensureSearchIndexFor(db, filter?.query);
  return facetsOf(db, filter);
}
