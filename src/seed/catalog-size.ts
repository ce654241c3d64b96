/**
 * How large a generated catalog is, and the demo catalog's size: apart from the generator (which loads sharp), so
 * that `seed --help` can show the defaults without loading it.
 */
import type { ThumbnailProfile } from './thumbnail-pool.ts';

export interface CatalogSize {
  models: number;
  versionsPerModel: number;
  filesPerVersion: number;
  imagesPerVersion: number;
  creators: number;
  tags: number;
  thumbnails: ThumbnailProfile;
}

export const TEST_CATALOG: CatalogSize = {
  models: 60,
  versionsPerModel: 4,
  filesPerVersion: 2,
  imagesPerVersion: 4,
  creators: 12,
  tags: 24,
  thumbnails: 'tiny',
};
