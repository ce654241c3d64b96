/**
 * The Accept header as yoga should read it. Yoga takes media types in the order the header lists them and ignores
 * their `q` weights, so `application/json;q=0` (refused) still counted as accepted and a lower weight listed first
 * still won. The header is rewritten before yoga reads it: refused types (q=0) dropped, the rest ordered by weight,
 * highest first (ties keep their order). A header that refuses everything becomes one no processor serves (406).
 */

/** What a request that accepts nothing is given: a type no result processor matches. */
const NOTHING_ACCEPTED = 'application/x-nothing-acceptable';

/** Longest header rewritten (a longer one is left to yoga as it is). */
const MAX_ACCEPT_LENGTH = 4096;

export function acceptInPreferenceOrder(header: string | undefined): string | undefined {
  if (header === undefined || header.length > MAX_ACCEPT_LENGTH || !/q=/i.test(header)) return header;
  const ranges = header
    .split(',')
    .map((part, index) => {
      const params = part.split(';').map((p) => p.trim());
      const q = params.find((p) => /^q=/i.test(p));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      const kept = params.filter((p) => !/^q=/i.test(p)).join(';');
      return { kept, weight: Number.isFinite(weight) ? Math.min(1, Math.max(0, weight)) : 1, index };
    })
    .filter((range) => range.kept !== '' && range.weight > 0);
  if (ranges.length === 0) return NOTHING_ACCEPTED;
  return ranges
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
    .map((range) => range.kept)
    .join(', ');
}
