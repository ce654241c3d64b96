/**
 * Matched fields and snippets computed from a document's texts, for engines without FTS5's `highlight()` and
 * `snippet()` (PostgreSQL). It follows FTS5's own rules — the same words (`tokens`, `indexForm`), the same phrase
 * instances, the same choice of the best 16-token window (a phrase's first hit in a window scores 1000, a repeat 1,
 * a window that starts a sentence 100, the document's start 120) and the same markup — so both engines mark the
 * same fields and, for the same document, give the same snippet.
 */
import type { SearchTerm } from './query.ts';
import { indexForm, tokenSpans } from './text.ts';

interface Span {
  word: string;
  start: number;
  end: number;
}

/** One match of a term (FTS5's "phrase instance"): in which field, at which token, how many tokens long. */
interface Instance {
  term: number;
  column: number;
  offset: number;
  size: number;
}

export interface Highlighted {
  /** Per field: whether any term matched in it. */
  matched: boolean[];
  /** Up to `SNIPPET_TOKENS` tokens around the best match, matches between `open` and `close`, `…` where cut. */
  snippet: string;
}

const SNIPPET_TOKENS = 16;
const ELLIPSIS = '…';

function spansOf(text: string): Span[] {
  return tokenSpans(text).map(({ token, start, end }) => ({ word: indexForm(token), start, end }));
}

function instancesOf(terms: readonly SearchTerm[], columns: readonly Span[][]): Instance[] {
  const folded = terms.map((term) => term.words.map(indexForm));
  const found: Instance[] = [];
  columns.forEach((spans, column) => {
    for (let offset = 0; offset < spans.length; offset++) {
      folded.forEach((words, term) => {
        const last = words.length - 1;
        const hit = words.every((word, k) => {
          const at = spans[offset + k]?.word;
          if (at === undefined) return false;
          return k === last && terms[term]!.prefix ? at.startsWith(word) : at === word;
        });
        // FTS5 orders instances by field, then token, then term.
        if (hit) found.push({ term, column, offset, size: words.length });
      });
    }
  });
  return found;
}

/** The field's instances, overlapping ones merged into one range of tokens (FTS5's coalesced instances). */
function coalesced(instances: readonly Instance[], column: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (const { column: c, offset, size } of instances) {
    if (c !== column) continue;
    const end = offset + size - 1;
    const current = ranges.at(-1);
    if (current && offset <= current[1]) current[1] = Math.max(current[1], end);
    else ranges.push([offset, end]);
  }
  return ranges;
}

/**
 * The text of tokens `from`..`to` (the whole text when `to` is -1) with every coalesced instance wrapped in
 * `open`/`close`: FTS5's highlight callback, step for step. Returns the markup and how far into the text it went.
 */
function markUp(
  text: string,
  spans: readonly Span[],
  ranges: readonly [number, number][],
  from: number,
  to: number,
  open: string,
  close: string,
): { out: string; offset: number } {
  let out = '';
  let copied = 0;
  let isOpen = false;
  let r = 0;
  while (r < ranges.length && ranges[r]![0] < from) r++;
  const start = () => ranges[r]?.[0] ?? -1;
  const end = () => ranges[r]?.[1] ?? -1;
  spans.forEach((span, position) => {
    if (to >= 0) {
      if (position < from || position > to) return;
      if (from > 0 && position === from) copied = span.start;
    }
    if (isOpen && (position <= start() || start() < 0) && span.start > copied) {
      out += close;
      isOpen = false;
    }
    if (position === start() && !isOpen) {
      out += text.slice(copied, span.start) + open;
      copied = span.start;
      isOpen = true;
    }
    if (position === end()) {
      if (!isOpen) {
        out += open;
        isOpen = true;
      }
      out += text.slice(copied, span.end);
      copied = span.end;
      r++;
    }
    if (position === to) {
      if (isOpen) {
        if (start() >= 0 && position >= start()) {
          out += text.slice(copied, span.end);
          copied = span.end;
        }
        out += close;
        isOpen = false;
      }
      out += text.slice(copied, span.end);
      copied = span.end;
    }
  });
  if (isOpen) out += close;
  return { out, offset: copied };
}

