/**
 * Keyset (cursor) pagination shared by every connection: argument validation, opaque cursors, and turning the rows
 * of a page into the Relay shape. Orderings are lists of sort keys ending with a unique id key, so every position is
 * exact and stable; the SQL that pages through them without OFFSET is `src/db/pages.ts`'s.
 */
import { hash } from 'node:crypto';
import type { Expression } from 'kysely';
import { AppError, limitExceeded } from '../errors.ts';
import { rememberedByObject, rememberedByText } from '../memo.ts';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

export type SortDirection = 'ASC' | 'DESC';
export type KeyValue = string | number;

export interface SortKey {
  /** What is sorted on (an expression of the data layer, never user text). */
  expression: Expression<unknown>;
  direction: SortDirection;
}

export interface Ordering {
  /** Identifies the ordering inside cursors, so a cursor from another ordering is rejected. */
  signature: string;
  /** The last key must be unique (the row id). */
  keys: SortKey[];
  /**
   * What else a cursor must have been made for, when the sort keys mean something only for one result set (a
   * search's rank is the rank for its words): a short hash, checked like the signature. Kept apart from
   * `signature`, which also names prepared statements — one per ordering, not one per search text.
   */
  scope?: string;
}

/** The short hash that binds cursors to `text` (see `Ordering.scope`): 6 µs a search under load, so remembered. */
export const cursorScope = rememberedByText((text) => hash('sha256', text, 'base64url').slice(0, 10));

/** `ordering` whose cursors are valid only for `text` (a search's match expression). */
export function scopedOrdering(ordering: Ordering, text: string): Ordering {
  return { ...ordering, scope: cursorScope(text) };
}

/** The ordering as a cursor names it. */
function cursorTag(ordering: Ordering): string {
  return ordering.scope === undefined ? ordering.signature : `${ordering.signature}#${ordering.scope}`;
}

/**
 * What a page reads besides its rows. A nested page whose query does not ask leaves these out: at every level of a
 * list page they are columns computed and rows read and joined for nothing.
 */
export interface PageReads {
  /**
   * Whether the row after the page is read too, to tell whether there is more in the paging direction
   * (`hasNextPage` forward, `hasPreviousPage` backward).
   */
  looksAhead: boolean;
  /** Whether each row's sort-key values are read, for cursors (`edges.cursor`, `pageInfo.startCursor`/`endCursor`). */
  cursors: boolean;
}

export interface PageWindow extends PageReads {
  /** `backward` pages come from `last`: query in reverse, then flip. */
  direction: 'forward' | 'backward';
  limit: number;
  after: KeyValue[] | null;
  before: KeyValue[] | null;
}

function checkCount(value: number | null | undefined, name: string, max: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 0)
    throw new AppError('BAD_USER_INPUT', `\`${name}\` must be a non-negative integer, got ${value}.`);
  if (value > max)
    throw limitExceeded(
      `\`${name}\` is at most ${max} per page, got ${value}. Page through the rest with cursors.`,
      max,
    );
  return value;
}

const CURSOR_PREFIX = 'dn1:';

/** Each ordering's cursor text up to its values (`dn1:["tag"`): a page makes a cursor per row with one ordering. */
const cursorHeads = new WeakMap<Ordering, string>();

/** `dn1:` and the JSON of `[tag, ...values]`, written without the intermediate array. */
export function encodeCursor(ordering: Ordering, values: readonly KeyValue[]): string {
  let text = cursorHeads.get(ordering);
  if (text === undefined) {
    text = `${CURSOR_PREFIX}[${JSON.stringify(cursorTag(ordering))}`;
    cursorHeads.set(ordering, text);
  }
  for (const value of values) text += `,${JSON.stringify(value)}`;
  return Buffer.from(`${text}]`, 'utf8').toString('base64url');
}

const isRowId = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

export function decodeCursor(cursor: string, ordering: Ordering, argName: string): KeyValue[] {
  const invalid = (why: string) =>
    new AppError(
      'BAD_USER_INPUT',
      `\`${argName}\` is not a valid cursor for this list (${why}). ` +
        // A search's list is ordered by rank for its words (no orderBy).
        (ordering.scope === undefined
          ? 'Use a cursor from this same query with the same orderBy.'
          : 'Use a cursor from this same search, for the same words.'),
    );
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw invalid('malformed');
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(CURSOR_PREFIX)) throw invalid('malformed');
  const json = text.slice(CURSOR_PREFIX.length);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('malformed');
  }
  // Only what `encodeCursor` writes: `1e0`, `2.0` or added spaces parse to the same values but no cursor of ours
  // is spelled so.
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || JSON.stringify(parsed) !== json)
    throw invalid('malformed');
  if (parsed[0] !== cursorTag(ordering)) {
    const sameOrdering = parsed[0].split('#')[0] === ordering.signature;
    throw invalid(sameOrdering ? 'it was made for another search text' : 'it belongs to another ordering');
  }
  const values = parsed.slice(1) as unknown[];
  if (
    values.length !== ordering.keys.length ||
    !values.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) ||
    // The last key is the row id, which cursors hold as a number: as text ("0x2", " 2", "1e0") SQLite would
    // compare it as text or convert it, and PostgreSQL might parse it or fail.
    !isRowId(values.at(-1))
  ) {
    throw invalid('malformed');
  }
  return values as KeyValue[];
}

