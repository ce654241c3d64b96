/**
 * Memos for what requests repeat: a search's words, its cursors' scope, an operation's variables. Each is bounded
 * the same way: at most `max` entries; when full, all are dropped and keeping starts again (no order to maintain
 * per call).
 */

/** A bounded map of what was worked out, by key (see above). */
export class KeptByKey<T> {
  readonly #kept = new Map<string, T>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): T | undefined {
    return this.#kept.get(key);
  }

  has(key: string): boolean {
    return this.#kept.has(key);
  }

  set(key: string, value: T): void {
    if (this.#kept.size >= this.#max) this.#kept.clear();
    this.#kept.set(key, value);
  }
}

/**
 * A function of a short text remembered for the texts seen lately: each answer costs microseconds a request. Errors
 * are not kept: they are thrown anew.
 */
export function rememberedByText<T>(fn: (text: string) => T, max = 1000): (text: string) => T {
  const kept = new KeptByKey<T>(max);
  return (text) => {
    let value = kept.get(text);
    if (value === undefined) {
      value = fn(text);
      kept.set(text, value);
    }
    return value;
  };
}

/**
 * A function of an object remembered for as long as the object lives (a parsed search: `searchTerms` hands out one
 * frozen list per text, so what is worked out from it is worked out once per text while the text is remembered).
 */
export function rememberedByObject<K extends object, T>(fn: (key: K) => T): (key: K) => T {
  const kept = new WeakMap<K, T>();
  return (key) => {
    if (kept.has(key)) return kept.get(key) as T;
    const value = fn(key);
    kept.set(key, value);
    return value;
  };
}

/** What is kept per operation for its variables (complexity measures, coercions): a page's or a search's few. */
export const KEPT_PER_OPERATION = 256;

/** Longest variables, as JSON, worth a memo: longer ones (a list of hashes) are worked out each time. */
const MAX_VARIABLES_KEY_CHARS = 1024;

/**
 * At least how many characters `value`'s JSON holds, counted from `length` and given up on (a count past `limit` is
 * returned) as soon as it passes `limit`: a string's characters and quotes, a list's brackets and commas, a key's
 * quotes and colon — a list of a thousand hashes stops after a few of them. Values that are not plain JSON data (a
 * `toJSON`, a class instance) count nothing: they are left to `JSON.stringify`. A plain function (no closure per
 * call): it runs for every request's variables.
 */
function jsonLengthAtLeast(value: unknown, length: number, limit: number): number {
  if (typeof value === 'string') return length + value.length + 2;
  if (Array.isArray(value)) {
    let counted = length + value.length + 1;
    for (const item of value) {
      if (counted > limit) return counted;
      counted = jsonLengthAtLeast(item, counted, limit);
    }
    return counted;
  }
  if (value !== null && typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return length;
    let counted = length;
    for (const key in value) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      counted = jsonLengthAtLeast(item, counted + key.length + 4, limit);
      if (counted > limit) return counted;
    }
    return counted;
  }
  return length + 1;
}

/** Keys of variables objects already keyed: a request's plugins key its one variables object more than once. */
const keyOfObject = new WeakMap<object, string | null>();

/**
 * An operation's variables as a memo key (their JSON), or null when too long or not JSON (a BigInt). Callers treat
 * variables as read-only (as every plugin does), so an object's key is worked out once.
 */
export function variablesKey(values: unknown): string | null {
  if (values === null || typeof values !== 'object') return jsonKey(values);
  let key = keyOfObject.get(values);
  if (key === undefined) {
    key = jsonKey(values);
    keyOfObject.set(values, key);
  }
  return key;
}

function jsonKey(values: unknown): string | null {
  if (jsonLengthAtLeast(values, 0, MAX_VARIABLES_KEY_CHARS) > MAX_VARIABLES_KEY_CHARS) return null;
  try {
    const key = JSON.stringify(values ?? null);
    return key.length <= MAX_VARIABLES_KEY_CHARS ? key : null;
  } catch {
    return null;
  }
}
