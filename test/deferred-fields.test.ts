/**
 * Deferred fields: `@defer` and `@stream` over `multipart/mixed`, so a grid gets its names first and the heavy
 * parts (base64 thumbnails, long descriptions) after. The parts arrive in order — the initial answer, then the
 * deferred ones, the last saying `hasNext: false` — the base64 budget counts every part of one response, hot
 * (compiled) documents keep deferring, and a client that cannot take parts gets the whole answer at once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { seededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

interface Part {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  incremental?: {
    path: (string | number)[];
    data?: Record<string, unknown>;
    items?: unknown[];
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  }[];
  hasNext?: boolean;
}

/** POSTs a query accepting multipart/mixed and returns its parts in the order they came. */
async function incremental(
  server: TestServer,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; contentType: string | null; parts: Part[] }> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed, application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const contentType = response.headers.get('content-type');
  const body = await response.text();
  const parts: Part[] = [];
  if (contentType?.startsWith('multipart/mixed')) {
    const boundary = /boundary="?([^";]+)"?/.exec(contentType)![1]!;
    for (const piece of body.split(`\r\n--${boundary}`)) {
      const blank = piece.indexOf('\r\n\r\n');
      if (blank === -1) continue;
      parts.push(JSON.parse(piece.slice(blank + 4)) as Part);
    }
  } else parts.push(JSON.parse(body) as Part);
  return { status: response.status, contentType, parts };
}

/** Every `base64` value anywhere in a value. */
function base64Values(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(base64Values);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, v]) =>
      key === 'base64' && typeof v === 'string' ? [v] : base64Values(v),
    );
  return [];
}

const GRID = `
  query Grid($first: Int!) {
    models(first: $first, orderBy: [{ field: NAME }]) {
      nodes {
        databaseId
        name
        ... @defer(label: "thumbnails") {
          versions(first: 1) {
            nodes {
              images(first: 1) {
                nodes {
                  thumbnail {
                    base64
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

describe('@defer and @stream', () => {
  let server: TestServer;

  beforeAll(async () => {
    const catalog = await seededCatalog();
    server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
  });

  it('sends the names first and the deferred thumbnails after them, in order, the last part closing the stream', async () => {
    const { status, contentType, parts } = await incremental(server, GRID, { first: 3 });
    expect(status).toBe(200);
    expect(contentType).toMatch(/^multipart\/mixed/);
    expect(parts.length).toBeGreaterThan(1);
    const [initial, ...later] = parts;
    const nodes = (initial!.data!.models as { nodes: Record<string, unknown>[] }).nodes;
    expect(nodes.map((node) => Object.keys(node).sort())).toEqual(Array(3).fill(['databaseId', 'name']));
    expect(initial!.hasNext).toBe(true);
    expect(base64Values(initial)).toEqual([]);
    expect(later.at(-1)!.hasNext).toBe(false);
    expect(later.slice(0, -1).every((part) => part.hasNext === true)).toBe(true);
    const deferred = later.flatMap((part) => part.incremental ?? []);
    expect(deferred.map((entry) => entry.path).sort()).toEqual([
      ['models', 'nodes', 0],
      ['models', 'nodes', 1],
      ['models', 'nodes', 2],
    ]);
    expect(deferred.every((entry) => entry.errors === undefined)).toBe(true);
    expect(base64Values(deferred)).toHaveLength(3);
  });

  it('answers the same document as one JSON result to a client that does not accept multipart', async () => {
    const response = await server.graphql<{ models: { nodes: unknown[] } }>(GRID, { first: 2 });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(base64Values(response.data)).toHaveLength(2);
  });

  it('streams list items after the first ones', async () => {
    const { parts } = await incremental(
      server,
      `{ models(first: 4, orderBy: [{ field: NAME }]) { nodes @stream(initialCount: 1) { name } } }`,
    );
    const initial = parts[0]!;
    expect((initial.data!.models as { nodes: unknown[] }).nodes).toHaveLength(1);
    const streamed = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(streamed.flatMap((entry) => entry.items ?? [])).toHaveLength(3);
    expect(parts.at(-1)!.hasNext).toBe(false);
  });

  it('refuses a negative @stream initialCount as bad input, written out or in a variable', async () => {
    for (const [query, variables] of [
      ['{ models(first: 3) { nodes @stream(initialCount: -1) { name } } }', {}],
      ['query($n: Int!) { models(first: 3) { nodes @stream(initialCount: $n) { name } } }', { n: -2 }],
    ] as const) {
      const { parts } = await incremental(server, query, variables);
      expect(parts).toHaveLength(1);
      expect(parts[0]!.errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT');
      expect(parts[0]!.errors?.[0]?.message).toMatch(/initialCount/);
    }
  });

  it('keeps deferring once the document runs compiled (a hot document)', async () => {
    for (let i = 0; i < 4; i++) {
      const { parts } = await incremental(server, GRID, { first: 2 });
      expect(parts.length, `run ${i + 1}`).toBeGreaterThan(1);
      expect(base64Values(parts[0])).toEqual([]);
    }
  });
});

describe('the base64 budget with deferred thumbnails', () => {
  it('counts every part of one response: the thumbnails beyond it fail with LIMIT_EXCEEDED, whatever part they are in', async () => {
    const catalog = await seededCatalog();
    const probe = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
    const one = base64Values((await probe.graphql(GRID, { first: 1 })).data)[0]!;
    // Room for about two of the demo's tiny thumbnails, not for five.
    const server = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      maxBase64Bytes: Math.floor(one.length * 2.5),
    });
    const { parts } = await incremental(server, GRID, { first: 5 });
    const deferred = parts.slice(1).flatMap((part) => part.incremental ?? []);
    const sent = base64Values(deferred).reduce((sum, value) => sum + value.length, 0);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(Math.floor(one.length * 2.5));
    const codes = [
      ...parts.flatMap((part) => part.errors ?? []),
      ...deferred.flatMap((entry) => entry.errors ?? []),
    ].map((error) => error.extensions?.code);
    expect(codes).toContain('LIMIT_EXCEEDED');
  });
});
