/**
 * A corpus of hostile and broken requests against one server over a seeded catalog: each gets a clear, coded
 * error (never a 500 or a hang), the server keeps answering, and the database is byte-for-byte unchanged.
 */
import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { catalogChecksum } from './helpers/db-checksum.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;
let before: string;

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
  before = await catalogChecksum(server);
});

interface Answer {
  status: number;
  codes: string[];
  messages: string[];
}

/** POSTs raw bytes as JSON and reads the coded errors (GraphQL `errors[]` or a REST `error`). */
function post(body: string | Buffer, contentType = 'application/json'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const req = httpRequest(
      server.url,
      {
        method: 'POST',
        headers: {
          'content-type': contentType,
          'content-length': bytes.length,
          accept: 'application/graphql-response+json',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: {
            errors?: { message: string; extensions?: { code?: string } }[];
            error?: { code: string; message: string };
          } = {};
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            parsed = { error: { code: 'NOT_JSON', message: text.slice(0, 200) } };
          }
          const errors =
            parsed.errors ??
            (parsed.error ? [{ message: parsed.error.message, extensions: { code: parsed.error.code } }] : []);
          resolve({
            status: res.statusCode ?? 0,
            codes: errors.map((e) => e.extensions?.code ?? 'NONE'),
            messages: errors.map((e) => e.message),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

const gql = (query: string, variables?: unknown) => post(JSON.stringify({ query, variables }));

const MODEL_ID = Buffer.from('Model:1').toString('base64');
const PNG_SIGNATURE_ONLY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64');

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

const CASES: [string, () => Promise<Answer>, string][] = [
  ['malformed JSON', () => post('{"query": "{ __typename }"'), 'BAD_REQUEST'],
  ['a JSON body that is not an object', () => post('"just a string"'), 'BAD_REQUEST'],
  [
    'a batch of operations (batching is off)',
    () => post(JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }])),
    'BAD_REQUEST',
  ],
  [
    'invalid UTF-8 in the query',
    () =>
      post(
        Buffer.concat([
          Buffer.from('{"query": "{ mod'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('els { totalCount } }"}'),
        ]),
      ),
    'GRAPHQL_PARSE_FAILED',
  ],
  ['a syntax error', () => gql('{ models(first: ) }'), 'GRAPHQL_PARSE_FAILED'],
  ['an unknown field', () => gql('{ nope }'), 'GRAPHQL_VALIDATION_FAILED'],
  [
    'a wrong enum value',
    () => gql('{ models(filter: { types: [NOT_A_TYPE] }) { totalCount } }'),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a wrong variable type',
    () => gql('query($n: Int) { models(first: $n) { totalCount } }', { n: 'ten' }),
    'BAD_USER_INPUT',
  ],
  ['an Int beyond 32 bits', () => gql('{ model(databaseId: 99999999999) { name } }'), 'GRAPHQL_VALIDATION_FAILED'],
  ['a negative page size', () => gql('{ models(first: -1) { totalCount } }'), 'BAD_USER_INPUT'],
  ['a huge page size', () => gql('{ models(first: 1000000) { totalCount } }'), 'LIMIT_EXCEEDED'],
  ['a malformed cursor', () => gql('{ models(first: 5, after: "%%%") { totalCount } }'), 'BAD_USER_INPUT'],
  [
    'a cursor of another ordering',
    async () => {
      const page = await server.graphql<{ models: { pageInfo: { endCursor: string } } }>(
        '{ models(first: 2, orderBy: [{ field: NAME }]) { pageInfo { endCursor } } }',
      );
      return gql('query($c: String) { models(first: 2, after: $c) { totalCount } }', {
        c: page.data!.models.pageInfo.endCursor,
      });
    },
    'BAD_USER_INPUT',
  ],
  ['a garbage global ID', () => gql('{ node(id: "!!!") { id } }'), 'BAD_USER_INPUT'],
  ['a global ID of another type', () => gql(`{ modelVersion(id: "${MODEL_ID}") { name } }`), 'BAD_USER_INPUT'],
  [
    'a global ID with a non-numeric key',
    () => gql(`{ node(id: "${Buffer.from('Model:abc').toString('base64')}") { id } }`),
    'BAD_USER_INPUT',
  ],
  ['two identifiers at once', () => gql('{ model(databaseId: 1, civitaiId: 2) { name } }'), 'BAD_USER_INPUT'],
  [
    'an alias bomb',
    () => gql(`{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: __typename`).join(' ')} }`),
    'LIMIT_EXCEEDED',
  ],
  [
    'an alias bomb of real fields',
    () => gql(`{ ${Array.from({ length: 200 }, (_, i) => `a${i}: models(first: 1) { totalCount }`).join(' ')} }`),
    'LIMIT_EXCEEDED',
  ],
  ['a token flood', () => gql(`{ models(first: 1) { nodes { ${'name '.repeat(20_000)} } } }`), 'LIMIT_EXCEEDED'],
  ['a directive flood', () => gql(`{ __typename ${'@include(if: true) '.repeat(200)} }`), 'LIMIT_EXCEEDED'],
  [
    'a deep query',
    () =>
      gql(
        `{ models(first: 1) { nodes { ${'versions(first: 1) { nodes { model { '.repeat(15)} name ${'} } }'.repeat(15)} } } }`,
      ),
    'LIMIT_EXCEEDED',
  ],
  [
    'a fragment bomb (nested lists multiplying)',
    () =>
      gql(`
    fragment A on Model { versions(first: 100) { nodes { files { fileName } images(first: 100) { nodes { url } } } } }
    { models(first: 100) { nodes { ...A creator { models(first: 100) { nodes { ...A } } } } } }`),
    'LIMIT_EXCEEDED',
  ],
  [
    'circular fragments',
    () => gql('fragment A on Model { name ...B } fragment B on Model { ...A } { models(first: 1) { nodes { ...A } } }'),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a mutation without a JSON payload object',
    () => gql('mutation { importCivitaiPayload(payload: "text") { created } }'),
    'BAD_USER_INPUT',
  ],
  [
    "a payload that is not Civitai's",
    () => gql('mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created } }', { p: { hello: 'world' } }),
    'NOT_CIVITAI_PAYLOAD',
  ],
  [
    'an oversized base64 thumbnail',
    () =>
      gql(
        `mutation($b: String!) { setImageThumbnail(id: "${Buffer.from('ModelImage:1').toString('base64')}", base64: $b) { id } }`,
        { b: Buffer.alloc(3 * 1024 * 1024, 1).toString('base64') },
      ),
    'LIMIT_EXCEEDED',
  ],
  [
    'non-image bytes as a thumbnail',
    () =>
      gql(
        `mutation($b: String!) { setImageThumbnail(id: "${Buffer.from('ModelImage:1').toString('base64')}", base64: $b) { id } }`,
        { b: Buffer.from('definitely not an image').toString('base64') },
      ),
    'BAD_USER_INPUT',
  ],
  [
    'a truncated image as a thumbnail',
    () =>
      gql(
        `mutation($b: String!) { setImageThumbnail(id: "${Buffer.from('ModelImage:1').toString('base64')}", base64: $b) { id } }`,
        { b: PNG_SIGNATURE_ONLY },
      ),
    'BAD_USER_INPUT',
  ],
  [
    'editing a model that does not exist',
    () =>
      gql(
        `mutation { updateModel(id: "${Buffer.from('Model:987654321').toString('base64')}", input: { name: "x" }) { name } }`,
      ),
    'NOT_FOUND',
  ],
  [
    'an empty model name',
    () => gql(`mutation { updateModel(id: "${MODEL_ID}", input: { name: "   " }) { name } }`),
    'BAD_USER_INPUT',
  ],
  [
    'a multi-megabyte tag list',
    () =>
      gql(`mutation($t: [String!]!) { setModelTags(id: "${MODEL_ID}", tags: $t) { name } }`, {
        t: Array.from({ length: 5000 }, (_, i) => `tag-${i}-${'x'.repeat(300)}`),
      }),
    'LIMIT_EXCEEDED',
  ],
  [
    'an over-long tag',
    () =>
      gql(`mutation($t: [String!]!) { setModelTags(id: "${MODEL_ID}", tags: $t) { name } }`, {
        t: ['x'.repeat(100_000)],
      }),
    'BAD_USER_INPUT',
  ],
  [
    'a NUL byte in a library path',
    () =>
      gql(
        `mutation { linkLocalFile(id: "${Buffer.from('ModelFile:1').toString('base64')}", path: "/tmp/a\\u0000b") { id } }`,
      ),
    'BAD_USER_INPUT',
  ],
  [
    'too many hashes at once',
    () =>
      gql('query($h: [String!]!) { filesByHashes(hashes: $h) { hash } }', {
        h: Array.from({ length: 1001 }, () => 'ABCDEF0123'),
      }),
    'LIMIT_EXCEEDED',
  ],
  ['a hash that is not hex', () => gql('{ fileByHash(hash: "zzzz") { id } }'), 'BAD_USER_INPUT'],
  [
    'a search query far too long',
    () => gql('query($q: String!) { search(query: $q) { totalCount } }', { q: 'word '.repeat(2000) }),
    'LIMIT_EXCEEDED',
  ],
];

describe('bad input', () => {
  it.each(CASES)('%s gets a coded error', async (_name, send, code) => {
    const answer = await send();
    expect(answer.status, JSON.stringify(answer)).toBeGreaterThanOrEqual(200);
    expect(answer.status, JSON.stringify(answer)).toBeLessThan(500);
    expect(answer.codes, JSON.stringify(answer)).toContain(code);
    for (const message of answer.messages) expect(message).not.toMatch(/SQLITE|\bat [\w.]+ \(|node_modules/);
  });

  it('reports deeply nested JSON as a failed import item, at any depth', async () => {
    for (const depth of [5_000, 1_000_000]) {
      const answer = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"query": "mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created failed failures { path message } } }", "variables": {"p": {"items": ${nested(depth)}}}}`,
      });
      expect(answer.status).toBeLessThan(500);
      const body = (await answer.json()) as {
        data?: { importCivitaiPayload: { created: number; failed: number; failures: { message: string }[] } };
        errors?: { extensions: { code: string } }[];
      };
      if (body.errors) expect(body.errors[0]!.extensions.code).toMatch(/BAD_USER_INPUT|BAD_REQUEST|LIMIT_EXCEEDED/);
      else
        expect(body.data!.importCivitaiPayload).toMatchObject({
          created: 0,
          failed: 1,
          failures: [{ message: expect.stringMatching(/not a Civitai model/) }],
        });
    }
  });

  it('leaves the server up and the database unchanged', async () => {
    const health = await fetch(`${server.origin}/health`);
    expect(health.status).toBe(200);
    expect(
      (await server.graphql<{ models: { totalCount: number } }>('{ models { totalCount } }')).data?.models.totalCount,
    ).toBe(catalog.summary.models);
    expect(await catalogChecksum(server)).toBe(before);
  });
});
