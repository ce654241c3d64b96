/**
 * The server skeleton over real HTTP: GraphQL, /health, routing, error masking, and `serve` as a real process with
 * its start-up line and graceful shutdown.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.ts';
import { maskError, UNEXPECTED_ERROR_MESSAGE } from '../src/server/errors.ts';
import { SEARCH_INDEX_RETRY_AFTER_S } from '../src/search/search-index.ts';
import { listMigrations } from '../src/db/migrations.ts';
import { MIGRATIONS_DIR, POSTGRES_MIGRATIONS_DIR, PROJECT_ROOT } from '../src/db/project-paths.ts';
import { cliCatalog } from './helpers/catalog.ts';
import { TEST_ENGINE } from './helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { endsWithTest } from './helpers/children.ts';
import { CLI } from './helpers/cli.ts';

describe('HTTP server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });

  it('answers Query.health from the database', async () => {
    const result = await server.graphql<{
      health: { ok: boolean; schemaVersion: string; journalMode: string; engine: string };
    }>('{ health { ok schemaVersion journalMode engine } }');
    expect(result.status).toBe(200);
    // Each engine's own migrations; the journal mode is SQLite's (WAL), empty on PostgreSQL.
    const postgres = TEST_ENGINE === 'postgres';
    expect(result.data?.health).toEqual({
      ok: true,
      schemaVersion: listMigrations(postgres ? POSTGRES_MIGRATIONS_DIR : MIGRATIONS_DIR).at(-1)!.name,
      journalMode: postgres ? '' : 'wal',
      engine: postgres ? 'postgres' : 'sqlite',
    });
  });

  it('serves /health as JSON', async () => {
    const response = await fetch(`${server.origin}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ok',
      ok: true,
      journalMode: TEST_ENGINE === 'postgres' ? '' : 'wal',
    });
  });

  it('redirects / to GraphiQL and answers unknown routes with a coded 404', async () => {
    const root = await fetch(`${server.origin}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/graphql');
    const missing = await fetch(`${server.origin}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('rejects malformed JSON and unknown fields with GraphQL errors, not 500s', async () => {
    const malformed = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
    const body = (await malformed.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]?.message).toMatch(/invalid JSON/);
    expect(body.errors[0]?.extensions.code).toBe('BAD_REQUEST');
    const unknown = await server.graphql('{ nope }');
    expect(unknown.status).toBe(400); // GraphQL over HTTP: validation errors are 400 for application/graphql-response+json
    expect(unknown.errors?.[0]?.message).toMatch(/Cannot query field "nope"/);
  });
});

describe('request size', () => {
  it('answers 413 with LIMIT_EXCEEDED when the declared body is too large', async () => {
    const { request } = await import('node:http');
    const { MAX_IMPORT_BODY_BYTES } = await import('../src/config.ts');
    const server = await startTestServer();
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        server.url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(MAX_IMPORT_BODY_BYTES + 1) },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{"query":');
      req.end();
    });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ errors: [{ extensions: { code: 'LIMIT_EXCEEDED' } }] });
  });

  it('accepts import bodies up to that limit (one gate, not a smaller second one inside)', async () => {
    const server = await startTestServer();
    // 40 MB: above yoga's own 25 MB default, below ours; a big Civitai payload must get through.
    const pad = 'x'.repeat(40 * 1024 * 1024);
    const payload = {
      id: 4_000_001,
      name: 'Big',
      type: 'LORA',
      description: pad,
      modelVersions: [{ id: 4_000_002, name: 'v1', files: [], images: [] }],
    };
    const response = await fetch(`${server.url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created } }',
        variables: { p: payload },
      }),
    });
    const body = await response.text();
    expect(response.status, body.slice(0, 500)).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ data: { importCivitaiPayload: { created: 1 } } });
  });
});

describe('error masking', () => {
  const located = (original: Error) =>
    new GraphQLError(original.message, { path: ['health'], originalError: original });

  it('keeps coded AppErrors with their code and message', () => {
    const masked = maskError(located(new AppError('NOT_FOUND', 'No model with id 9.')), false);
    expect(masked.message).toBe('No model with id 9.');
    expect(masked.extensions.code).toBe('NOT_FOUND');
    expect(masked.path).toEqual(['health']);
  });

  it('gives a refusal for now its HTTP status and Retry-After wherever it arose, a resolver too', () => {
    // The search budget refuses a search before it runs; a build that starts after its estimate meets the resolver.
    const refusal = new AppError('SEARCH_INDEX_BUILDING', 'The search index is being built.', { done: 1, total: 9 });
    const masked = maskError(located(refusal), false);
    expect(masked.extensions).toEqual({
      code: 'SEARCH_INDEX_BUILDING',
      done: 1,
      total: 9,
      http: { status: 503, headers: { 'retry-after': String(SEARCH_INDEX_RETRY_AFTER_S) } },
    });
    expect(masked.path).toEqual(['health']);
  });

  it('hides unexpected errors in production and shows them in development', () => {
    const secret = new TypeError(
      "Cannot read properties of undefined (reading 'Id') in /home/ada/catalog/src/loaders/x.ts",
    );
    expect(maskError(located(secret), false)).toMatchObject({
      message: UNEXPECTED_ERROR_MESSAGE,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(maskError(located(secret), true).message).toBe(secret.message);
  });
});

describe('serve as a process', () => {
  it('prints its URL and database, serves, and on SIGTERM finishes the request in flight, then exits', async () => {
    const catalog = await cliCatalog();
    const child = endsWithTest(
      spawn(process.execPath, [...CLI, 'serve', '--port', '0', ...catalog.args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    // 'close', not 'exit': the last lines ("stopped") may still be in the pipe when the process exits.
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line in: ${output}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(output);
        if (match && output.includes('database: ')) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const { database } = catalog.location;
    expect(output).toContain(
      `database: ${database.engine === 'postgres' ? database.display : path.join(catalog.dataDir, 'Diffusion_Nexus-core.db')}`,
    );
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ health { ok } }' }),
    });
    expect(await response.json()).toEqual({ data: { health: { ok: true } } });

    // A request in flight when SIGTERM arrives (its body still arriving) is answered before the process exits.
    const { request } = await import('node:http');
    const body = JSON.stringify({ query: '{ health { ok } }' });
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.text)).toEqual({ data: { health: { ok: true } } });
    expect(await exited).toBe(0);
    expect(output).toMatch(/SIGTERM received[\s\S]*stopped/);
    // New connections are refused once it has stopped.
    await expect(
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    ).rejects.toThrow();
  });
});
