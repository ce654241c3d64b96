/**
 * kill -9 in the middle of a large import, for the server (one big importCivitaiPayload request) and for the CLI:
 * every model seen committed before the kill is still there, every model is either fully there or absent (one
 * transaction per model), the SQLite file stays intact, and importing the same payload again completes to exactly
 * what an uninterrupted import stores. A model's change set and archived payload are in its transaction too: never
 * one without the other (the foreign keys rule out the reverse).
 *
 * On PostgreSQL the killed process's connections end with it and the server rolls back what they had not committed;
 * the checks start once they are gone (a commit already sent may still land until then).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../bench/load.ts';
import type { DatabaseTarget } from '../src/config.ts';
import { importPayload } from '../src/civitai/batch-import.ts';
import { integrityProblems } from '../src/db/backup.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { civitaiModelsPage } from '../src/seed/civitai-payloads.ts';
import { cliArgsFor, emptyCatalog } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { stopsWithTest } from './helpers/children.ts';
import { cli, outcome, spawnCli } from './helpers/cli.ts';
import { contentSignature } from './helpers/db-checksum.ts';
import { freshPostgresDatabase, queryPostgres, TEST_ENGINE } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

/**
 * Models in the payload: 400 on SQLite; 100 on PostgreSQL, where a model's import is dozens of round trips and
 * costs several times as much (both engines run in CI) — still more than twice what is stored when the kill comes.
 */
const MODELS = TEST_ENGINE === 'postgres' ? 100 : 400;
const IMPORT =
  'mutation Import($payload: JSON!) { importCivitaiPayload(payload: $payload) { created updated unchanged failed } }';

/** Where a test's catalog is: the data directory's file, or (in the postgres project) a fresh empty database. */
interface Catalog {
  dataDir: string;
  databasePath: string;
  database: DatabaseTarget | undefined;
}

async function newCatalog(prefix: string): Promise<Catalog> {
  const dataDir = path.join(tempDir(prefix), 'data');
  const database = TEST_ENGINE === 'postgres' ? await freshPostgresDatabase() : undefined;
  return { dataDir, databasePath: databasePathIn(dataDir), database };
}

/** The Civitai ids of the models stored (none while the catalog is not created or migrated yet). */
async function storedModels(catalog: Catalog): Promise<number[]> {
  if (catalog.database?.engine === 'postgres') {
    try {
      return (await queryPostgres<{ id: number }>(catalog.database.url, 'SELECT "CivitaiId" AS id FROM "Models"')).map(
        (row) => row.id,
      );
    } catch {
      return []; // not migrated yet
    }
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(catalog.databasePath, { readonly: true, fileMustExist: true });
    return db.prepare('SELECT CivitaiId FROM Models').pluck().all() as number[];
  } catch {
    return []; // not created (or migrated) yet
  } finally {
    db?.close();
  }
}

