/**
 * GraphQL over HTTP conformance (the `graphql-http` audit suite) and the query-shape limits, against a real
 * server on 127.0.0.1.
 */
import { serverAudits } from 'graphql-http';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../src/catalog/query-limits.ts';
import { firstErrorCode, seededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  const catalog = await seededCatalog({ models: 5, thumbnails: 'none' });
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
});

describe('graphql-http audit', () => {
  it('passes every required audit (MUST); SHOULD/MAY findings are reported', async () => {
    const failures: string[] = [];
    const warnings: string[] = [];
    for (const audit of serverAudits({ url: server.url })) {
      const result = await audit.fn();
      if (result.status === 'error') failures.push(`${audit.name}: ${result.reason}`);
      if (result.status === 'warn') warnings.push(`${audit.name}: ${result.reason}`);
    }
    if (warnings.length > 0) console.info(`graphql-http recommendations not followed:\n  ${warnings.join('\n  ')}`);
    expect(failures).toEqual([]);
  });
});

describe('HEAD /graphql', () => {
  it('answers as GET does, without the body: the GraphiQL page and a query by GET', async () => {
    const url = `${server.url}?query=${encodeURIComponent('{ __typename }')}`;
    for (const [target, headers] of [
      [server.url, { accept: 'text/html' }],
      [url, { 'x-graphql-yoga-csrf': '1' }],
    ] as const) {
      const get = await fetch(target, { headers });
      const head = await fetch(target, { method: 'HEAD', headers });
      expect(get.status, target).toBe(200);
      expect(head.status, target).toBe(get.status);
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expect((await get.text()).length).toBeGreaterThan(0);
      expect(await head.text()).toBe('');
    }
  });
});

describe('Accept weights', () => {
  const typeFor = async (accept: string) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    await response.text();
    return response.status === 200 ? response.headers.get('content-type')?.split(';')[0] : response.status;
  };

  it('answers in the acceptable type of highest weight, and refuses a request that accepts nothing (q=0)', async () => {
    expect(await typeFor('application/graphql-response+json, application/json')).toBe(
      'application/graphql-response+json',
    );
    expect(await typeFor('application/graphql-response+json;q=0.5, application/json')).toBe('application/json');
    expect(await typeFor('application/graphql-response+json;q=0, application/json;q=0.1')).toBe('application/json');
    expect(await typeFor('application/json;q=0.2, application/graphql-response+json;q=0.9')).toBe(
      'application/graphql-response+json',
    );
    expect(await typeFor('application/json;q=0')).toBe(406);
  });

  it('never answers in a refused type through a wildcard beside the refusal', async () => {
    const graphqlJson = 'application/graphql-response+json';
    expect(await typeFor('application/json;q=0, */*')).toBe(graphqlJson);
    expect(await typeFor('application/json;q=0.000, */*;q=0.5')).toBe(graphqlJson);
    expect(await typeFor('application/json;q=0, application/*')).toBe(graphqlJson);
    // Both JSON types refused, anything else accepted: a stream yoga serves, never JSON.
    const streamed = await typeFor('application/json;q=0, application/graphql-response+json;q=0, */*');
    expect(['multipart/mixed', 'text/event-stream']).toContain(streamed);
    expect(await typeFor('application/json;q=0, application/graphql-response+json;q=0, application/*')).toBe(406);
  });

  it("keeps a browser's text/html, which asks for GraphiQL, beside weighted types", async () => {
    const response = await fetch(server.url, {
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('<html');
  });

  it('reads weights in long headers, and answers a thousand unservable types with a small 406', async () => {
    const padding = Array.from({ length: 600 }, (_, i) => `x${i}/y${i}`).join(', ');
    expect(padding.length).toBeGreaterThan(4096);
    expect(await typeFor(`application/json;q=0, application/graphql-response+json, ${padding}`)).toBe(
      'application/graphql-response+json',
    );
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: Array.from({ length: 1000 }, (_, i) => `t${i}/s${i}`).join(','),
      },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    const body = await response.text();
    expect(response.status).toBe(406);
    expect((response.headers.get('accept') ?? '').length + body.length).toBeLessThan(1024);
  });
});

describe('query limits sized for Relay shapes', () => {
  it('runs a rich nested page of 100 models', async () => {
    const response =
      await server.graphql(`{ models(first: 100) { totalCount pageInfo { endCursor } edges { cursor node { id name creator { username } tags { name }
      versions(first: 5) { totalCount nodes { name files { fileName hashes { sha256 autoV2 } } triggerWords { word }
        images(first: 3) { nodes { url width height thumbnail { url byteSize } } } } } } } } }`);
    expect(response.errors).toBeUndefined();
  });

  it('refuses pages of pages that multiply past the complexity limit, naming it', async () => {
    const response = await server.graphql(
      `{ models(first: 100) { nodes { versions(first: 100) { nodes { images(first: 100) { nodes { url prompt seed } } } } } } }`,
    );
    expect(firstErrorCode(response)).toBe('LIMIT_EXCEEDED');
    expect(response.errors?.[0]?.message).toMatch(
      new RegExp(`complexity \\d+ exceeds the limit of ${QUERY_LIMITS.complexity}`),
    );
  });

  it('refuses documents that are too deep', async () => {
    let selection = 'id';
    for (let i = 0; i < 10; i++) selection = `model { versions(first: 1) { nodes { ${selection} } } }`;
    const response = await server.graphql(`{ modelVersion(databaseId: 1) { ${selection} } }`);
    expect(firstErrorCode(response)).toBe('LIMIT_EXCEEDED');
    expect(response.errors?.[0]?.message).toMatch(/depth \d+ exceeds the limit/);
  });

  it('refuses alias bombs and token floods before execution', async () => {
    const aliases = Array.from({ length: QUERY_LIMITS.aliases + 1 }, (_, i) => `a${i}: health { ok }`).join(' ');
    const tooManyAliases = await server.graphql(`{ ${aliases} }`);
    expect(firstErrorCode(tooManyAliases)).toBe('LIMIT_EXCEEDED');
    expect(tooManyAliases.errors?.[0]?.message).toMatch(/Aliases limit of \d+ exceeded/);
    const flood = await server.graphql(`{ health { ${'ok '.repeat(QUERY_LIMITS.tokens)} } }`);
    expect(firstErrorCode(flood)).toBe('LIMIT_EXCEEDED');
    expect(flood.errors?.[0]?.message).toMatch(/Token limit of \d+ exceeded/);
  });
});
