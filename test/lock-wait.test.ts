/**
 * Another program holding what a write needs locked (the desktop app mid-write, a second server, the CLI): the
 * server's writes wait for it without blocking anything else (hardening round 2, finding 8), then either go through
 * or fail with DATABASE_LOCKED; reads and /health answer at once all the while.
 *
 * On SQLite that is the file's one write lock. PostgreSQL has none: a write waits only for the rows (or tables)
 * another connection has changed and not yet committed — here the model row the write changes, as another instance
 * changing the same model holds it. The wait must be bounded there too, never a hang.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startChildServer, whileProbingHealth, type ChildServer } from './helpers/hostile.ts';

let catalog: SeededCatalog;
let server: ChildServer;

beforeAll(async () => {
  catalog = await seededCatalog({ models: 20, thumbnails: 'none' });
  server = await startChildServer(catalog.dataDir, { DIFFUSION_NEXUS_LOCK_WAIT_MS: '3000' });
}, 60_000);

const MODEL_1 = Buffer.from('Model:1').toString('base64');

async function post(query: string) {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Holds what a write of model 1 needs from another connection (another process's view of the catalog) for `ms`:
 * SQLite's write lock, or on PostgreSQL the model's row, changed in a transaction left open. Resolves once taken,
 * with the promise of its release.
 */
async function holdWriteLock(ms: number): Promise<{ released: Promise<void> }> {
  const database = server.catalog.database;
  if (database?.engine === 'postgres') {
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    await other.query('BEGIN');
    await other.query('UPDATE "Models" SET "Name" = "Name" WHERE "Id" = 1');
    return {
      released: sleep(ms).then(async () => {
        await other.query('COMMIT');
        await other.end();
      }),
    };
  }
  const other = new Database(catalog.databasePath);
  other.exec('BEGIN IMMEDIATE');
  return {
    released: sleep(ms).then(() => {
      other.exec('COMMIT');
      other.close();
    }),
  };
}

describe('a lock held by another program', () => {
  it('a write waits for it asynchronously: reads and /health go on, the write lands once the lock is free', async () => {
    const { result, health } = await whileProbingHealth(server.origin, async () => {
      const held = await holdWriteLock(1500);
      const started = performance.now();
      const write = post(`mutation { setIgnoreUpdates(id: "${MODEL_1}", ignore: true) { ignoreUpdates } }`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const readStarted = performance.now();
      const read = await post('{ models(first: 5) { nodes { name } } }');
      const readMs = performance.now() - readStarted;
      const written = await write;
      await held.released;
      return { read, readMs, written, writeMs: performance.now() - started };
    });
    expect(result.read.data.models.nodes).toHaveLength(5);
    expect(result.readMs).toBeLessThan(500);
    expect(result.written).toEqual({ data: { setIgnoreUpdates: { ignoreUpdates: true } } });
    expect(result.writeMs).toBeGreaterThan(1200);
    expect(health.maxMs).toBeLessThan(500);
  });

  it('a lock held past the wait is DATABASE_LOCKED, and the server never froze', async () => {
    const { result, health } = await whileProbingHealth(server.origin, async () => {
      const held = await holdWriteLock(4500);
      const written = await post(`mutation { setIgnoreUpdates(id: "${MODEL_1}", ignore: false) { ignoreUpdates } }`);
      await held.released;
      return written;
    });
    expect(result.errors?.[0]?.extensions?.code).toBe('DATABASE_LOCKED');
    expect(health.maxMs).toBeLessThan(500);
    expect(
      (await post(`mutation { setIgnoreUpdates(id: "${MODEL_1}", ignore: false) { ignoreUpdates } }`)).data,
    ).toEqual({ setIgnoreUpdates: { ignoreUpdates: false } });
  });
});