/** Polls until at least `count` models are stored; returns the last look, taken right before returning. */
async function waitForModels(catalog: Catalog, count: number): Promise<number[]> {
  const until = Date.now() + 60_000;
  for (;;) {
    const stored = await storedModels(catalog);
    if (stored.length >= count) return stored;
    if (Date.now() > until) throw new Error(`timed out waiting for ${count} models`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Once the killed process is gone: on PostgreSQL, waits until the server has ended its connections too (their
 * uncommitted transactions rolled back); on SQLite, checks the file.
 */
async function afterKill(catalog: Catalog): Promise<void> {
  const database = catalog.database;
  if (database?.engine !== 'postgres') {
    expect(integrityProblems(catalog.databasePath)).toEqual([]);
    return;
  }
  const until = Date.now() + 30_000;
  for (;;) {
    const [{ n }] = (await queryPostgres<{ n: number }>(
      database.url,
      `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND application_name LIKE 'diffusion-nexus%'`,
    )) as [{ n: number }];
    if (n === 0) return;
    if (Date.now() > until) throw new Error("the killed process's connections did not end");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Every model present has all 5 versions with their 2 files and 5 images each, and every model seen committed
 * before the kill is among them; returns how many there are.
 */
async function wholeModels(catalog: Catalog, committed: readonly number[]): Promise<number> {
  const db = catalogHandle(catalog);
  try {
    const partial = await db.column(sql`SELECT m."CivitaiId" FROM "Models" m WHERE
        (SELECT COUNT(*) FROM "ModelVersions" v WHERE v."ModelId" = m."Id") <> 5
        OR (SELECT COUNT(*) FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId" WHERE v."ModelId" = m."Id") <> 10
        OR (SELECT COUNT(*) FROM "ModelImages" i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId" WHERE v."ModelId" = m."Id") <> 25`);
    expect(partial, 'models stored in part').toEqual([]);
    // History and archive are written in the model's transaction: each model has its one "created" change set and
    // its payload link, and no payload is stored without its model.
    const unrecorded = await db.column(sql`SELECT m."CivitaiId" FROM "Models" m WHERE
        (SELECT COUNT(*) FROM "MetadataChangeSets" s WHERE s."ModelId" = m."Id") <> 1
        OR (SELECT COUNT(*) FROM "ModelPayloads" p WHERE p."ModelId" = m."Id") <> 1`);
    expect(unrecorded, 'models without their history or payload').toEqual([]);
    const stored = new Set(await db.column<number>(sql`SELECT "CivitaiId" FROM "Models"`));
    expect(
      committed.filter((id) => !stored.has(id)),
      'models committed before the kill and lost',
    ).toEqual([]);
    return stored.size;
  } finally {
    await db.close();
  }
}

let expected: Awaited<ReturnType<typeof contentSignature>> | undefined;
/** What an uninterrupted import stores, in a SQLite file whatever the engine under test (the same content). */
async function uninterrupted(): Promise<Awaited<ReturnType<typeof contentSignature>>> {
  if (expected) return expected;
  const serial = await emptyCatalog({ engine: 'sqlite' });
  await importPayload(serial.db, civitaiModelsPage(0, MODELS), 'serial');
  return (expected = await contentSignature(serial));
}

describe('kill -9 during an import', () => {
  it("leaves the server's catalog with every committed model, whole, and the import resumes", async () => {
    const catalog = await newCatalog('dn-crash-server-');
    // Each stopped with the test, also when it fails before the kill below.
    const serve = () =>
      startServerProcess([
        '--import',
        'tsx',
        'src/cli/main.ts',
        'serve',
        ...cliArgsFor(catalog.dataDir, catalog.database),
        '--port',
        '0',
      ]).then(stopsWithTest);
    const payload = JSON.stringify({ query: IMPORT, variables: { payload: civitaiModelsPage(0, MODELS) } });
    const post = (url: string) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });

    const first = await serve();
    const interrupted = post(first.url).then(
      () => 'answered',
      () => 'connection lost',
    );
    const committed = await waitForModels(catalog, 40);
    process.kill(first.pid, 'SIGKILL');
    expect(await interrupted).toBe('connection lost');

    await afterKill(catalog);
    const survived = await wholeModels(catalog, committed);
    expect(survived).toBeGreaterThanOrEqual(40);
    expect(survived).toBeLessThan(MODELS);

    const second = await serve();
    try {
      const answer = (await (await post(second.url)).json()) as {
        data: { importCivitaiPayload: { created: number; unchanged: number; failed: number } };
      };
      expect(answer.data.importCivitaiPayload).toMatchObject({
        failed: 0,
        created: MODELS - survived,
        unchanged: survived,
      });
    } finally {
      await second.stop();
    }
    if (TEST_ENGINE === 'sqlite') expect(integrityProblems(catalog.databasePath)).toEqual([]);
    const after = await contentSignature(catalog);
    const reference = await uninterrupted();
    expect(after.counts).toEqual(reference.counts);
    expect(after.hash).toBe(reference.hash);
  }, 120_000);

  it("leaves the CLI import's catalog with every committed model, whole, and a rerun completes it", async () => {
    const catalog = await newCatalog('dn-crash-cli-');
    const payloads = path.join(path.dirname(catalog.dataDir), 'payloads');
    mkdirSync(payloads);
    for (let from = 0; from < MODELS; from += 50)
      writeFileSync(
        path.join(payloads, `page-${String(from).padStart(4, '0')}.json`),
        JSON.stringify(civitaiModelsPage(from, Math.min(50, MODELS - from))),
      );
    const args = ['import', payloads, ...cliArgsFor(catalog.dataDir, catalog.database)];

    const child = spawnCli(args);
    const exited = outcome(child);
    const committed = await waitForModels(catalog, 40);
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');

    await afterKill(catalog);
    const survived = await wholeModels(catalog, committed);
    expect(survived).toBeLessThan(MODELS);

    const rerun = await cli(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const after = await contentSignature(catalog);
    const reference = await uninterrupted();
    expect(after.counts).toEqual(reference.counts);
    expect(after.hash).toBe(reference.hash);
  }, 120_000);
});
