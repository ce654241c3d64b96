/**
 * What the direct path learns (`PreparedOperations` in src/server/direct-answer.ts): the document a query was parsed
 * and validated into, by its exact text and operation name; bounded. The answers themselves are compared with yoga's
 * in direct-answer.test.ts.
 */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_PREPARED_OPERATIONS, MAX_PREPARED_TEXT_CHARS, PreparedOperations } from '../src/server/direct-answer.ts';

/** One request through the hooks the learning sees: watched, executing `document`, then run compiled. */
function run(
  prepared: PreparedOperations,
  params: { query: string; operationName?: string | null },
  options: { operation?: string; replacedParams?: boolean; executed?: ReturnType<typeof parse> } = {},
) {
  const context: { params?: unknown } = {};
  prepared.watch(context, params);
  // yoga puts the parameters it runs into the context (a hook may have replaced them).
  context.params = options.replacedParams ? { ...params } : params;
  const document = parse(params.query);
  const onExecute = prepared.plugin().onExecute as (payload: { args: object }) => void;
  onExecute({ args: { contextValue: context, document } });
  prepared.ranCompiled({ contextValue: context, operation: options.operation ?? 'query' });
  return document;
}

describe('prepared operations', () => {
  it('keeps the parsed document of a query by text and operation name', () => {
    const prepared = new PreparedOperations();
    const text = 'query A { __typename } query B { __typename }';
    const a = run(prepared, { query: text, operationName: 'A' });
    expect(prepared.find({ query: text, operationName: 'A' })).toBe(a);
    expect(prepared.find({ query: text, operationName: 'B' })).toBeUndefined();
    expect(prepared.find({ query: `${text} `, operationName: 'A' })).toBeUndefined();
    const plain = run(prepared, { query: '{ __typename }' });
    // No operation name and a null one are the same request.
    expect(prepared.find({ query: '{ __typename }', operationName: null })).toBe(plain);
  });

  it('learns no mutation, and nothing whose parameters a hook replaced', () => {
    const prepared = new PreparedOperations();
    run(prepared, { query: 'mutation { a }' }, { operation: 'mutation' });
    run(prepared, { query: '{ b }' }, { replacedParams: true });
    expect(prepared.find({ query: 'mutation { a }' })).toBeUndefined();
    expect(prepared.find({ query: '{ b }' })).toBeUndefined();
  });

  it(`keeps texts of at most ${MAX_PREPARED_TEXT_CHARS} characters in all: padded queries push the oldest out`, () => {
    const prepared = new PreparedOperations();
    // A query of one field with a comment of a quarter of the budget: the document keeps its whole source.
    const padded = (i: number) => `{ f${i} } #${'x'.repeat(MAX_PREPARED_TEXT_CHARS / 4)}`;
    for (let i = 0; i < 8; i++) run(prepared, { query: padded(i) });
    const kept = [...Array(8).keys()].filter((i) => prepared.find({ query: padded(i) }) !== undefined);
    expect(kept).toEqual([5, 6, 7]);
    // A text over the whole budget is never kept, and pushes nothing out.
    run(prepared, { query: `{ g } #${'x'.repeat(MAX_PREPARED_TEXT_CHARS)}` });
    expect(prepared.find({ query: `{ g } #${'x'.repeat(MAX_PREPARED_TEXT_CHARS)}` })).toBeUndefined();
    expect(prepared.find({ query: padded(5) })).toBeDefined();
    // Found again, 5 is now the most recently used: the next text pushes 6 out. Two operation names of one text
    // count its characters once: the second pushes nothing out.
    const two = `query A { a } query B { b } #${'x'.repeat(MAX_PREPARED_TEXT_CHARS / 4)}`;
    run(prepared, { query: two, operationName: 'A' });
    run(prepared, { query: two, operationName: 'B' });
    expect(prepared.find({ query: two, operationName: 'A' })).toBeDefined();
    expect(prepared.find({ query: two, operationName: 'B' })).toBeDefined();
    expect([5, 6, 7].filter((i) => prepared.find({ query: padded(i) }) !== undefined)).toEqual([5, 7]);
  });

  it(`keeps at most ${MAX_PREPARED_OPERATIONS} operations, the least recently used text going first`, () => {
    const prepared = new PreparedOperations();
    for (let i = 0; i < MAX_PREPARED_OPERATIONS; i++) run(prepared, { query: `{ f${i} }` });
    // Used again: f1 is then the oldest.
    expect(prepared.find({ query: '{ f0 }' })).toBeDefined();
    run(prepared, { query: `{ f${MAX_PREPARED_OPERATIONS} }` });
    expect(prepared.find({ query: '{ f1 }' })).toBeUndefined();
    expect(prepared.find({ query: '{ f0 }' })).toBeDefined();
    expect(prepared.find({ query: `{ f${MAX_PREPARED_OPERATIONS} }` })).toBeDefined();
    // A text of three operations counts three: it pushes the three oldest out.
    const three = 'query A { a } query B { b } query C { c }';
    for (const name of ['A', 'B', 'C']) run(prepared, { query: three, operationName: name });
    expect([2, 3, 4, 5].map((i) => prepared.find({ query: `{ f${i} }` }) !== undefined)).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });
});
