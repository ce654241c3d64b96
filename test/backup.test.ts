/**
 * `backup` and `restore` as real CLI processes against a catalog a live server is reading and writing: the backup is
 * an intact, consistent snapshot; a restore brings back exactly the backed-up rows (the server sees them on its next
 * request) and keeps the replaced catalog beside it; bad files change nothing.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { integrityProblems } from '../src/db/backup.ts';
import { civitaiModelsPage } from '../src/seed/civitai-payloads.ts';
import { dataOf, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { cli } from './helpers/cli.ts';
import { exactChecksum, rowCounts } from './helpers/db-checksum.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

let catalog: SeededCatalog;
let server: TestServer;
let backups: string;

const IMPORT =
  'mutation Import($payload: JSON!) { importCivitaiPayload(payload: $payload) { created updated failed } }';

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
  backups = tempDir('dn-backups-');
});

/** Every model with a Civitai id in the 3,000,000 range (the imported ones) is complete: 5 versions, 10 files, 25 images. */
function importedModelsAreWhole(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(`SELECT m.Id, (SELECT COUNT(*) FROM ModelVersions v WHERE v.ModelId = m.Id) AS versions,
        (SELECT COUNT(*) FROM ModelFiles f JOIN ModelVersions v ON v.Id = f.ModelVersionId WHERE v.ModelId = m.Id) AS files,
        (SELECT COUNT(*) FROM ModelImages i JOIN ModelVersions v ON v.Id = i.ModelVersionId WHERE v.ModelId = m.Id) AS images
      FROM Models m WHERE m.CivitaiId >= 3000000`)
      .all() as { versions: number; files: number; images: number }[];
    for (const row of rows) expect(row).toMatchObject({ versions: 5, files: 10, images: 25 });
    return rows.length;
  } finally {
    db.close();
  }
}

describe('backup', () => {
  it('copies the catalog while the server imports, as one consistent, intact snapshot', async () => {
    const target = path.join(backups, 'during-writes.db');
    let writing = true;
    const writer = (async () => {
      let page = 0;
      while (writing) {
        dataOf(await server.graphql(IMPORT, { payload: civitaiModelsPage(page * 5, 5) }));
        page++;
      }
      return page;
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await cli(['backup', target, '--data-dir', catalog.dataDir]);
    writing = false;
    const pages = await writer;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/backed up .* integrity ok/);
    expect(pages).toBeGreaterThan(0);
    expect(integrityProblems(target)).toEqual([]);
    const copy = new Database(target, { readonly: true });
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    copy.close();
    importedModelsAreWhole(target);
    expect(rowCounts(target).Models).toBeGreaterThanOrEqual(catalog.summary.models);
  });

  it('refuses to overwrite without --force, to write onto the database, and explains', async () => {
    const target = path.join(backups, 'twice.db');
    expect((await cli(['backup', target, '--data-dir', catalog.dataDir])).code).toBe(0);
    const again = await cli(['backup', target, '--data-dir', catalog.dataDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/error \[BAD_USER_INPUT\].*--force/);
    expect((await cli(['backup', target, '--force', '--data-dir', catalog.dataDir])).code).toBe(0);
    const onto = await cli(['backup', catalog.databasePath, '--data-dir', catalog.dataDir]);
    expect(onto.stderr).toMatch(/must not be the database itself/);
  });
});

describe('restore', () => {
  it('brings back exactly the backed-up rows under a running server, keeping the replaced catalog', async () => {
    const target = path.join(backups, 'snapshot.db');
    expect((await cli(['backup', target, '--data-dir', catalog.dataDir])).code).toBe(0);
    const snapshot = exactChecksum(target);
    const firstId = Number(catalog.sql.prepare('SELECT Id FROM Models ORDER BY Id LIMIT 1').pluck().get());
    const victim = dataOf(
      await server.graphql<{ model: { id: string; name: string } }>(
        'query($id: Int!) { model(databaseId: $id) { id name } }',
        { id: firstId },
      ),
    ).model;
    dataOf(await server.graphql('mutation($id: ID!) { deleteModel(id: $id) { databaseId } }', { id: victim.id }));
    dataOf(await server.graphql(IMPORT, { payload: civitaiModelsPage(900, 3) }));
    const changed = exactChecksum(catalog.databasePath);
    expect(changed).not.toBe(snapshot);

    const run = await cli(['restore', target, '--data-dir', catalog.dataDir]);
    expect(run.code, run.stderr).toBe(0);
    expect(exactChecksum(catalog.databasePath)).toBe(snapshot);
    const saved = /saved as (\S+)/.exec(run.stdout)![1]!;
    expect(exactChecksum(saved)).toBe(changed);
    // The running server reads the restored catalog on its next request.
    const back = dataOf(
      await server.graphql<{ model: { name: string } | null }>('query($id: Int!) { model(databaseId: $id) { name } }', {
        id: firstId,
      }),
    );
    expect(back.model?.name).toBe(victim.name);
    expect(integrityProblems(catalog.databasePath)).toEqual([]);
  });

  it('refuses a file that is not an intact catalog and changes nothing', async () => {
    const before = exactChecksum(catalog.databasePath);
    const garbage = path.join(backups, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 7));
    const notSqlite = await cli(['restore', garbage, '--data-dir', catalog.dataDir]);
    expect(notSqlite.code).toBe(2);
    expect(notSqlite.stderr).toMatch(/error \[BAD_USER_INPUT\].*not an intact SQLite database/);
    const other = path.join(backups, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    db.close();
    const foreign = await cli(['restore', other, '--data-dir', catalog.dataDir]);
    expect(foreign.stderr).toMatch(/not a DiffusionNexus catalog/);
    const missing = await cli(['restore', path.join(backups, 'nope.db'), '--data-dir', catalog.dataDir]);
    // A file named on the command line that is not there is a usage error, as for import and scan.
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error \[BAD_USER_INPUT\]: .*nope\.db: no such file or directory/);
    expect(exactChecksum(catalog.databasePath)).toBe(before);
    expect(existsSync(`${catalog.databasePath}.partial-${process.pid}`)).toBe(false);
  });
});
