/**
 * Cursors (`src/catalog/pagination.ts`): `dn1:` and the JSON of the ordering's tag and the row's sort-key values, in
 * base64url. Clients keep cursors between requests (and across server versions): the spelling is fixed.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, type KeyValue, scopedOrdering } from '../src/catalog/pagination.ts';

const ordering = {
  signature: 'models:name',
  keys: [
    { expression: sql`"Name"`, direction: 'ASC' as const },
    { expression: sql`"Id"`, direction: 'ASC' as const },
  ],
};
const spelled = (tag: string, values: readonly KeyValue[]) =>
  Buffer.from(`dn1:${JSON.stringify([tag, ...values])}`, 'utf8').toString('base64url');

describe('cursors', () => {
  const cases: KeyValue[][] = [
    ['Neon Style 93', 94],
    ['quote " and \\ backslash', 1],
    ['ünïcödé ✓ and an emoji 🎨', 7],
    [-0.000002139078985375132, 597],
    [1e21, 3],
  ];
  it.each(cases)('spells %j as it always has, and reads it back', (...values) => {
    const cursor = encodeCursor(ordering, values);
    expect(cursor).toBe(spelled('models:name', values));
    expect(decodeCursor(cursor, ordering, 'after')).toEqual(values);
  });

  it('binds a search cursor to its text, each text its own', () => {
    const a = scopedOrdering(ordering, 'neon');
    const b = scopedOrdering(ordering, 'velvet');
    const cursor = encodeCursor(a, ['x', 1]);
    expect(encodeCursor(a, ['x', 1])).toBe(cursor);
    expect(decodeCursor(cursor, a, 'after')).toEqual(['x', 1]);
    expect(() => decodeCursor(cursor, b, 'after')).toThrow(/another search text/);
    expect(() => decodeCursor(encodeCursor(b, ['x', 1]), a, 'after')).toThrow(/another search text/);
  });
});
