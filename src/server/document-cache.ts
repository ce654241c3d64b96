/**
 * yoga's parsed documents (and parse errors) kept by query text, bounded by the texts' characters as well as by
 * their number. yoga's own cache keeps 1,024 entries of any size, and a document keeps its whole source text (its
 * locations point into it): a query of a few fields padded with a comment to the body limit (1 MiB) is a megabyte
 * held per entry, so 1,024 such requests held about a gigabyte until they aged out. Here the texts kept add up to
 * at most `DOCUMENT_CACHE.maxChars`; the least recently used go first, and a text over the whole budget is parsed
 * each time it is sent rather than kept.
 */
import { BoundedCache } from './bounded-cache.ts';

/** How many texts, and how many of their characters in all, are kept. */
export const DOCUMENT_CACHE = { maxEntries: 1024, maxChars: 16 * 1024 * 1024 } as const;

/**
 * Values by text, bounded by entries and by the texts' characters (see above). An entry counts as one, or as
 * `weight(value)` (the prepared operations of one text count each operation).
 */
export class TextBoundedCache<T> extends BoundedCache<T> {
  constructor(
    maxEntries: number = DOCUMENT_CACHE.maxEntries,
    maxChars: number = DOCUMENT_CACHE.maxChars,
    weight: (value: T) => number = () => 1,
  ) {
    super({ maxEntries, maxSize: maxChars, sizeOf: (text) => text.length, weightOf: weight });
  }

  /** Characters of the texts kept. */
  get chars(): number {
    return this.totalSize;
  }
}
