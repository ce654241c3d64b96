/** Tags: matched on NormalizedName — trimmed and lower-cased; Name keeps the first spelling seen. */

export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase();
}
