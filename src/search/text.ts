/**
 * Text as the search index sees it. Descriptions are HTML: tags removed, entities decoded. Chinese, Japanese and
 * Korean script has no spaces between words, so each CJK character becomes a token of its own, in documents and
 * queries alike — a CJK query is then a phrase of adjacent characters, which finds it inside longer names.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** `&name;`, `&#123;` or `&#x1F;` (bounded, so a run of `&` or letters is scanned once). */
const ENTITY = /&(#x[0-9a-f]{1,8}|#\d{1,8}|[a-z]{1,16});/gi;

function decodeEntity(entity: string, body: string): string {
  if (body[0] === '#') {
    const code =
      body[1]?.toLowerCase() === 'x' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
  }
  return ENTITIES[body.toLowerCase()] ?? entity;
}

/**
 * HTML → plain text in one pass: tags dropped, the contents of `<script>` and `<style>` dropped, entities decoded.
 * Every `indexOf` starts where the last one ended and a failed search ends the scan, so text of any shape (a
 * megabyte of `<`) costs time linear in its length — a backtracking regular expression here took minutes.
 */
/** Where `</name` next starts at or after `from` (any case), or -1. */
function closingTag(html: string, name: string, from: number): number {
  for (let at = html.indexOf('</', from); at >= 0; at = html.indexOf('</', at + 2)) {
    if (html.slice(at + 2, at + 2 + name.length).toLowerCase() === name) return at;
  }
  return -1;
}

export function stripHtml(html: string): string {
  const parts: string[] = [];
  let i = 0;
  while (i < html.length) {
    const open = html.indexOf('<', i);
    if (open < 0) {
      parts.push(html.slice(i));
      break;
    }
    parts.push(html.slice(i, open));
    const close = html.indexOf('>', open + 1);
    if (close < 0) {
      parts.push(html.slice(open)); // no tag can end: the rest is text
      break;
    }
    parts.push(' ');
    i = close + 1;
    const name = /^<(script|style)\b/i.exec(html.slice(open, open + 8))?.[1]?.toLowerCase();
    if (name) {
      const end = closingTag(html, name, i);
      if (end < 0) break; // an unclosed script or style runs to the end
      const endClose = html.indexOf('>', end);
      i = endClose < 0 ? html.length : endClose + 1;
    }
  }
  return parts.join('').replace(ENTITY, decodeEntity).replace(/\s+/g, ' ').trim();
}

/** Characters that are words on their own (SQLite's FTS5 cannot split CJK text into words, so each one is spaced). */
const CJK_CLASS = '[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]';
const CJK = new RegExp(CJK_CLASS, 'g');

/** Surrounds every CJK character with spaces so the tokenizer makes it a token. */
export function spaceCjk(text: string): string {
  return text.replace(CJK, ' $& ');
}

/**
 * The combining marks SQLite's unicode61 tokenizer (remove_diacritics 2) reads as part of a word and then drops:
 * a decomposed "e\u0301cole" is the one word "ecole". Every other mark separates words, as it does there.
 */
const DIACRITICS = '\u0300-\u0304\u0306-\u030c\u030f\u0311\u031b\u0323-\u0328\u032d\u032e\u0330\u0331';
// Unassigned code points count as letters there too (its tables are Unicode 6.1's).
const WORD = new RegExp(`[\\p{L}\\p{N}\\p{Co}\\p{Cn}][\\p{L}\\p{N}\\p{Co}\\p{Cn}${DIACRITICS}]*`, 'gu');
const DIACRITIC = new RegExp(`[${DIACRITICS}]`, 'gu');
/**
 * A word of `documentTokens(spaceCjk(text))` found in one pass: a CJK letter alone, or a word without CJK characters
 * (the same tokens, without building the spaced copy of the text: half the time on CJK-heavy text).
 */
const TOKEN = new RegExp(
  `[${CJK_CLASS}&&[\\p{L}\\p{N}\\p{Co}\\p{Cn}]]|[[\\p{L}\\p{N}\\p{Co}\\p{Cn}]--${CJK_CLASS}][[\\p{L}\\p{N}\\p{Co}\\p{Cn}${DIACRITICS}]--${CJK_CLASS}]*`,
  'gv',
);

/** Word tokens the way the index's tokenizer splits them (letters and digits; CJK one character each). */
export function tokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** The same, for text whose CJK characters are already spaced apart (a search document's). */
export function documentTokens(text: string): string[] {
  return text.match(WORD) ?? [];
}

/** The tokens of `text` with where each starts and ends (UTF-16 offsets), for highlighting. */
export function tokenSpans(text: string): { tokens: string[]; starts: Int32Array; ends: Int32Array } {
  const found = text.match(WORD) ?? [];
  const starts = new Int32Array(found.length);
  const ends = new Int32Array(found.length);
  // Found by `indexOf` from the previous token's end (nothing between two tokens can start one): several times
  // faster than `matchAll` on long texts.
  let end = 0;
  found.forEach((token, i) => {
    starts[i] = text.indexOf(token, end);
    end = starts[i]! + token.length;
    ends[i] = end;
  });
  return { tokens: found, starts, ends };
}

/** Letters whose decomposition has a Latin base, but which unicode61 keeps (ı is not an i there, ǡ not an a). */
const KEPT_LETTERS = new Set(['ı', 'ǡ']);
const folded = new Map<string, string>();
const ASCII = /^\p{ASCII}*$/u;

function foldLetter(letter: string): string {
  if (KEPT_LETTERS.has(letter)) return letter;
  // Case folding, not just lower case: ſ is s, ς is σ, µ is μ. A letter whose upper case is several letters (ß)
  // folds to its lower case.
  const upper = letter.toUpperCase();
  const lower = [...upper].length === 1 ? upper.toLowerCase() : letter.toLowerCase();
  if (KEPT_LETTERS.has(lower)) return lower;
  // Diacritics are removed from Latin letters only (é is e, but Greek ά and Cyrillic й stay).
  const base = lower.normalize('NFD').replace(/\p{M}+/gu, '');
  return /^[a-z]$/.test(base) ? base : lower;
}

/**
 * A token as SQLite's index stores it (unicode61, remove_diacritics 2): case folded, the diacritics of Latin
 * letters removed. PostgreSQL's documents and queries are folded here, so both engines match the same words; a
 * test compares this with SQLite's own tokenizer letter by letter.
 */
export function indexForm(token: string): string {
  // Most words are ASCII: folding them is lower-casing.
  if (ASCII.test(token)) return token.toLowerCase();
  let out = '';
  for (const letter of token.replace(DIACRITIC, '')) {
    let f = folded.get(letter);
    if (f === undefined) {
      f = foldLetter(letter);
      if (folded.size < 65_536) folded.set(letter, f);
    }
    out += f;
  }
  return out;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' } as Record<string, string>)[c]};`,
  );
}