/** A page read with everything a connection may be asked for. */
const READ_ALL: PageReads = { looksAhead: true, cursors: true };

/**
 * Validates Relay arguments (first/last in 0…MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE, never both) into the window
 * to read, with `reads` saying what beside the rows it reads (all of it unless told).
 */
export function pageWindow(args: PageArgs, ordering: Ordering, reads: PageReads = READ_ALL): PageWindow {
  const first = checkCount(args.first, 'first', MAX_PAGE_SIZE);
  const last = checkCount(args.last, 'last', MAX_PAGE_SIZE);
  if (first !== null && last !== null) throw new AppError('BAD_USER_INPUT', 'Pass either `first` or `last`, not both.');
  return {
    direction: last !== null ? 'backward' : 'forward',
    limit: last ?? first ?? DEFAULT_PAGE_SIZE,
    looksAhead: reads.looksAhead,
    cursors: reads.cursors,
    after: args.after ? decodeCursor(args.after, ordering, 'after') : null,
    before: args.before ? decodeCursor(args.before, ordering, 'before') : null,
  };
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Page<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** An edge whose cursor is encoded when it is read: most nested pages are asked for their nodes only. */
class PageEdge<R, T> implements Edge<T> {
  #cursor: string | undefined;
  readonly #row: R;
  readonly #ordering: Ordering;
  readonly #keyValues: ((row: R) => KeyValue[]) | null;
  readonly node: T;

  constructor(row: R, ordering: Ordering, keyValues: ((row: R) => KeyValue[]) | null, node: T) {
    this.node = node;
    this.#row = row;
    this.#ordering = ordering;
    this.#keyValues = keyValues;
  }

  get cursor(): string {
    this.#cursor ??= encodeCursor(this.#ordering, (this.#keyValues ?? unplanned('its sort keys'))(this.#row));
    return this.#cursor;
  }
}

/** What a page was read without (see `PageReads`) is unknown: asking for it is a defect of the plan. */
function unplanned(what: string): never {
  throw new Error(`The page was read without ${what}: its plan missed a field that needs them.`);
}

/**
 * Turns `limit + 1` rows (`limit` where the window does not look ahead) fetched in query order into a page.
 * `keyValues` reads a row's sort-key values (the same expressions as the ordering, selected as columns).
 */
export function toPage<R, T>(
  rows: R[],
  window: PageWindow,
  ordering: Ordering,
  keyValues: (row: R) => KeyValue[],
  node: (row: R) => T,
): Page<T> {
  const hasMore = rows.length > window.limit;
  const kept = hasMore ? rows.slice(0, window.limit) : rows;
  const forward = window.direction === 'forward';
  if (!forward) kept.reverse();
  const cursors = window.cursors ? keyValues : null;
  const edges: Edge<T>[] = kept.map((row) => new PageEdge(row, ordering, cursors, node(row)));
  return { edges, pageInfo: new PageFacts(edges, window, hasMore) };
}

/** A page's PageInfo, worked out when read (a class: made for every parent of a nested list). */
class PageFacts<T> implements PageInfo {
  readonly #edges: Edge<T>[];
  readonly #window: PageWindow;
  readonly #hasMore: boolean;

  constructor(edges: Edge<T>[], window: PageWindow, hasMore: boolean) {
    this.#edges = edges;
    this.#window = window;
    this.#hasMore = hasMore;
  }

  #more(): boolean {
    return this.#window.looksAhead ? this.#hasMore : unplanned('the row after it');
  }

  get hasNextPage(): boolean {
    return this.#window.direction === 'forward' ? this.#more() : this.#window.before !== null;
  }

  get hasPreviousPage(): boolean {
    return this.#window.direction === 'forward' ? this.#window.after !== null : this.#more();
  }

  get startCursor(): string | null {
    return this.#edges[0]?.cursor ?? null;
  }

  get endCursor(): string | null {
    return this.#edges.at(-1)?.cursor ?? null;
  }
}

/**
 * A row's sort-key values, selected beside it as `k0`, `k1`, … (see `src/db/pages.ts`); one reader per ordering (a
 * page asks for one per request, and reads it per row).
 */
export const keyValuesOf = rememberedByObject((ordering: Ordering): ((row: Record<string, unknown>) => KeyValue[]) => {
  const columns = ordering.keys.map((_, i) => `k${i}`);
  return (row) =>
    columns.map((column) => {
      const value = row[column];
      return typeof value === 'bigint' ? Number(value) : (value as KeyValue);
    });
});
