/**
 * Per-request DataLoaders: one factory per concern, created fresh for every request so caches never outlive it.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Loaders {}

export function createLoaders(_db: CatalogDatabase): Loaders {
  return {};
}