/** Tokens that start a sentence: the first, and each after a `.` or `:` followed by white space. */
function sentenceStarts(text: string, spans: readonly Span[]): number[] {
  const starts: number[] = [];
  spans.forEach((span, position) => {
    if (position === 0) {
      starts.push(0);
      return;
    }
    let i = span.start - 1;
    while (i >= 0 && ' \t\n\r'.includes(text[i]!)) i--;
    if (i !== span.start - 1 && (text[i] === '.' || text[i] === ':')) starts.push(position);
  });
  return starts;
}

/** The first of `instances` (one field's, in token order) at or after token `from`. */
function firstAtOrAfter(instances: readonly Instance[], from: number): number {
  let low = 0;
  let high = instances.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (instances[mid]!.offset < from) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * How good the window of SNIPPET_TOKENS tokens starting at `from` is (one field's instances, in token order), and
 * where to start it to centre its hits. Only the window's own instances are read, so a field with tens of
 * thousands of hits costs linear time, not quadratic.
 */
function windowScore(instances: readonly Instance[], from: number, size: number): { score: number; start: number } {
  const seen = new Set<number>();
  let score = 0;
  let first = -1;
  let last = 0;
  for (let i = firstAtOrAfter(instances, from); i < instances.length; i++) {
    const { term, offset, size: length } = instances[i]!;
    if (offset >= from + SNIPPET_TOKENS) break;
    score += seen.has(term) ? 1 : 1000;
    seen.add(term);
    if (first < 0) first = offset;
    last = offset + length;
  }
  let start = first - Math.trunc((SNIPPET_TOKENS - (last - first)) / 2);
  if (start + SNIPPET_TOKENS > size) start = size - SNIPPET_TOKENS;
  return { score, start: Math.max(0, start) };
}

/** Which fields `terms` match in, and the snippet FTS5's `snippet(-1, open, close, '…', 16)` would give. */
export function highlight(
  terms: readonly SearchTerm[],
  texts: readonly string[],
  open: string,
  close: string,
): Highlighted {
  const columns = texts.map(spansOf);
  const instances = instancesOf(terms, columns);
  const byColumn = columns.map((_, column) => instances.filter((i) => i.column === column));
  let best = { score: 0, column: 0, start: 0 };
  byColumn.forEach((hits, column) => {
    const spans = columns[column]!;
    const starts = sentenceStarts(texts[column]!, spans);
    let s = 0;
    for (const { offset } of hits) {
      const centred = windowScore(hits, offset, spans.length);
      if (centred.score > best.score) best = { score: centred.score, column, start: centred.start };
      if (starts.length > 0 && spans.length > SNIPPET_TOKENS) {
        // The sentence the hit is in (hits come in token order, so the search goes on from the last one).
        while (s < starts.length - 1 && starts[s + 1]! <= offset) s++;
        if (starts[s]! < offset) {
          const sentence = windowScore(hits, starts[s]!, spans.length).score + (starts[s] === 0 ? 120 : 100);
          if (sentence > best.score) best = { score: sentence, column, start: starts[s]! };
        }
      }
    }
  });
  const text = texts[best.column] ?? '';
  const spans = columns[best.column] ?? [];
  const to = best.start + SNIPPET_TOKENS - 1;
  const { out, offset } = markUp(text, spans, coalesced(instances, best.column), best.start, to, open, close);
  const snippet = (best.start > 0 ? ELLIPSIS : '') + out + (to >= spans.length - 1 ? text.slice(offset) : ELLIPSIS);
  return { matched: byColumn.map((hits) => hits.length > 0), snippet };
}
