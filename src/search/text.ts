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

const CJK = /([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f])/g;

/** Surrounds every CJK character with spaces so the tokenizer makes it a token. */
export function spaceCjk(text: string): string {
  return text.replace(CJK, ' $1 ');
}

/** Word tokens the way the index's tokenizer splits them (letters and digits; CJK one character each). */
export function tokens(text: string): string[] {
  return spaceCjk(text).match(/[\p{L}\p{N}\p{Co}]+/gu) ?? [];
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' } as Record<string, string>)[c]};`,
  );
}
