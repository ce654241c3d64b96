/**
 * Checking the shape of JSON text before parsing it: JSON.parse of 64 MiB of `[[[…` or 22 million `{}` costs seconds
 * and gigabytes, a byte scan of the same text costs nothing. Used for request bodies (as they arrive) and for
 * sidecar files.
 */
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from './config.ts';
import { limitExceeded } from './errors.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * A byte-level scan of JSON text as it arrives: depth and value count (approximated by containers and commas,
 * which bounds what JSON.parse will build), and the raw text of the top-level `"query"` string member.
 */
export class JsonShapeScanner {
  #depth = 0;
  #values = 0;
  #inString = false;
  #escaped = false;
  /** At depth 1: whether the next string is a key. */
  #expectKey = false;
  #stringIsKey = false;
  #stringStart: Buffer[] | null = null;
  #lastKey = '';
  #query: string | null = null;

  readonly maxDepth: number;
  readonly maxValues: number;
  /** Whether the top-level `query` member is read (`query`); else strings are only skipped. */
  readonly #readsQuery: boolean;

  constructor({ readsQuery = false }: { readsQuery?: boolean } = {}) {
    this.maxDepth = MAX_JSON_DEPTH;
    this.maxValues = MAX_JSON_VALUES;
    this.#readsQuery = readsQuery;
  }

  /** The top-level `query` member's string, once it has arrived whole (read only when asked for: `readsQuery`). */
  get query(): string | null {
    return this.#query;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) {
          this.#inString = false;
          if (this.#stringStart) this.#endString(chunk.subarray(start, i + 1));
        }
        continue;
      }
      switch (byte) {
        case QUOTE:
          this.#inString = true;
          this.#stringIsKey = this.#depth === 1 && this.#expectKey;
          start = i;
          this.#stringStart = this.#depth === 1 && this.#readsQuery ? [] : null;
          break;
        case 0x7b: // {
        case 0x5b: // [
          this.#values++;
          if (++this.#depth > this.maxDepth) {
            throw limitExceeded(`JSON nests at most ${this.maxDepth} levels deep.`, this.maxDepth);
          }
          if (this.#depth === 1) this.#expectKey = byte === 0x7b;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.#depth--;
          break;
        case 0x2c: // ,
          this.#values++;
          if (this.#depth === 1) this.#expectKey = true;
          break;
        case 0x3a: // :
          if (this.#depth === 1) this.#expectKey = false;
          break;
        default:
          break;
      }
      if (this.#values > this.maxValues) {
        throw limitExceeded(`JSON holds at most ${this.maxValues} values.`, this.maxValues);
      }
    }
    // A string at depth 1 that continues into the next chunk: keep its start.
    if (this.#inString && this.#stringStart) this.#stringStart.push(chunk.subarray(start));
  }

  #endString(tail: Buffer): void {
    const pieces = this.#stringStart!;
    this.#stringStart = null;
    const raw = pieces.length ? Buffer.concat([...pieces, tail]) : tail;
    if (this.#stringIsKey) {
      this.#lastKey = raw.length < 16 ? raw.toString('utf8') : '';
      return;
    }
    if (this.#lastKey === '"query"' && this.#query === null) {
      try {
        this.#query = JSON.parse(raw.toString('utf8')) as string;
      } catch {
        this.#query = '';
      }
    }
    this.#lastKey = '';
  }
}

/** Parses JSON text after checking its shape (LIMIT_EXCEEDED when it nests too deep or holds too many values). */
export function parseCheckedJson(bytes: Buffer): unknown {
  new JsonShapeScanner().push(bytes);
  return JSON.parse(bytes.toString('utf8')) as unknown;
}
