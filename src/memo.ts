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

/** What is kept per operation for its variables (complexity measures, coercions): a page's or a search's few. */
export const KEPT_PER_OPERATION = 256;

/** Longest variables, as JSON, worth a memo: longer ones (a list of hashes) are worked out each time. */
const MAX_VARIABLES_KEY_CHARS = 1024;

/** An operation's variables as a memo key (their JSON), or null when too long or not JSON (a BigInt). */
export function variablesKey(values: unknown): string | null {
  try {
    const key = JSON.stringify(values ?? null);
    return key.length <= MAX_VARIABLES_KEY_CHARS ? key : null;
  } catch {
    return null;
  }
}
