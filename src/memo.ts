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
 * Whether `value`'s JSON is surely longer than `limit` characters, found without writing it: the walk counts at most
 * what the JSON holds (a string's characters and quotes, a list's brackets and commas, a key's quotes and colon), and
 * stops as soon as the count passes the limit — a list of a thousand hashes after a few of them. Values that are not
 * plain JSON data (a `toJSON`, a class instance) are left to `JSON.stringify`.
 */
function surelyLongerThan(value: unknown, limit: number): boolean {
  let length = 0;
  const walk = (v: unknown): boolean => {
    if (typeof v === 'string') length += v.length + 2;
    else if (Array.isArray(v)) {
      length += v.length + 1;
      for (const item of v) if (length > limit || walk(item)) return true;
    } else if (v !== null && typeof v === 'object') {
      const prototype = Object.getPrototypeOf(v);
      if (prototype !== Object.prototype && prototype !== null) return false;
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        length += key.length + 4;
        if (length > limit || walk(item)) return true;
      }
    } else length += 1;
    return length > limit;
  };
  return walk(value);
}

/** An operation's variables as a memo key (their JSON), or null when too long or not JSON (a BigInt). */
export function variablesKey(values: unknown): string | null {
  if (surelyLongerThan(values, MAX_VARIABLES_KEY_CHARS)) return null;
  try {
    const key = JSON.stringify(values ?? null);
    return key.length <= MAX_VARIABLES_KEY_CHARS ? key : null;
  } catch {
    return null;
  }
}
