/**
 * Matched fields and snippets computed from a document's texts, for engines without FTS5's `highlight()` and
 * `snippet()` (PostgreSQL). It follows FTS5's own rules — the same words (`tokens`, `indexForm`), the same phrase
 * instances, the same choice of the best 16-token window (a phrase's first hit in a window scores 1000, a repeat 1,
 * a window that starts a sentence 100, the document's start 120) and the same markup — so both engines mark the
 * same fields and, for the same document, give the same snippet. It runs in the server's process, so it keeps to
 * flat arrays and linear time: a field of tens of thousands of matching words costs milliseconds.
 */
import type { SearchTerm } from './query.ts';
import { indexForm, tokenSpans } from './text.ts';

/** A field's words (as the index stores them) and where each starts and ends in its text. */
interface Field {
  text: string;
  words: string[];
  starts: Int32Array;
  ends: Int32Array;
}

/** One field's matches of the terms (FTS5's "phrase instances"), in FTS5's order: by token, then by term. */
interface Instances {
  offsets: number[];
  terms: number[];
}

export interface Highlighted {
  /** Per field: whether any term matched in it. */
  matched: boolean[];
  /** Up to `SNIPPET_TOKENS` tokens around the best match, matches between `open` and `close`, `…` where cut. */
  snippet: string;
}

/** A snippet's length in tokens, and what marks where it is cut (FTS5's snippet() takes the same: src/db/search.ts). */
export const SNIPPET_TOKENS = 16;
export const ELLIPSIS = '…';

function fieldOf(text: string): Field {
  const { tokens, starts, ends } = tokenSpans(text);
  return { text, words: tokens.map(indexForm), starts, ends };
}

function instancesOf(terms: readonly string[][], prefix: readonly boolean[], field: Field): Instances {
  const { words } = field;
  const found: Instances = { offsets: [], terms: [] };
  for (let offset = 0; offset < words.length; offset++) {
    for (let term = 0; term < terms.length; term++) {
      const phrase = terms[term]!;
      const last = phrase.length - 1;
      if (offset + last >= words.length) continue;
      let hit = true;
      for (let k = 0; hit && k <= last; k++) {
        const word = words[offset + k]!;
        hit = k === last && prefix[term] ? word.startsWith(phrase[k]!) : word === phrase[k];
      }
      if (hit) {
        found.offsets.push(offset);
        found.terms.push(term);
      }
    }
  }
  return found;
}

/** The field's instances, overlapping ones merged into one range of tokens (FTS5's coalesced instances). */
function coalesced(instances: Instances, sizes: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  instances.offsets.forEach((offset, i) => {
    const end = offset + sizes[instances.terms[i]!]! - 1;
    const current = ranges.at(-1);
    if (current && offset <= current[1]) current[1] = Math.max(current[1], end);
    else ranges.push([offset, end]);
  });
  return ranges;
}

/**
 * The text of tokens `from`..`to` with every coalesced instance wrapped in `open`/`close`: FTS5's highlight
 * callback, step for step (tokens outside the window change nothing there, so only the window's are visited).
 * Returns the markup and how far into the text it went.
 */
function markUp(
  field: Field,
  ranges: readonly [number, number][],
  from: number,
  to: number,
  open: string,
  close: string,
): { out: string; offset: number } {
  const { text, starts, ends } = field;
  let out = '';
  let copied = 0;
  let isOpen = false;
  let r = 0;
  while (r < ranges.length && ranges[r]![0] < from) r++;
  for (let position = from; position <= Math.min(to, starts.length - 1); position++) {
    const start = starts[position]!;
    const end = ends[position]!;
    const rangeStart = ranges[r]?.[0] ?? -1;
    if (from > 0 && position === from) copied = start;
    if (isOpen && (position <= rangeStart || rangeStart < 0) && start > copied) {
      out += close;
      isOpen = false;
    }
    if (position === rangeStart && !isOpen) {
      out += text.slice(copied, start) + open;
      copied = start;
      isOpen = true;
    }
    if (position === (ranges[r]?.[1] ?? -1)) {
      if (!isOpen) {
        out += open;
        isOpen = true;
      }
      out += text.slice(copied, end);
      copied = end;
      r++;
    }
    if (position === to) {
      if (isOpen) {
        const next = ranges[r]?.[0] ?? -1;
        if (next >= 0 && position >= next) {
          out += text.slice(copied, end);
          copied = end;
        }
        out += close;
        isOpen = false;
      }
      out += text.slice(copied, end);
      copied = end;
    }
  }
  if (isOpen) out += close;
  return { out, offset: copied };
}

