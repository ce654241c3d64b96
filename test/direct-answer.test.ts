/**
 * Plain JSON queries skip yoga's fetch layer (`src/server/direct-answer.ts`). The same requests go to a server that
 * answers them directly and to one that sends every request through yoga whole (`directAnswers: false`), each over
 * its own copy of the seeded catalog: status, headers and bytes must be the same, and the request log says which
 * requests took the direct path — every plain one, and none of those whose hooks or answers yoga's ends shape.
 */
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { createLogger } from '../src/server/logger.ts';
import { mediaChoicesMade } from '../src/server/direct-answer.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

interface Sent {
  body: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  /** A GET's query string. */
  search?: string;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers that differ per request or per server whatever the path (the length follows the origin in the body). */
const VARYING = new Set(['date', 'x-request-id', 'content-length']);

async function send(server: TestServer, sent: Sent, requestId: string): Promise<Answer> {
  const response = await fetch(`${server.url}${sent.search ?? ''}`, {
    method: sent.method ?? 'POST',
    headers: {
      'x-request-id': requestId,
      ...(sent.method === 'GET' ? {} : { 'content-type': 'application/json' }),
      ...sent.headers,
    },
    ...(sent.method === 'GET' ? {} : { body: sent.body }),
  });
  const body = await response.text();
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) if (!VARYING.has(name)) headers[name] = value;
  const length = response.headers.get('content-length');
  if (length !== null) expect(Number(length)).toBe(Buffer.byteLength(body));
  return { status: response.status, headers, body: body.replaceAll(server.origin, 'http://host') };
}

const SEARCH = `query Search($query: String!, $first: Int!) {
  search(query: $query, first: $first) { pageInfo { hasNextPage } edges { cursor score node { id name type } } }
}`;
const LIST = `query List($first: Int!) { models(first: $first) { nodes { databaseId name creator { username }
  versions(first: 2) { nodes { name images(first: 1) { nodes { thumbnail { url } } } } } } } }
query Other { health { ok } }`;

/** A POST of `query` alone, with these request headers. */
const posted = (query: string, headers: Record<string, string>): Sent => ({ body: JSON.stringify({ query }), headers });
const FLOOR = JSON.stringify({ query: '{ __typename }' });
const floorWith = (headers: Record<string, string>): Sent => posted('{ __typename }', headers);

/** Requests the direct path answers. */
const DIRECT: Record<string, Sent> = {
  floor: { body: FLOOR },
  search: { body: JSON.stringify({ query: SEARCH, variables: { query: 'portrait', first: 5 } }) },
  'named operation of two, thumbnail URLs from the Host': {
    body: JSON.stringify({ query: LIST, variables: { first: 3 }, operationName: 'List' }),
  },
  'null variables and operation name': {
    body: JSON.stringify({ query: '{ health { ok } }', variables: null, operationName: null }),
  },
  'no operation name for two operations': { body: JSON.stringify({ query: LIST, variables: { first: 1 } }) },
  'an unknown operation name': { body: JSON.stringify({ query: LIST, operationName: 'Nope' }) },
  'validation error, Accept absent': { body: JSON.stringify({ query: '{ nope }' }) },
  'validation error, application/json': posted('{ nope }', { accept: 'application/json' }),
  'validation error, graphql-response+json': posted('{ nope }', { accept: 'application/graphql-response+json' }),
  'Accept */* (what fetch and curl send)': floorWith({ accept: '*/*' }),
  'Accept application/*': posted('{ nope }', { accept: 'application/*' }),
  'Accept: JSON refused (q=0), */* allowed': floorWith({ accept: 'application/json;q=0, */*;q=0.5' }),
  'both JSON types with parameters': posted('{ nope }', {
    accept: 'application/graphql-response+json;q=0.9, application/json;charset=utf-8',
  }),
  'syntax error': { body: JSON.stringify({ query: '{ models(' }) },
  'a required variable missing': { body: JSON.stringify({ query: SEARCH, variables: { first: 5 } }) },
  'a variable of the wrong type': { body: JSON.stringify({ query: SEARCH, variables: { query: 'a', first: 'x' } }) },
  'a coded resolver error': { body: JSON.stringify({ query: '{ models(first: -1) { nodes { name } } }' }) },
  'a query past the depth limit': {
    body: JSON.stringify({
      query: `{ models(first: 1) { nodes { versions(first: 1) { nodes { model { versions(first: 1) { nodes {
        model { versions(first: 1) { nodes { model { versions(first: 1) { nodes { model { name } } } } } } } } } } } } } } }`,
    }),
  },
  introspection: { body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) },
  'a mutation that deletes an image (each server its own catalog)': {
    body: JSON.stringify({
      query: `mutation { deleteModelImage(id: "${encodeNodeId('ModelImage', 3)}") { id databaseId } }`,
    }),
  },
  'a mutation refused with a code': {
    body: JSON.stringify({ query: 'mutation { deleteModel(id: "bm90IGFuIGlk") { id } }' }),
  },
  '@defer for a client that takes JSON only (answered whole)': posted(
    '{ health { ok ... @ defer { schemaVersion } } }',
    {
      accept: '*/*',
    },
  ),
  'a blank query': { body: JSON.stringify({ query: '  ' }) },
  'Content-Type with a charset': floorWith({ 'content-type': 'application/json; charset=utf-8' }),
};

