/**
 * yoga's parsed documents (and parse errors) kept by query text, bounded by the texts' characters as well as by
 * their number. yoga's own cache keeps 1,024 entries of any size, and a document keeps its whole source text (its
 * locations point into it): a query of a few fields padded with a comment to the body limit (1 MiB) is a megabyte
 * held per entry, so 1,024 such requests held about a gigabyte until they aged out. Here the texts kept add up to
 * at most `DOCUMENT_CACHE.maxChars`; the least recently used go first, and a text over the whole budget is parsed
 * each time it is sent rather than kept.
 */

/** How many texts, and how many of their characters in all, are kept. */
export const DOCUMENT_CACHE = { maxEntries: 1024, maxChars: 16 * 1024 * 1024 } as const;

/**
 * A least-recently-used map of values by text, bounded by entries and by the texts' characters (see above). An entry
 * counts as one, or as `weight(value)` (the prepared operations of one text count each operation): a value set is
 * never changed afterwards, so its weight stays what it was when it came in.
 */
export class TextBoundedCache<T> {
  readonly #kept = new Map<string, T>();
  readonly #maxEntries: number;
  readonly #maxChars: number;
  readonly #weight: (value: T) => number;
  #chars = 0;
  #entries = 0;

  constructor(
    maxEntries: number = DOCUMENT_CACHE.maxEntries,
    maxChars: number = DOCUMENT_CACHE.maxChars,
    weight: (value: T) => number = () => 1,
  ) {
    this.#maxEntries = maxEntries;
    this.#maxChars = maxChars;
    this.#weight = weight;
  }

  /** Characters of the texts kept. */
  get chars(): number {
    return this.#chars;
  }

  /** Entries kept, each counted by its weight. */
  get size(): number {
    return this.#entries;
  }

  get(text: string): T | undefined {
    const value = this.#kept.get(text);
    if (value !== undefined) {
      // Used again: last to go.
      this.#kept.delete(text);
      this.#kept.set(text, value);
    }
    return value;
  }

  set(text: string, value: T): void {
    this.#forget(text);
    const weight = this.#weight(value);
    if (text.length > this.#maxChars || weight > this.#maxEntries) return;
    for (const oldest of this.#kept.keys()) {
      if (this.#entries + weight <= this.#maxEntries && this.#chars + text.length <= this.#maxChars) break;
      this.#forget(oldest);
    }
    this.#kept.set(text, value);
    this.#chars += text.length;
    this.#entries += weight;
  }

  #forget(text: string): void {
    const value = this.#kept.get(text);
    if (value === undefined) return;
    this.#kept.delete(text);
    this.#chars -= text.length;
    this.#entries -= this.#weight(value);
  }
}
