/**
 * Text as the search index sees it. Descriptions are HTML: tags removed, entities decoded. Chinese, Japanese and
 * Korean script has no spaces between words, so each CJK character becomes a token of its own, in documents and
 * queries alike — a CJK query is then a phrase of adjacent characters, which finds it inside longer names.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function stripHtml(html: string): string {
  return html
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
      if (body[0] === '#') {
        const code = body[1]?.toLowerCase() === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[body.toLowerCase()] ?? entity;
    })
    .replace(/\s+/g, ' ')
    .trim();
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
  return text.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' } as Record<string, string>)[c]};`);
}
