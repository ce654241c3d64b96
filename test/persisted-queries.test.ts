/**
 * Cacheable reads: persisted documents by id (`GET /graphql?documentId=…&variables=…`, or POST with `documentId`),
 * answered with an ETag made from the document, its variables, the catalog revision and the caller's token class;
 * an `If-None-Match` that still matches is a 304 after one statement (the revision), executing nothing. Every write
 * makes a new ETag, whoever writes: a mutation, the CLI, the desktop app on the SQLite file, another PostgreSQL
 * connection. Repeated reads come from the in-process cache, byte for byte what running them gives.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { print } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { schema } from '../src/schema/index.ts';
import { documentIdFor, loadPersistedDocuments } from '../src/server/persisted-documents.ts';
import { manifestFile } from './helpers/persisted.ts';
import { graphql } from '../src/generated/graphql/index.ts';
import { cliArgsFor, seededCatalog } from './helpers/catalog.ts';
import { cli } from './helpers/cli.ts';
import { queryPostgres, TEST_ENGINE } from './helpers/postgres.ts';
import { startSeededServer, startTestServer, type TestServer } from './helpers/server.ts';

const ModelsPage = graphql(`
  query PersistedModelsPage($first: Int!) {
    models(first: $first, orderBy: [{ field: NAME }]) {
      totalCount
      nodes {
        id
        databaseId
        name
        versions(first: 1) {
          nodes {
            images(first: 1) {
              nodes {
                thumbnail {
                  url
                }
              }
            }
          }
        }
      }
    }
  }
`);

const SearchPage = graphql(`
  query PersistedSearch($query: String!) {
    search(query: $query, first: 5) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const RenameModel = graphql(`
  mutation PersistedRenameModel($id: ID!, $name: String!) {
    updateModel(id: $id, input: { name: $name }) {
      name
    }
  }
`);

const HealthAndDownloads = graphql(`
  query PersistedHealthAndDownloads {
    health {
      ok
    }
    downloads(first: 1) {
      totalCount
    }
  }
`);

function idOf(document: unknown): string {
  const id = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!id) throw new Error('the document has no persisted id: run npm run codegen');
  return id;
}

const CSRF = { 'x-graphql-yoga-csrf': '1', accept: 'application/graphql-response+json' };

interface Answer {
  status: number;
  etag: string | null;
  cacheControl: string | null;
  body: string;
}

async function persistedGet(
  server: TestServer,
  document: unknown,
  variables: Record<string, unknown> | null,
  headers: Record<string, string> = {},
  base = server.url,
): Promise<Answer> {
  const url = new URL(base);
  url.searchParams.set('documentId', idOf(document));
  if (variables) url.searchParams.set('variables', JSON.stringify(variables));
  const response = await fetch(url, { headers: { ...CSRF, ...headers } });
  return {
    status: response.status,
    etag: response.headers.get('etag'),
    cacheControl: response.headers.get('cache-control'),
    body: await response.text(),
  };
}

async function persistedPost(server: TestServer, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, etag: response.headers.get('etag'), json: (await response.json()) as any };
}

const FIRST = { first: 3 };

describe('persisted queries with ETags', () => {
  let server: TestServer;
  const statements: string[] = [];

  beforeAll(async () => {
    ({ server } = await startSeededServer(statements));
  });

  /** The current ETag, after a fresh 200. */
  async function currentAnswer(): Promise<Answer> {
    const answer = await persistedGet(server, ModelsPage, FIRST);
    expect(answer.status, answer.body).toBe(200);
    expect(answer.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    return answer;
  }

  it('answers 200 with an ETag and no-cache, the same data as the document sent as text', async () => {
    const answer = await currentAnswer();
    expect(answer.cacheControl).toBe('no-cache');
    const asText = await server.graphql(print(ModelsPage), FIRST);
    expect(JSON.parse(answer.body)).toEqual({ data: asText.data });
    expect(JSON.parse(answer.body).data.models.nodes).toHaveLength(3);
  });

  it('answers 304 for an ETag that still matches, after one statement (the revision) and without executing', async () => {
    const { etag } = await currentAnswer();
    statements.length = 0;
    const again = await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(again.etag).toBe(etag);
    expect(again.cacheControl).toBe('no-cache');
    expect(again.body).toBe('');
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/"CatalogRevision"/);
    // A list of tags, a weak tag and `*` match too (RFC 9110's weak comparison for If-None-Match).
    for (const header of [`"other", ${etag}`, `W/${etag}`, '*'])
      expect((await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': header })).status).toBe(304);
  });

  it('serves a repeated read from memory, byte for byte what running it gave', async () => {
    const first = await currentAnswer();
    statements.length = 0;
    const second = await persistedGet(server, ModelsPage, FIRST);
    expect(second.status).toBe(200);
    expect(second.etag).toBe(first.etag);
    expect(second.body).toBe(first.body);
    expect(statements).toHaveLength(1);
  });

  it('reads the revision once for a persisted search: the one the cache read is the one the search uses', async () => {
    for (const query of ['model', 'lora style']) {
      statements.length = 0;
      const answer = await persistedGet(server, SearchPage, { query });
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body).errors).toBeUndefined();
      expect(
        statements.filter((text) => text.includes('"CatalogRevision"')),
        query,
      ).toHaveLength(1);
      expect(statements.length, query).toBeGreaterThan(1);
    }
  });

  it('has an ETag per variables, and per Host (thumbnail URLs are absolute)', async () => {
    const three = await currentAnswer();
    const two = await persistedGet(server, ModelsPage, { first: 2 });
    expect(two.etag).not.toBe(three.etag);
    const otherHost = await persistedGet(server, ModelsPage, FIRST, {}, server.url.replace('127.0.0.1', 'localhost'));
    expect(otherHost.status).toBe(200);
    expect(otherHost.etag).not.toBe(three.etag);
  });

  it('keys answers by the declared variables only: an undeclared one changes neither ETag nor what is kept', async () => {
    const first = await currentAnswer();
    statements.length = 0;
    // Execution ignores variables the operation does not declare; a client adding its own must not churn the cache.
    const extra = await persistedGet(server, ModelsPage, { ...FIRST, cacheBuster: Math.random() });
    expect(extra.status).toBe(200);
    expect(extra.etag).toBe(first.etag);
    expect(extra.body).toBe(first.body);
    expect(statements).toHaveLength(1);
  });

  it('answers 200 with a new ETag after a mutation', async () => {
    const before = await currentAnswer();
    const id = JSON.parse(before.body).data.models.nodes[0].id;
    const renamed = await server.graphql(print(RenameModel), { id, name: 'AAA renamed by a mutation' });
    expect(renamed.errors).toBeUndefined();
    const after = await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': before.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(before.etag);
    expect(after.body).toContain('AAA renamed by a mutation');
  });

  it('answers 200 with a new ETag after a CLI import', async () => {
    const before = await currentAnswer();
    const fixture = path.join(PROJECT_ROOT, 'test', 'fixtures', 'civitai', 'model-drift.json');
    const imported = await cli(['import', fixture, ...cliArgsFor(server.config.dataDir, server.config.database)]);
    expect(imported.code, imported.stderr).toBe(0);
    const after = await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': before.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(before.etag);
    expect(JSON.parse(after.body).data.models.totalCount).toBe(JSON.parse(before.body).data.models.totalCount + 1);
  });

  it.runIf(TEST_ENGINE === 'sqlite')(
    'answers 200 with a new ETag after a write by another SQLite connection (the desktop app)',
    async () => {
      const before = await currentAnswer();
      const desktop = new Database(server.config.databasePath);
      try {
        const id = JSON.parse(before.body).data.models.nodes[0].databaseId;
        desktop.prepare(`UPDATE Models SET Name = 'AAA renamed on the desktop' WHERE Id = ?`).run(id);
      } finally {
        desktop.close();
      }
      const after = await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': before.etag! });
      expect(after.status).toBe(200);
      expect(after.etag).not.toBe(before.etag);
      expect(after.body).toContain('AAA renamed on the desktop');
    },
  );

  it.runIf(TEST_ENGINE === 'postgres')(
    'answers 200 with a new ETag after a write through another PostgreSQL connection',
    async () => {
      const before = await currentAnswer();
      const database = server.config.database;
      if (database?.engine !== 'postgres') throw new Error('expected a PostgreSQL catalog');
      const id = JSON.parse(before.body).data.models.nodes[0].databaseId;
      await queryPostgres(database.url, `UPDATE "Models" SET "Name" = 'AAA renamed over SQL' WHERE "Id" = $1`, [id]);
      const after = await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': before.etag! });
      expect(after.status).toBe(200);
      expect(after.etag).not.toBe(before.etag);
      expect(after.body).toContain('AAA renamed over SQL');
    },
  );

  it('runs a persisted document sent by POST with documentId, a mutation included, which is never cached', async () => {
    const read = await persistedPost(server, { documentId: idOf(ModelsPage), variables: FIRST });
    expect(read.status).toBe(200);
    expect(read.json.data.models.nodes).toHaveLength(3);
    const id = read.json.data.models.nodes[1].id;
    for (const name of ['BBB first', 'BBB second']) {
      const written = await persistedPost(server, { documentId: idOf(RenameModel), variables: { id, name } });
      expect(written.json).toEqual({ data: { updateModel: { name } } });
      expect(written.etag).toBeNull();
    }
    const mutationByGet = await persistedGet(server, RenameModel, { id, name: 'never' });
    expect(mutationByGet.status).toBe(405);
    expect(mutationByGet.etag).toBeNull();
  });

  it('gives no ETag to documents reading what the revision does not cover (health, the download queue)', async () => {
    const answer = await persistedGet(server, HealthAndDownloads, null);
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body).data.health.ok).toBe(true);
    expect(answer.etag).toBeNull();
  });

  it('lets pages of allowed origins revalidate: the ETag is exposed, If-None-Match allowed, answers vary by Origin', async () => {
    const origin = 'http://localhost:5173';
    const preflight = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'if-none-match, x-graphql-yoga-csrf',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['if-none-match', 'x-graphql-yoga-csrf']));
    const url = new URL(server.url);
    url.searchParams.set('documentId', idOf(ModelsPage));
    url.searchParams.set('variables', JSON.stringify(FIRST));
    const answer = await fetch(url, { headers: { ...CSRF, origin } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('etag')).toMatch(/^"/);
    await answer.arrayBuffer();
    expect((answer.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('etag');
    expect((answer.headers.get('vary') ?? '').toLowerCase()).toContain('origin');
  });

  it('refuses a request that sends both a documentId and a query: which one ran would be a guess', async () => {
    statements.length = 0;
    const both = await persistedPost(server, {
      documentId: idOf(ModelsPage),
      query: '{ libraryStats { modelCount } }',
      variables: FIRST,
    });
    expect(both.status).toBe(400);
    expect(both.json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(both.json.errors[0].message).toMatch(/either `documentId` or `query`/);
    expect(both.json.data).toBeUndefined();
    const url = new URL(server.url);
    url.searchParams.set('documentId', idOf(ModelsPage));
    url.searchParams.set('query', '{ libraryStats { modelCount } }');
    url.searchParams.set('variables', JSON.stringify(FIRST));
    const viaGet = await fetch(url, { headers: CSRF });
    const answer = (await viaGet.json()) as any;
    expect(viaGet.status, JSON.stringify(answer)).toBe(400);
    expect(answer.errors[0].message).toMatch(/either `documentId` or `query`/);
    expect(statements).toEqual([]);
  });

  it('refuses an unknown documentId with PERSISTED_DOCUMENT_NOT_FOUND', async () => {
    const unknown = `sha256:${'0'.repeat(64)}`;
    const response = await fetch(`${server.url}?documentId=${encodeURIComponent(unknown)}`, { headers: CSRF });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
    expect(body.errors[0]!.message).toContain(unknown);
    const posted = await persistedPost(server, { documentId: unknown });
    expect(posted.status).toBe(400);
    expect(posted.json.errors[0].extensions.code).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
  });
});

describe('persisted queries and the write token', () => {
  const TOKEN = 'persisted-token-0123456789';

  it("gives readers and writers different ETags (the caller's token class is part of it)", async () => {
    const catalog = await seededCatalog();
    const server = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      apiToken: TOKEN,
    });
    const reader = await persistedGet(server, ModelsPage, FIRST);
    const writer = await persistedGet(server, ModelsPage, FIRST, { authorization: `Bearer ${TOKEN}` });
    expect(reader.status).toBe(200);
    expect(writer.status).toBe(200);
    expect(reader.body).toBe(writer.body);
    expect(writer.etag).not.toBe(reader.etag);
    const crossed = await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': reader.etag! });
    expect(crossed.status).toBe(304);
    const writerWithReaderTag = await persistedGet(server, ModelsPage, FIRST, {
      authorization: `Bearer ${TOKEN}`,
      'if-none-match': reader.etag!,
    });
    expect(writerWithReaderTag.status).toBe(200);
  });
});