/** Requests yoga answers whole on both servers (the hooks at its ends, or a stream, may shape the answer). */
const THROUGH_YOGA: Record<string, Sent> = {
  'an Origin (CORS)': floorWith({ origin: 'http://127.0.0.1:9' }),
  extensions: { body: JSON.stringify({ query: '{ __typename }', extensions: {} }) },
  'a persisted document id': { body: JSON.stringify({ documentId: 'sha256:nope' }) },
  'query and document id': { body: JSON.stringify({ query: '{ __typename }', documentId: 'x' }) },
  'a batch': { body: JSON.stringify([{ query: '{ __typename }' }]) },
  'an empty query': { body: JSON.stringify({ query: '' }) },
  'Content-Type in capitals': floorWith({ 'content-type': 'Application/JSON' }),
  'Content-Type json-seq': floorWith({ 'content-type': 'application/json-seq' }),
  'Content-Type graphql+json': floorWith({ 'content-type': 'application/graphql+json' }),
  'a number for the query': { body: JSON.stringify({ query: 1 }) },
  'variables as a list': { body: JSON.stringify({ query: '{ __typename }', variables: [] }) },
  'Accept: a stream, or JSON': floorWith({ accept: 'multipart/mixed, application/json' }),
  'Accept: a stream only': floorWith({ accept: 'text/event-stream' }),
  'Accept: JSON in another charset': floorWith({ accept: 'application/json; charset=latin1' }),
  'Accept: nothing that yoga serves': floorWith({ accept: 'text/html' }),
  '@defer for a client that takes parts': posted('{ health { ok ... @defer { schemaVersion } } }', {
    accept: 'multipart/mixed, application/json',
  }),
  '@ defer (a space is allowed) for a client that takes parts': posted(
    '{ health { ok ... @ defer { schemaVersion } } }',
    { accept: 'text/event-stream, application/json' },
  ),
  'a subscription': posted('subscription { catalogChanges { revision } }', { accept: 'application/json' }),
  GET: { body: '', method: 'GET', search: `?query=${encodeURIComponent('{ __typename }')}` },
};

