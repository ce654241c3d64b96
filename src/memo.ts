/**
 * A function of a short text remembered for the texts seen lately: requests repeat the same few (a search's words,
 * its cursors' scope), and each answer costs microseconds a request. At most `max` are kept; when full, all are
 * dropped and keeping starts again (no order to maintain per call). Errors are not kept: they are thrown anew.
 */
export function rememberedByText<T>(fn: (text: string) => T, max = 1000): (text: string) => T {
  const kept = new Map<string, T>();
  return (text) => {
    let value = kept.get(text);
    if (value === undefined) {
      value = fn(text);
      if (kept.size >= max) kept.clear();
      kept.set(text, value);
    }
    return value;
  };
}
