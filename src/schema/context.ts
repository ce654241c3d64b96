import type { CatalogDatabase } from '../db/catalog-database.ts';
import type { Loaders } from '../loaders/index.ts';

/** What every resolver receives. Built per request by the server. */
export interface GraphQLContext {
  db: CatalogDatabase;
  loaders: Loaders;
  /** `http://host:port` from the request's Host header (for absolute URLs), or null when absent or unusable. */
  origin: string | null;
}
