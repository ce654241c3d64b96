/**
 * yoga's parsed documents are kept by text in a cache bounded by the texts' characters (`document-cache.ts`): a few
 * fields padded with a comment to the body limit used to be kept whole, 1,024 of them, about a gigabyte.
 */
import type { DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_QUERY_BODY_BYTES } from '../src/config.ts';
import { BoundedCache } from '../src/server/bounded-cache.ts';
import { DOCUMENT_CACHE, TextBoundedCache } from '../src/server/document-cache.ts';
import { startTestServer } from './helpers/server.ts';

describe('the text-bounded cache', () => {
  it('keeps the most recently used texts within its entries and characters', () => {
    const cache = new TextBoundedCache<number>(3, 10);
    cache.set('aaa', 1);
    cache.set('bbb', 2);
    cache.set('ccc', 3);
    expect(cache.get('aaa')).toBe(1); // used again: 'bbb' is now the oldest
    cache.set('dd', 4); // a fourth entry: 'bbb' goes
    expect([cache.get('bbb'), cache.get('ccc'), cache.get('dd')]).toEqual([undefined, 3, 4]);
    cache.set('eeeeee', 5); // 6 more characters: the oldest go until 10 or fewer are kept
    expect(cache.chars).toBeLessThanOrEqual(10);
    expect([cache.get('aaa'), cache.get('ccc'), cache.get('dd'), cache.get('eeeeee')]).toEqual([
      undefined,
      undefined,
      4,
      5,
    ]);
    cache.set('x'.repeat(11), 6); // over the whole budget: not kept, nothing pushed out
    expect([cache.size, cache.chars]).toEqual([2, 8]);
    cache.set('dd', 7); // set again: counted once
    expect([cache.get('dd'), cache.chars]).toEqual([7, 8]);
  });
});

describe('the bounded cache, sized by its values', () => {
  it('keeps no entry over its share (nothing pushed out for it), and clears', () => {
    const cache = new BoundedCache<string>({
      maxEntries: 10,
      maxSize: 100,
      maxEntrySize: 30,
      sizeOf: (_key, value) => value.length,
    });
    cache.set('a', 'x'.repeat(30));
    cache.set('b', 'y'.repeat(30));
    cache.set('c', 'z'.repeat(31)); // over the share: not kept
    expect([cache.get('a')?.length, cache.get('b')?.length, cache.get('c'), cache.totalSize]).toEqual([
      30,
      30,
      undefined,
      60,
    ]);
    cache.set('d', 'w'.repeat(30));
    cache.set('e', 'v'.repeat(30)); // 120 would be over: the least recently used ('a') goes
    expect([cache.get('a'), cache.size, cache.totalSize]).toEqual([undefined, 3, 90]);
    cache.clear();
    expect([cache.get('b'), cache.size, cache.totalSize]).toEqual([undefined, 0, 0]);
  });
});

describe('the server keeps parsed documents within the characters bound', () => {
  it('padded queries: every one answered, the kept texts at most the bound', async () => {
    const documentCache = new TextBoundedCache<DocumentNode>();
    const server = await startTestServer({}, { documentCache });
    // One field and a comment: a body just under the limit, a new text each time.
    const padding = MAX_QUERY_BODY_BYTES - 200;
    const sent = Math.ceil((2 * DOCUMENT_CACHE.maxChars) / padding);
    for (let i = 0; i < sent; i++) {
      const answer = await server.graphql(`{ __typename } # ${i} ${'x'.repeat(padding)}`);
      expect(answer.data).toEqual({ __typename: 'Query' });
    }
    expect(documentCache.size).toBeGreaterThan(0);
    expect(documentCache.chars).toBeLessThanOrEqual(DOCUMENT_CACHE.maxChars);
    // yoga's own cache would have kept all of them: twice the bound.
    expect(sent * padding).toBeGreaterThan(DOCUMENT_CACHE.maxChars);
  }, 60_000);
});