/** Tokens that start a sentence: the first, and each after a `.` or `:` followed by white space. */
function sentenceStarts(field: Field): number[] {
  const { text, starts } = field;
  const found: number[] = [];
  for (let position = 0; position < starts.length; position++) {
    if (position === 0) {
      found.push(0);
      continue;
    }
    const start = starts[position]!;
    let i = start - 1;
    while (i >= 0 && ' \t\n\r'.includes(text[i]!)) i--;
    if (i !== start - 1 && (text[i] === '.' || text[i] === ':')) found.push(position);
  }
  return found;
}

/** The first instance at or after token `from`. */
function firstAtOrAfter(offsets: readonly number[], from: number): number {
  let low = 0;
  let high = offsets.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (offsets[mid]! < from) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** How good the window of SNIPPET_TOKENS tokens starting at `from` is, and where to start it to centre its hits. */
function windowScore(
  instances: Instances,
  sizes: readonly number[],
  from: number,
  fieldSize: number,
): { score: number; start: number } {
  const { offsets, terms } = instances;
  let seen = 0; // a bit per term: a search has at most 32 (MAX_QUERY_TERMS)
  let score = 0;
  let first = -1;
  let last = 0;
  for (let i = firstAtOrAfter(offsets, from); i < offsets.length && offsets[i]! < from + SNIPPET_TOKENS; i++) {
    const bit = 1 << terms[i]!;
    score += seen & bit ? 1 : 1000;
    seen |= bit;
    if (first < 0) first = offsets[i]!;
    last = offsets[i]! + sizes[terms[i]!]!;
  }
  let start = first - Math.trunc((SNIPPET_TOKENS - (last - first)) / 2);
  if (start + SNIPPET_TOKENS > fieldSize) start = fieldSize - SNIPPET_TOKENS;
  return { score, start: Math.max(0, start) };
}

/** Which fields `terms` match in, and the snippet FTS5's `snippet(-1, open, close, '…', 16)` would give. */
export function highlight(
  terms: readonly SearchTerm[],
  texts: readonly string[],
  open: string,
  close: string,
): Highlighted {
  const phrases = terms.map((term) => term.words.map(indexForm));
  const prefix = terms.map((term) => term.prefix);
  const sizes = phrases.map((phrase) => phrase.length);
  const fields = texts.map(fieldOf);
  const instances = fields.map((field) => instancesOf(phrases, prefix, field));
  let best = { score: 0, column: 0, start: 0 };
  fields.forEach((field, column) => {
    const hits = instances[column]!;
    const size = field.words.length;
    const starts = sentenceStarts(field);
    let s = 0;
    for (const offset of hits.offsets) {
      const centred = windowScore(hits, sizes, offset, size);
      if (centred.score > best.score) best = { score: centred.score, column, start: centred.start };
      if (starts.length > 0 && size > SNIPPET_TOKENS) {
        // The sentence the hit is in (hits come in token order, so the search goes on from the last one).
        while (s < starts.length - 1 && starts[s + 1]! <= offset) s++;
        if (starts[s]! < offset) {
          const sentence = windowScore(hits, sizes, starts[s]!, size).score + (starts[s] === 0 ? 120 : 100);
          if (sentence > best.score) best = { score: sentence, column, start: starts[s]! };
        }
      }
    }
  });
  const field = fields[best.column] ?? fieldOf('');
  const to = best.start + SNIPPET_TOKENS - 1;
  const ranges = coalesced(instances[best.column] ?? { offsets: [], terms: [] }, sizes);
  const { out, offset } = markUp(field, ranges, best.start, to, open, close);
  const end = to >= field.words.length - 1 ? field.text.slice(offset) : ELLIPSIS;
  return {
    matched: instances.map((hits) => hits.offsets.length > 0),
    snippet: (best.start > 0 ? ELLIPSIS : '') + out + end,
  };
}
