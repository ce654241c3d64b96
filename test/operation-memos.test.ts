/**
 * What a request no longer works out again when it repeats an earlier one — its operation's complexity measure and
 * its document's validation — and that the limits both enforce still hold for every request.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../src/catalog/query-limits.ts';
import { variablesKey } from '../src/memo.ts';
import { complexityWalks } from '../src/schema/complexity-memo.ts';
import { coercions } from '../src/server/coerced-variables.ts';
import { validationsMade } from '../src/server/validation-cache.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

/** Complexity grows with `n` squared: 2 is far below the limit set below, 40 far above. */
const NESTED = `query Nested($n: Int!) {
  models(first: $n) { nodes { name versions(first: $n) { nodes { name files { fileName } } } } }
}`;
const LIMIT = 500;

let server: TestServer;
beforeAll(async () => {
  const catalog = await seededCatalog();
  server = await startTestServer({
    dataDir: catalog.dataDir,
    databasePath: catalog.databasePath,
    queryLimits: { ...QUERY_LIMITS, complexity: LIMIT },
  });
});

describe('an operation measured once per variables', () => {
  it('measures a repeated operation once, and still refuses it when other variables take it over the limit', async () => {
    const before = complexityWalks.count;
    const small = await server.graphql(NESTED, { n: 2 });
    expect(small.errors).toBeUndefined();
    expect(complexityWalks.count).toBe(before + 1);
    for (let i = 0; i < 3; i++) expect((await server.graphql(NESTED, { n: 2 })).data).toEqual(small.data);
    expect(complexityWalks.count).toBe(before + 1);

    for (let i = 0; i < 2; i++) {
      const large = await server.graphql(NESTED, { n: 40 });
      expect(large.data ?? null).toBeNull();
      expect(large.errors?.[0]?.extensions).toMatchObject({
        code: 'LIMIT_EXCEEDED',
        limit: LIMIT,
        measure: 'complexity',
      });
    }
    expect((await server.graphql(NESTED, { n: 2 })).errors).toBeUndefined();
  });

  it('measures each time what it cannot key cheaply (a long list of variables), with the same verdicts', async () => {
    const hashes = Array.from({ length: 200 }, (_, i) => i.toString(16).padStart(64, '0'));
    const query = 'query H($hashes: [String!]!) { filesByHashes(hashes: $hashes, algorithm: SHA256) { hash } }';
    const before = complexityWalks.count;
    for (let i = 0; i < 2; i++) expect((await server.graphql(query, { hashes })).errors).toBeUndefined();
    expect(complexityWalks.count).toBe(before + 2);
  });

  it('a server with a lower limit refuses what another in the same process measured within its own', async () => {
    const strict = await startTestServer({
      dataDir: path.join(tempDir(), 'strict'),
      queryLimits: { ...QUERY_LIMITS, complexity: 3 },
    });
    expect((await server.graphql(NESTED, { n: 2 })).errors).toBeUndefined();
    const refused = await strict.graphql(NESTED, { n: 2 });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 3 });
  });
});

describe('variables as a memo key', () => {
  it('is their JSON up to 1,024 characters and null beyond, whatever the JSON leaves out or escapes', () => {
    const withText = (n: number) => ({ text: 'x'.repeat(n) }); // JSON: {"text":"…"}, n + 11 characters
    expect(variablesKey(withText(1013))).toBe(JSON.stringify(withText(1013)));
    expect(variablesKey(withText(1014))).toBeNull();
    // Left out of the JSON, so not counted: the key stays within the limit.
    const skipped = { gone: undefined, ...withText(1013) };
    expect(variablesKey(skipped)).toBe(JSON.stringify(skipped));
    // Escapes lengthen the JSON past the limit although the text itself is shorter.
    expect(variablesKey({ text: '"'.repeat(600) })).toBeNull();
    const dated = { at: new Date(0), list: [1, 'a', null, { b: true }] };
    expect(variablesKey(dated)).toBe(JSON.stringify(dated));
    expect(variablesKey(undefined)).toBe('null');
    expect(variablesKey({ big: 1n })).toBeNull();
    const hashes = Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(64, '0'));
    expect(variablesKey({ hashes })).toBeNull();
    expect(variablesKey({ hashes: hashes.slice(0, 14) })).toBe(JSON.stringify({ hashes: hashes.slice(0, 14) }));
  });

  it('is worked out once per variables object (a request keys its one object for coercion and complexity)', () => {
    let reads = 0;
    const sent = {
      get text() {
        reads++;
        return 'x';
      },
    };
    expect(variablesKey(sent)).toBe('{"text":"x"}');
    const readsOnce = reads;
    expect(readsOnce).toBeGreaterThan(0);
    expect(variablesKey(sent)).toBe('{"text":"x"}');
    expect(reads).toBe(readsOnce);
    // Another object with the same JSON is keyed anew, to the same key.
    expect(variablesKey({ text: 'x' })).toBe('{"text":"x"}');
  });
});

describe('variables coerced once per operation and values', () => {
  const SEARCH = 'query S($q: String!, $first: Int!) { search(query: $q, first: $first) { edges { node { name } } } }';

  it('coerces a repeated search once, other values anew, and refuses a bad value every time', async () => {
    const before = coercions.count;
    const first = await server.graphql(SEARCH, { q: 'model', first: 3 });
    expect(first.errors).toBeUndefined();
    for (let i = 0; i < 3; i++)
      expect((await server.graphql(SEARCH, { q: 'model', first: 3 })).data).toEqual(first.data);
    expect(coercions.count).toBe(before + 1);
    expect((await server.graphql(SEARCH, { q: 'model', first: 2 })).errors).toBeUndefined();
    expect(coercions.count).toBe(before + 2);
    for (let i = 0; i < 2; i++) {
      const bad = await server.graphql(SEARCH, { q: 'model', first: 'three' });
      expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
  });
});

describe('a document validated once', () => {
  it('validates a repeated document once, and each new document anew', async () => {
    const before = validationsMade.count;
    const query = '{ models(first: 1) { nodes { name } } }';
    for (let i = 0; i < 3; i++) expect((await server.graphql(query)).errors).toBeUndefined();
    expect(validationsMade.count).toBe(before + 1);
    expect((await server.graphql('{ models(first: 2) { nodes { name } } }')).errors).toBeUndefined();
    expect(validationsMade.count).toBe(before + 2);
  });

  it('refuses an invalid document every time it is sent, with the same errors', async () => {
    const answers = [];
    for (let i = 0; i < 2; i++) answers.push(await server.graphql('{ models(first: 1) { nodes { nope } } }'));
    expect(answers[0]!.errors?.[0]?.message).toMatch(/Cannot query field "nope"/);
    expect(answers[1]!.errors).toEqual(answers[0]!.errors);
  });

  it('keeps enforcing the guards whose rules are made once: aliases, directives and @defer placement', async () => {
    const aliases = `{ ${Array.from({ length: QUERY_LIMITS.aliases + 1 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const directives = `{ __typename ${'@include(if: true) '.repeat(QUERY_LIMITS.directives + 1)} }`;
    for (let i = 0; i < 2; i++) {
      expect((await server.graphql(aliases)).errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED' });
      expect((await server.graphql(directives)).errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED' });
      const deferredMutation = await server.graphql(
        'mutation { ... @defer { deleteModel(id: "TW9kZWw6OTk5OTk=") { __typename } } }',
        undefined,
        { 'x-graphql-yoga-csrf': '1' },
      );
      expect(deferredMutation.errors?.[0]?.message).toMatch(/[Dd]efer/);
    }
  });
});
