/**
 * The Accept header as yoga should read it. Yoga takes media types in the order the header lists them and ignores
 * their `q` weights, so `application/json;q=0` (refused) still counted as accepted and a lower weight listed first
 * still won. The header is rewritten before yoga reads it: refused types (q=0) dropped, the rest ordered by weight,
 * highest first (ties keep their order), and a wildcard beside a refused type (`*​/*`, `application/*`) replaced by
 * the types it stands for that are not refused. Ranges no answer can have (`image/png`) are dropped too: yoga's 406
 * lists its own types once per range it was sent, so a header of a thousand such ranges made a 150 KB answer. A
 * header that accepts nothing yoga answers with becomes one no processor serves (406).
 */

/** What a request that accepts nothing is given: a type no result processor matches. */
const NOTHING_ACCEPTED = 'application/x-nothing-acceptable';

/** The types yoga's result processors answer with, in the order it prefers them for a wildcard (JSON for `*​/*`). */
const SERVED = ['application/json', 'application/graphql-response+json', 'text/event-stream', 'multipart/mixed'];
/** Kept as they are though no result is sent in them: a browser's `text/html` is what asks yoga for GraphiQL. */
const KEPT = ['text/html'];

interface Range {
  /** The range without its weight (`application/json;charset=utf-8`). */
  kept: string;
  /** Its type alone, lower-cased (`application/json`, `application/*`). */
  type: string;
  weight: number;
  index: number;
}

function parseRange(part: string, index: number): Range {
  const params = part.split(';').map((p) => p.trim());
  const q = params.find((p) => /^q=/i.test(p));
  const weight = q === undefined ? 1 : Number(q.slice(2));
  const kept = params.filter((p) => !/^q=/i.test(p)).join(';');
  return {
    kept,
    type: (params[0] ?? '').toLowerCase(),
    weight: Number.isFinite(weight) ? Math.min(1, Math.max(0, weight)) : 1,
    index,
  };
}

/** Whether a range's type (possibly a wildcard) covers a served type. */
function covers(type: string, served: string): boolean {
  if (type === '*/*' || type === served) return true;
  return type.endsWith('/*') && served.startsWith(type.slice(0, -1));
}

export function acceptInPreferenceOrder(header: string | undefined): string | undefined {
  // The common headers (none, `*/*`, one type) go to yoga as they are.
  if (header === undefined || (!header.includes(',') && !/q=/i.test(header))) return header;
  const ranges = header.split(',').map(parseRange);
  const refused = new Set(
    ranges.filter((range) => range.weight === 0 && SERVED.includes(range.type)).map((range) => range.type),
  );
  const refusedWildcards = ranges.filter((range) => range.weight === 0 && range.type.endsWith('/*'));
  const named = new Set(ranges.filter((range) => range.weight > 0).map((range) => range.type));
  const accepted: Range[] = [];
  for (const range of ranges) {
    if (range.weight === 0 || range.kept === '') continue;
    if (KEPT.includes(range.type)) {
      accepted.push(range);
      continue;
    }
    if (!SERVED.some((served) => covers(range.type, served))) continue;
    if (!range.type.endsWith('/*') || (refused.size === 0 && refusedWildcards.length === 0)) {
      accepted.push(range);
      continue;
    }
    // A wildcard beside a refusal: the served types it stands for, neither refused nor named on their own — the
    // JSON ones when any is left (a wildcard takes a whole answer as JSON, as `*/*` alone does), else the streams.
    const standsFor = SERVED.filter(
      (served) =>
        covers(range.type, served) &&
        !named.has(served) &&
        !refused.has(served) &&
        !refusedWildcards.some((wildcard) => covers(wildcard.type, served)),
    );
    const json = standsFor.filter((served) => served.startsWith('application/'));
    const suffix = range.kept.includes(';') ? range.kept.slice(range.kept.indexOf(';')) : '';
    for (const served of json.length > 0 ? json : standsFor)
      accepted.push({ ...range, kept: `${served}${suffix}`, type: served });
  }
  if (accepted.length === 0) return NOTHING_ACCEPTED;
  return accepted
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
    .map((range) => range.kept)
    .join(', ');
}