describe('trusted documents only', () => {
  it('runs persisted documents and refuses document text with PERSISTED_DOCUMENTS_ONLY', async () => {
    const catalog = await seededCatalog();
    const server = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      trustedDocumentsOnly: true,
    });
    expect((await persistedGet(server, ModelsPage, FIRST)).status).toBe(200);
    const text = await server.graphql('{ models(first: 1) { totalCount } }');
    expect(text.status).toBe(403);
    expect(text.errors?.[0]?.extensions?.code).toBe('PERSISTED_DOCUMENTS_ONLY');
  });
});

describe('the response cache turned off', () => {
  it('runs every read (DIFFUSION_NEXUS_RESPONSE_CACHE_BYTES=0), with ETags and 304s as before', async () => {
    const catalog = await seededCatalog();
    const statements: string[] = [];
    const server = await startTestServer(
      { dataDir: catalog.dataDir, databasePath: catalog.databasePath, responseCacheBytes: 0 },
      { onStatement: (text) => statements.push(text) },
    );
    const first = await persistedGet(server, ModelsPage, FIRST);
    statements.length = 0;
    const second = await persistedGet(server, ModelsPage, FIRST);
    expect(second.body).toBe(first.body);
    expect(second.etag).toBe(first.etag);
    expect(statements.length).toBeGreaterThan(1);
    statements.length = 0;
    expect((await persistedGet(server, ModelsPage, FIRST, { 'if-none-match': first.etag! })).status).toBe(304);
    expect(statements).toHaveLength(1);
  });
});

describe('manifests of persisted documents', () => {
  it('loads valid documents, and refuses at start-up one that would fail whenever a client sent its id', () => {
    const good = '{ models(first: 1) { totalCount } }';
    expect(loadPersistedDocuments([manifestFile({ [documentIdFor(good)]: good })], schema).size).toBe(1);
    for (const [text, problem] of [
      ['{ models(first: 1) { totalCount }', /does not parse/],
      ['{ models(first: 1) { noSuchField } }', /noSuchField/],
      ['query($n: Int!) { models(first: $m) { totalCount } }', /\$m/],
    ] as const) {
      const file = manifestFile({ [documentIdFor(good)]: good, [documentIdFor(text)]: text });
      expect(() => loadPersistedDocuments([file], schema), text).toThrow(
        expect.objectContaining({
          code: 'BAD_USER_INPUT',
          message: expect.stringMatching(new RegExp(`${file}.*${documentIdFor(text)}[^]*${problem.source}`)),
        }),
      );
    }
    // An id that is not the hash of its document would run another document than the client's.
    const file = manifestFile({ [documentIdFor('{ tags { name } }')]: good });
    expect(() => loadPersistedDocuments([file], schema)).toThrow(/is not the SHA-256 of its document/);
  });
});
