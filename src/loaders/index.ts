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

export type LoaderOptions = ThumbnailLoaderOptions;

/**
 * A request's loaders, each family made on first use: most requests touch two or three of them (a search, a list
 * page), and making all of them — DataLoaders and their query pieces — for every request cost a measurable share
 * of a small request's time (`npm run bench`, search by name).
 */
export class Loaders {
  readonly #db: CatalogDatabase;
  readonly #options: LoaderOptions;
  #models?: ReturnType<typeof createModelLoaders>;
  #versions?: ReturnType<typeof createVersionLoaders>;
  #files?: ReturnType<typeof createFileLoaders>;
  #images?: ReturnType<typeof createImageLoaders>;
  #thumbnails?: ReturnType<typeof createThumbnailLoaders>;
  #triggerWords?: ReturnType<typeof createTriggerWordLoaders>;
  #creators?: ReturnType<typeof createCreatorLoaders>;
  #tags?: ReturnType<typeof createTagLoaders>;
  #hashes?: ReturnType<typeof createHashLoaders>;

  constructor(db: CatalogDatabase, options: LoaderOptions) {
    this.#db = db;
    this.#options = options;
  }

  get models() {
    return (this.#models ??= createModelLoaders(this.#db));
  }
  get versions() {
    return (this.#versions ??= createVersionLoaders(this.#db));
  }
  get files() {
    return (this.#files ??= createFileLoaders(this.#db));
  }
  get images() {
    return (this.#images ??= createImageLoaders(this.#db, (rows) => this.thumbnails.primeFromImageRows(rows)));
  }
  get thumbnails() {
    return (this.#thumbnails ??= createThumbnailLoaders(this.#db, this.#options));
  }
  get triggerWords() {
    return (this.#triggerWords ??= createTriggerWordLoaders(this.#db));
  }
  get creators() {
    return (this.#creators ??= createCreatorLoaders(this.#db));
  }
  get tags() {
    return (this.#tags ??= createTagLoaders(this.#db));
  }
  get hashes() {
    return (this.#hashes ??= createHashLoaders(this.#db));
  }
}

export function createLoaders(db: CatalogDatabase, options: LoaderOptions): Loaders {
  return new Loaders(db, options);
}
