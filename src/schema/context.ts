import type { CatalogDatabase } from '../db/catalog-database.ts';
import type { Loaders } from '../loaders/index.ts';

/** What every resolver receives. Built per request by `src/server/context.ts`. */
export interface GraphQLContext {
  db: CatalogDatabase;
  loaders: Loaders;
}
