/**
 * kill -9 in the middle of a large import, for the server (one big importCivitaiPayload request) and for the CLI:
 * the file stays intact, every model is either fully there or absent (one transaction per model), and importing the
 * same payload again completes to exactly what an uninterrupted import stores. A model's change set and archived
 * payload are in its transaction too: never one without the other (the foreign keys rule out the reverse).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startServerProcess } from '../bench/load.ts';
import { integrityProblems } from '../src/db/backup.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { importPayload } from '../src/civitai/batch-import.ts';
import { civitaiModelsPage } from '../src/seed/civitai-payloads.ts';
import { cli, outcome, spawnCli } from './helpers/cli.ts';
import { contentSignature } from './helpers/db-checksum.ts';
import { tempDir } from './helpers/temp.ts';

const MODELS = 400;
const IMPORT =
  'mutation Import($payload: JSON!) { importCivitaiPayload(payload: $payload) { created updated unchanged failed } }';

function modelCount(databasePath: string): number {
  let db: Database.Database | undefined;
  try {
    db = new Database(databasePath, { readonly: true, fileMustExist: true });
    return Number(db.prepare('SELECT COUNT(*) FROM Models').pluck().get());
  } catch {
    return 0; // not created (or migrated) yet
  } finally {
    db?.close();
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every model present has all 5 versions with their 2 files and 5 images each. */
function wholeModels(databasePath: string): number {
  const db = new Database(databasePath, { readonly: true });
  try {
    const partial = db
      .prepare(`SELECT m.CivitaiId FROM Models m WHERE
        (SELECT COUNT(*) FROM ModelVersions v WHERE v.ModelId = m.Id) <> 5
        OR (SELECT COUNT(*) FROM ModelFiles f JOIN ModelVersions v ON v.Id = f.ModelVersionId WHERE v.ModelId = m.Id) <> 10
        OR (SELECT COUNT(*) FROM ModelImages i JOIN ModelVersions v ON v.Id = i.ModelVersionId WHERE v.ModelId = m.Id) <> 25`)
      .pluck()
      .all();
    expect(partial, 'models stored in part').toEqual([]);
    // History and archive are written in the model's transaction: each model has its one "created" change set and
    // its payload link, and no payload is stored without its model.
    const unrecorded = db
      .prepare(`SELECT m.CivitaiId FROM Models m WHERE
        (SELECT COUNT(*) FROM MetadataChangeSets s WHERE s.ModelId = m.Id) <> 1
        OR (SELECT COUNT(*) FROM ModelPayloads p WHERE p.ModelId = m.Id) <> 1`)
      .pluck()
      .all();
    expect(unrecorded, 'models without their history or payload').toEqual([]);
    return Number(db.prepare('SELECT COUNT(*) FROM Models').pluck().get());
  } finally {
    db.close();
  }
}

let expected: Awaited<ReturnType<typeof contentSignature>> | undefined;
async function uninterrupted(): Promise<Awaited<ReturnType<typeof contentSignature>>> {
  if (expected) return expected;
  const file = databasePathIn(tempDir('dn-crash-serial-'));
  await migrateDatabase(file);
  const db = await openCatalogDatabase(file);
  await importPayload(db, civitaiModelsPage(0, MODELS), 'serial');
  await db.close();
  return (expected = await contentSignature({ databasePath: file }));
}

describe('kill -9 during an import', () => {
  it("leaves the server's catalog intact with whole models, and the import resumes", async () => {
    const dataDir = path.join(tempDir('dn-crash-server-'), 'data');
    const databasePath = databasePathIn(dataDir);
    const serve = () =>
      startServerProcess(['--import', 'tsx', 'src/cli/main.ts', 'serve', '--data-dir', dataDir, '--port', '0']);
    const payload = JSON.stringify({ query: IMPORT, variables: { payload: civitaiModelsPage(0, MODELS) } });
    const post = (url: string) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });

    const first = await serve();
    const interrupted = post(first.url).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor(() => modelCount(databasePath) >= 40, 60_000);
    process.kill(first.pid, 'SIGKILL');
    expect(await interrupted).toBe('connection lost');

    expect(integrityProblems(databasePath)).toEqual([]);
    const survived = wholeModels(databasePath);
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
    expect(integrityProblems(databasePath)).toEqual([]);
    const after = await contentSignature({ databasePath });
    const reference = await uninterrupted();
    expect(after.counts).toEqual(reference.counts);
    expect(after.hash).toBe(reference.hash);
  }, 120_000);

  it("leaves the CLI import's catalog intact with whole models, and a rerun completes it", async () => {
    const root = tempDir('dn-crash-cli-');
    const dataDir = path.join(root, 'data');
    const databasePath = databasePathIn(dataDir);
    const payloads = path.join(root, 'payloads');
    mkdirSync(payloads);
    for (let from = 0; from < MODELS; from += 50)
      writeFileSync(
        path.join(payloads, `page-${String(from).padStart(4, '0')}.json`),
        JSON.stringify(civitaiModelsPage(from, 50)),
      );

    const child = spawnCli(['import', payloads, '--data-dir', dataDir]);
    const exited = outcome(child);
    await waitFor(() => modelCount(databasePath) >= 40, 60_000);
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');

    expect(integrityProblems(databasePath)).toEqual([]);
    const survived = wholeModels(databasePath);
    expect(survived).toBeLessThan(MODELS);

    const rerun = await cli(['import', payloads, '--data-dir', dataDir]);
    expect(rerun.code, rerun.stderr).toBe(0);
    const after = await contentSignature({ databasePath });
    const reference = await uninterrupted();
    expect(after.counts).toEqual(reference.counts);
    expect(after.hash).toBe(reference.hash);
  }, 120_000);
});
