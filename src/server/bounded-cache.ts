/**
 * A least-recently-used map bounded by how many entries it holds and by the sum of their sizes (a text's characters,
 * an answer's JSON bytes): what requests can fill with their own input stays within both. An entry larger than
 * `maxEntrySize` is not kept at all: it would push out everything else, and is made again each time it is wanted.
 */
export interface BoundedCacheOptions<V> {
  maxEntries: number;
  maxSize: number;
  /** The largest entry kept (default: `maxSize`). */
  maxEntrySize?: number;
  /** An entry's size; the same every time it is asked, as an entry is never changed once set. */
  sizeOf(key: string, value: V): number;
  /** How many entries one counts as (default 1: the prepared operations of one text count each operation). */
  weightOf?(value: V): number;
}

export class BoundedCache<V> {
  readonly #kept = new Map<string, V>();
  readonly #options: Required<BoundedCacheOptions<V>>;
  #size = 0;
  #entries = 0;

  constructor(options: BoundedCacheOptions<V>) {
    this.#options = { maxEntrySize: options.maxSize, weightOf: () => 1, ...options };
  }

  /** The sizes of the entries kept, summed. */
  get totalSize(): number {
    return this.#size;
  }

  /** Entries kept, each counted by its weight. */
  get size(): number {
    return this.#entries;
  }

  get(key: string): V | undefined {
    const value = this.#kept.get(key);
    if (value !== undefined) {
      // Used again: last to go.
      this.#kept.delete(key);
      this.#kept.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#forget(key);
    const { maxEntries, maxSize, maxEntrySize, sizeOf, weightOf } = this.#options;
    const size = sizeOf(key, value);
    const weight = weightOf(value);
    if (size > maxEntrySize || size > maxSize || weight > maxEntries) return;
    for (const oldest of this.#kept.keys()) {
      if (this.#entries + weight <= maxEntries && this.#size + size <= maxSize) break;
      this.#forget(oldest);
    }
    this.#kept.set(key, value);
    this.#size += size;
    this.#entries += weight;
  }

  clear(): void {
    this.#kept.clear();
    this.#size = 0;
    this.#entries = 0;
  }

  #forget(key: string): void {
    const value = this.#kept.get(key);
    if (value === undefined) return;
    this.#kept.delete(key);
    this.#size -= this.#options.sizeOf(key, value);
    this.#entries -= this.#options.weightOf(value);
  }
}
