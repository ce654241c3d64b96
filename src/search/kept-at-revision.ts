/**
 * What the search index says about words, kept per catalog (its `probe`, shared by every request's view of it) for
 * one catalog revision. The index changes only when a write changes a model, and every such write raises the
 * revision (see `src/db/revision.ts`): a value read from an index brought up to date at revision N holds for as
 * long as the revision is N. Callers read the values they miss only after `ensureSearchIndexCurrent`, so that
 * nothing of documents still waiting is kept under a revision that already counts them.
 */
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { requestCatalogRevision, revisionStamp } from '../db/revision.ts';
import { KeptByKey } from '../memo.ts';

export class KeptAtRevision<V> {
  readonly #kept = new WeakMap<object, { revision: string; byKey: KeptByKey<V> }>();
  readonly #maxEntries: number;

  /** At most `maxEntries` per catalog, bounded as every memo is (see `KeptByKey`). */
  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** The values kept at the catalog's current revision (none yet when it moved on), or null when it has none. */
  async at(db: CatalogDatabase): Promise<KeptByKey<V> | null> {
    const read = await requestCatalogRevision(db);
    if (!read) return null;
    const revision = revisionStamp(read);
    let kept = this.#kept.get(db.probe);
    if (kept?.revision !== revision) {
      kept = { revision, byKey: new KeptByKey(this.#maxEntries) };
      this.#kept.set(db.probe, kept);
    }
    return kept.byKey;
  }
}
