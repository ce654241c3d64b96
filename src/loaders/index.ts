/**
 * Per-request DataLoaders: one factory per concern, created fresh for every request so caches never outlive it
 * (and writes are always seen by the next request).
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { createCreatorLoaders } from './creators.ts';
import { createFileLoaders } from './files.ts';
import { createHashLoaders } from './hashes.ts';
import { createImageLoaders } from './images.ts';
import { createModelLoaders } from './models.ts';
import { createTagLoaders } from './tags.ts';
import { createThumbnailLoaders, type ThumbnailLoaderOptions } from './thumbnails.ts';
import { createTriggerWordLoaders } from './trigger-words.ts';
import { createVersionLoaders } from './versions.ts';
import type { FieldNode } from 'graphql';
import type { RowFields } from './row-fields.ts';

export type LoaderOptions = ThumbnailLoaderOptions;

export function createLoaders(db: CatalogDatabase, options: LoaderOptions) {
  const thumbnails = createThumbnailLoaders(db, options);
  return {
    models: createModelLoaders(db),
    versions: createVersionLoaders(db),
    files: createFileLoaders(db),
    images: createImageLoaders(db, thumbnails.primeFromImageRows),
    thumbnails,
    triggerWords: createTriggerWordLoaders(db),
    creators: createCreatorLoaders(db),
    tags: createTagLoaders(db),
    hashes: createHashLoaders(db),
    /** Row-field plans by the field nodes they were planned for (see `plannedRowFields`); lives as long as the request. */
    rowFieldPlans: new Map<readonly FieldNode[], Map<string, RowFields>>(),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
