/**
 * Hot operations run compiled (graphql-jit), on a seeded catalog behind a real server: a document's first run is
 * on the standard executor and its next runs are compiled — the answers, errors and codes must not change with it;
 * large or one-off documents are never compiled, and compiling never holds the event loop for long.
 */
import { PassThrough } from 'node:stream';
import type { GraphQLObjectType, GraphQLResolveInfo } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNodeId, NODE_TYPES } from '../src/catalog/global-id.ts';
import { schema } from '../src/schema/index.ts';
import { COMPILE } from '../src/server/compiled-execution.ts';
import { createLogger } from '../src/server/logger.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { whileProbingHealth } from './helpers/hostile.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const WIDE = `query Wide($first: Int!, $after: String) {
  models(first: $first, after: $after) { pageInfo { endCursor } nodes {
    databaseId name type isNsfw createdAt creator { username } tags { name }
    versions(first: 3) { nodes {
      databaseId name baseModel files { databaseId fileName sizeKB hashes { sha256 } }
      images(first: 2) { nodes { databaseId sortOrder thumbnail { url width height } } }
      triggerWords { word }
    } }
  } }
}`;

const DETAIL = `query Detail($id: Int!) {
  model(databaseId: $id) {
    id name description type createdAt updatedAt versionCount totalDownloads creator { username avatarUrl }
    versions(first: 10) { totalCount nodes { name baseModel publishedAt rating triggerWordsText
      files { fileName sizeKB isPrimary hashes { autoV2 sha256 crc32 blake3 } }
      images(first: 10) { nodes { url nsfwLevel seed cfgScale thumbnail { url byteSize } } } } }
  }
}`;

/** `aliases` copies of a models list: a document of about 11 fields an alias. */
function aliased(aliases: number, salt: string): string {
  const one = (i: number) =>
    `m${i}: models(first: 2, filter: { nameContains: "${salt}${i}" }) { totalCount nodes { name type totalDownloads versionCount tags { name } creator { username } } }`;
  return `{ ${Array.from({ length: aliases }, (_, i) => one(i)).join('\n')} }`;
}

describe('compiled execution', () => {
  let server: TestServer;
  let logText = '';

  /** The request log lines of operations named `name`, in order. */
  const logged = (name: string) =>
    logText
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request' && String(line.operation ?? '').endsWith(name));

  beforeAll(async () => {
    const catalog = await seededCatalog({ models: 60 });
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    server = await startTestServer(
      { dataDir: catalog.dataDir, databasePath: catalog.databasePath, log: { level: 'info', format: 'json' } },
      { logger: createLogger({ level: 'info', format: 'json' }, out) },
    );
  });

  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('answers a hot document the same compiled as the standard executor did, and logs that it ran compiled', async () => {
    const first = await server.graphql(WIDE, { first: 20, after: null });
    const again = await server.graphql(WIDE, { first: 20, after: null });
    expect(first.errors).toBeUndefined();
    expect(again).toEqual(first);
    const cursor = (first.data as { models: { pageInfo: { endCursor: string } } }).models.pageInfo.endCursor;
    const [page2, page2again] = [
      await server.graphql(WIDE, { first: 20, after: cursor }),
      await server.graphql(WIDE, { first: 20, after: cursor }),
    ];
    expect(page2again).toEqual(page2);
    for (const id of [1, 7, 33]) {
      const plain = await server.graphql(DETAIL.replace('Detail', `Detail${id}`), { id });
      const compiled = await server.graphql(DETAIL.replace('Detail', `Detail${id}`), { id });
      expect(plain.errors).toBeUndefined();
      expect(compiled).toEqual(plain);
    }
    await settle();
    expect(logged('Wide').map((line) => line.compiled ?? false)).toEqual([false, true, true, true]);
    expect(logged('Detail7').map((line) => line.compiled ?? false)).toEqual([false, true]);
  });

  it('reports a bad variable of a compiled document exactly as the standard executor does', async () => {
    const query = 'query Dates($after: DateTime) { models(first: 1, filter: { createdAfter: $after }) { totalCount } }';
    // Warmed up: the document is compiled now. The uncompiled copies differ only in the operation's name (same length,
    // so the error locations agree).
    await server.graphql(query, { after: '2020-01-01T00:00:00Z' });
    await server.graphql(query, { after: '2020-01-01T00:00:00Z' });
    const compiled = await server.graphql(query, { after: 'yesterday' });
    const plain = await server.graphql(query.replace('Dates', 'Datex'), { after: 'yesterday' });
    expect(plain.errors?.[0]?.message).toMatch(/ISO-8601/);
    expect(compiled.status).toBe(plain.status);
    expect(compiled.errors).toEqual(plain.errors);
    const wrongType = await server.graphql(query, { after: 12 });
    const wrongTypePlain = await server.graphql(query.replace('Dates', 'Datey'), { after: 12 });
    expect(wrongType.errors).toEqual(wrongTypePlain.errors);
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('gives the same field errors, paths and codes compiled as not', async () => {
    const query = '{ ok: models(first: 1) { totalCount } tooMany: models(first: 5000) { totalCount } }';
    const plain = await server.graphql(query);
    const compiled = await server.graphql(query);
    expect(plain.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(compiled).toEqual(plain);
  });

  it(`never compiles a document of more than ${COMPILE.maxFields} fields`, async () => {
    const big = aliased(Math.ceil(COMPILE.maxFields / 11) + 2, 'big').replace('{', 'query Big {');
    for (let i = 0; i < 3; i++) expect((await server.graphql(big)).errors).toBeUndefined();
    await settle();
    expect(logged('Big').map((line) => line.compiled ?? false)).toEqual([false, false, false]);
  });

  it('keeps /health answering while many distinct documents near the limit are compiled', async () => {
    const documents = Array.from({ length: 40 }, (_, i) =>
      aliased(Math.floor(COMPILE.maxFields / 11) - 1, `n${i}-`).replace('{', `query Near${i} {`),
    );
    // One at a time, so /health measures what compiling holds the loop for, not a queue of requests.
    const { health } = await whileProbingHealth(server.origin, async () => {
      for (let round = 0; round < 2; round++)
        for (const document of documents) expect((await server.graphql(document)).errors).toBeUndefined();
    });
    expect(health.failures).toBe(0);
    expect(health.maxMs).toBeLessThan(250);
    await settle();
    // The compile budget spread the work: some compiled, and every one that did not still answered.
    const compiledRuns = documents.flatMap((_, i) => logged(`Near${i}`)).filter((line) => line.compiled).length;
    expect(compiledRuns).toBeGreaterThan(0);
  });
});

describe('node ids', () => {
  it('are resolved without a promise, with the same encoding', () => {
    for (const name of NODE_TYPES) {
      const type = schema.getType(name) as GraphQLObjectType;
      const id = type.getFields().id!.resolve!({ id: 7 }, {}, {}, {} as GraphQLResolveInfo);
      expect(id, name).toBe(encodeNodeId(name, 7));
    }
  });
});