describe('answers without yoga fetch layer', () => {
  let direct: TestServer;
  let throughYoga: TestServer;
  let logText = '';

  beforeAll(async () => {
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    const [one, two] = [await seededCatalog(), await seededCatalog()];
    direct = await startTestServer(
      { dataDir: one.dataDir, databasePath: one.databasePath, log: { level: 'info', format: 'json' } },
      { logger: createLogger({ level: 'info', format: 'json' }, out) },
    );
    throughYoga = await startTestServer(
      { dataDir: two.dataDir, databasePath: two.databasePath },
      { directAnswers: false },
    );
  });

  /** The request's log line on the direct server. */
  const lineOf = (requestId: string) => {
    const line = logText
      .split('\n')
      .filter(Boolean)
      .map((text) => JSON.parse(text) as { reqId?: string; direct?: boolean })
      .find((entry) => entry.reqId === requestId);
    if (!line) throw new Error(`no log line for ${requestId}`);
    return line;
  };
  const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

  it.each(Object.entries(DIRECT))('%s: the same answer, directly', async (name, sent) => {
    const id = `direct-${name.replace(/\W+/g, '-')}`;
    const [a, b] = [await send(direct, sent, id), await send(throughYoga, sent, `${id}-yoga`)];
    expect(a).toEqual(b);
    await settled();
    expect(lineOf(id).direct).toBe(true);
  });

  it.each(Object.entries(THROUGH_YOGA))('%s: the same answer, through yoga', async (name, sent) => {
    const id = `yoga-${name.replace(/\W+/g, '-')}`;
    const [a, b] = [await send(direct, sent, id), await send(throughYoga, sent, `${id}-yoga`)];
    expect(a).toEqual(b);
    await settled();
    expect(lineOf(id).direct).toBeUndefined();
  });

  it("works out yoga's choice of media type once per Accept header, and answers alike with it", async () => {
    const accept = 'application/graphql-response+json;q=0.8, application/json;q=0.9, */*;q=0.1';
    const sent = floorWith({ accept });
    const before = mediaChoicesMade.count;
    for (const time of [1, 2, 3]) {
      const id = `media-choice-${time}`;
      const [a, b] = [await send(direct, sent, id), await send(throughYoga, sent, `${id}-yoga`)];
      expect(a).toEqual(b);
    }
    expect(mediaChoicesMade.count).toBe(before + 1);
  });

  /** Requests without a mutation: they may be sent again and again, to both servers. */
  const REPEATABLE = Object.entries(DIRECT).filter(([, sent]) => !sent.body.includes('mutation'));

  it.each(REPEATABLE)('%s, asked three times: the same answers, prepared once it ran compiled', async (name, sent) => {
    const id = `again-${name.replace(/\W+/g, '-')}`;
    for (const time of [1, 2, 3]) {
      const [a, b] = [await send(direct, sent, `${id}-${time}`), await send(throughYoga, sent, `${id}-${time}-yoga`)];
      expect(a).toEqual(b);
    }
    await settled();
    type Line = { direct?: boolean; prepared?: boolean; compiled?: boolean; operation?: string };
    const [second, third] = [2, 3].map((time) => lineOf(`${id}-${time}`) as Line);
    // A query is learned when it runs compiled (from its second use on, `COMPILE.minUses`; some of these texts were
    // sent before) and answered prepared from then on; anything else never is.
    if (second!.compiled === true && second!.operation?.startsWith('query')) expect(third!.prepared).toBe(true);
    // Only queries that executed are prepared: never a text that fails to parse or validate, nor a mutation.
    if (third!.prepared) expect(third!.operation).toMatch(/^query\b/);
    expect(third!.direct).toBe(true);
  });

  it('hot queries are answered prepared: the floor, a search, a named operation of two', () => {
    for (const name of ['floor', 'search', 'named operation of two, thumbnail URLs from the Host'])
      expect(lineOf(`again-${name.replace(/\W+/g, '-')}-3`)).toMatchObject({ prepared: true, compiled: true });
    for (const name of ['syntax error', 'validation error, Accept absent', 'an unknown operation name'])
      expect(lineOf(`again-${name.replace(/\W+/g, '-')}-3`)).not.toHaveProperty('prepared');
  });

  it('a prepared query with other variables answers as yoga does: its data, or its errors', async () => {
    const variables = [
      { query: 'style', first: 2 },
      { query: 'a', first: 'x' },
      { first: 5 },
      { query: 'style', first: 1000 },
      { query: '"unclosed', first: 2 },
    ];
    for (const [i, value] of variables.entries()) {
      const sent = { body: JSON.stringify({ query: SEARCH, variables: value }) };
      const id = `prepared-variables-${i}`;
      const [a, b] = [await send(direct, sent, id), await send(throughYoga, sent, `${id}-yoga`)];
      expect(a).toEqual(b);
      await settled();
      expect(lineOf(id)).toMatchObject({ prepared: true });
    }
  });

  it('a prepared @stream for a JSON-only client still checks its count: the document as parsed is kept', async () => {
    // Such a client gets the document without @defer and @stream (answered whole), but a negative count is still
    // refused, as the standard path refuses it.
    const query = 'query S($n: Int!) { models(first: 3) { nodes @stream(initialCount: $n) { name } } }';
    for (const [i, n] of [1, 2, 1, -1].entries()) {
      const sent = { body: JSON.stringify({ query, variables: { n } }) };
      const id = `stream-count-${i}`;
      const [a, b] = [await send(direct, sent, id), await send(throughYoga, sent, `${id}-yoga`)];
      expect(a).toEqual(b);
      if (n < 0) expect(a.body).toContain('BAD_USER_INPUT');
    }
    await settled();
    expect(lineOf('stream-count-3')).toMatchObject({ prepared: true });
  });

  it('the deleting mutation deleted on the direct path', async () => {
    const image = `{ node(id: "${encodeNodeId('ModelImage', 3)}") { id } }`;
    expect((await direct.graphql(image)).data).toEqual({ node: null });
    // It was there before: deleting it again finds nothing.
    const again = await direct.graphql(`mutation { deleteModelImage(id: "${encodeNodeId('ModelImage', 3)}") { id } }`);
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await direct.graphql(`{ node(id: "${encodeNodeId('ModelImage', 4)}") { id } }`)).data).toEqual({
      node: { id: encodeNodeId('ModelImage', 4) },
    });
  });

  it('a search answers the same as through yoga, with its data', async () => {
    const sent = DIRECT.search!;
    const answer = JSON.parse((await send(direct, sent, 'search-data')).body) as {
      data: { search: { edges: unknown[] } };
    };
    expect(answer.data.search.edges.length).toBeGreaterThan(0);
  });
});
