/**
 * A desktop-app migration that rebuilds a table (EF Core: copy to `ef_temp_…`, drop, rename) keeps only what EF
 * knows of it. Rebuilding ModelFiles that way must not silently undo our migrations: `status` lists what is gone,
 * the next start re-creates it (and says so), imports and searches work again.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { listMigrations, migrateDatabase, migrationStatus } from '../src/db/migrations.ts';
import { MIGRATIONS_DIR, PROJECT_ROOT } from '../src/db/project-paths.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { ensureSearchIndexCurrent } from '../src/search/search-index.ts';
import { searchModels } from '../src/search/search.ts';
import { rankedPageRows } from '../src/search/top-k.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { CLI } from './helpers/cli.ts';

/** What EF knows of ModelFiles: the table and indexes of InitialCreate (the desktop app's own schema). */
function efModelFilesSchema(): { table: string; indexes: string[] } {
  const scratch = new Database(':memory:');
  try {
    scratch.exec(listMigrations(MIGRATIONS_DIR)[0]!.sql);
    const rows = scratch
      .prepare(`SELECT type, sql FROM sqlite_master WHERE tbl_name = 'ModelFiles' AND sql IS NOT NULL`)
      .all() as { type: string; sql: string }[];
    return {
      table: rows.find((r) => r.type === 'table')!.sql,
      indexes: rows.filter((r) => r.type === 'index').map((r) => r.sql),
    };
  } finally {
    scratch.close();
  }
}

/** The desktop app's table rebuild, as EF Core's SQLite provider does it. */
function rebuildModelFilesLikeEf(databasePath: string): void {
  const { table, indexes } = efModelFilesSchema();
  const db = new Database(databasePath);
  try {
    const columns = (db.prepare(`SELECT name FROM pragma_table_info('ModelFiles')`).all() as { name: string }[])
      .map((c) => c.name)
      .filter((name) => name !== 'HashAutoV3')
      .map((name) => `"${name}"`)
      .join(', ');
    db.pragma('foreign_keys = OFF');
    db.transaction(() => {
      db.exec(table.replace('"ModelFiles"', '"ef_temp_ModelFiles"'));
      db.exec(`INSERT INTO "ef_temp_ModelFiles" (${columns}) SELECT ${columns} FROM "ModelFiles"`);
      db.exec(`DROP TABLE "ModelFiles"`);
      db.exec(`ALTER TABLE "ef_temp_ModelFiles" RENAME TO "ModelFiles"`);
      for (const index of indexes) db.exec(index);
    })();
    db.pragma('foreign_keys = ON');
    // The desktop app adds a file while our search triggers are gone: the search index does not hear of it.
    const versionId = db.prepare(`SELECT "Id" FROM "ModelVersions" ORDER BY "Id" LIMIT 1`).pluck().get();
    db.prepare(
      `INSERT INTO "ModelFiles" ("ModelVersionId", "FileName", "SizeKB", "FileType", "IsPrimary", "Format", "Precision",
         "SizeType", "PickleScanResult", "VirusScanResult", "IsLocalFileValid")
       VALUES (?, 'zebrastripe_desk.safetensors', 1, 'Model', 0, 'SafeTensor', 'fp16', 'pruned', 'Success', 'Success', 0)`,
    ).run(versionId);
  } finally {
    db.close();
  }
}

describe('a table rebuilt by the desktop app', () => {
  let databasePath: string;
  let dataDir: string;
  beforeAll(async () => {
    const catalog = await emptyCatalog();
    ({ databasePath, dataDir } = catalog);
    await importPayload(catalog.db, ownFixture('model-drift.json'), 'model-drift.json');
    await catalog.db.close();
    rebuildModelFilesLikeEf(databasePath);
  });

  it('is reported by status: the column, indexes and triggers it lost', async () => {
    const status = migrationStatus(databasePath);
    expect(status.pending).toEqual([]);
    expect(status.missing).toEqual(
      expect.arrayContaining([
        'column ModelFiles.HashAutoV3 (20261128070816_AddHashAutoV3)',
        'index IX_ModelFiles_HashAutoV3_Prefix (20261128070816_AddHashAutoV3)',
        'index IX_ModelFiles_HashSHA256_Upper (20261128070248_AddLookupIndexes)',
        'trigger TR_ModelSearch_ModelFiles_Insert (20261128075451_AddModelSearch)',
      ]),
    );
    expect(status.missing.every((line) => /ModelFiles/.test(line))).toBe(true);
    const cli = await promisify(execFile)(process.execPath, [...CLI, 'status', '--data-dir', dataDir], {
      cwd: PROJECT_ROOT,
    });
    expect(cli.stdout).toContain('missing  column ModelFiles.HashAutoV3');
    expect(cli.stdout).not.toContain('up to date');
  });

  it('is repaired at the next start, which says what it re-created; imports and searches work again', async () => {
    const lines: string[] = [];
    const result = await migrateDatabase(databasePath, { log: (line) => lines.push(line) });
    expect(result.repaired).toContain('column ModelFiles.HashAutoV3 (20261128070816_AddHashAutoV3)');
    expect(lines.join('\n')).toMatch(/repaired the schema: re-created .*column ModelFiles\.HashAutoV3/);
    expect(migrationStatus(databasePath).missing).toEqual([]);

    const db = await openCatalogDatabase(databasePath);
    try {
      // Before the repair this failed: "table ModelFiles has no column named HashAutoV3".
      const again = await importPayload(db, ownFixture('model-drift.json'), 'model-drift.json');
      expect(again.failures).toEqual([]);
      const direct = new Database(databasePath, { readonly: true });
      expect(direct.prepare(`SELECT COUNT(*) FROM "ModelFiles" WHERE "HashAutoV3" IS NOT NULL`).pluck().get()).toBe(1);
      direct.close();
      // The file the desktop app added while the triggers were gone is found: the index was rebuilt.
      const found = await searchModels(db, 'zebrastripe_desk', { first: 5 }, null);
      expect(found.edges.map((e) => e.node.model.name)).toEqual(['Lantern Glow Style']);
    } finally {
      await db.close();
    }
    // A second start has nothing to repair.
    expect((await migrateDatabase(databasePath)).repaired).toEqual([]);
  });
});

describe("the search postings' tables dropped by another program", () => {
  it('are re-created at the next start and rebuilt with every document: searches rank and count as before', async () => {
    const catalog = await emptyCatalog();
    const { databasePath } = catalog;
    await importPayload(catalog.db, ownFixture('model-drift.json'), 'model-drift.json');
    // The postings' own ranking (on SQLite the API lets FTS5 rank searches with few matches).
    const ranked = async (db: CatalogDatabase) => {
      await ensureSearchIndexCurrent(db);
      const window = {
        direction: 'forward',
        limit: 5,
        looksAhead: true,
        cursors: true,
        after: null,
        before: null,
      } as const;
      return (await rankedPageRows(db, ['lantern', 'glow'], [], window, ['id'])).map((row) => [row.k1, row.k0]);
    };
    const before = await ranked(catalog.db);
    expect(before.length).toBe(1);
    await catalog.db.close();
    const direct = new Database(databasePath);
    direct.exec(`DROP TABLE "ModelSearchStats"; DROP TABLE "ModelSearchPostings"`);
    direct.close();

    const result = await migrateDatabase(databasePath);
    expect(result.repaired).toEqual(
      expect.arrayContaining([
        'table ModelSearchStats (20261203150000_AddSearchPostings)',
        'table ModelSearchPostings (20261203150000_AddSearchPostings)',
      ]),
    );
    const db = await openCatalogDatabase(databasePath);
    try {
      // The same answer, from postings rebuilt from scratch (the vocabulary and lengths were emptied with them).
      expect(await ranked(db)).toEqual(before);
      const check = new Database(databasePath, { readonly: true });
      const one = (text: string) => check.prepare(text).pluck().get();
      expect(one(`SELECT "Documents" FROM "ModelSearchStats"`)).toBe(one(`SELECT COUNT(*) FROM "Models"`));
      expect(one(`SELECT "Tokens" FROM "ModelSearchStats"`)).toBe(
        one(`SELECT SUM("Length") FROM "ModelSearchLengths"`),
      );
      expect(one(`SELECT COUNT(*) FROM "ModelSearchTerms"`)).toBe(
        one(`SELECT COUNT(DISTINCT "Term") FROM "ModelSearchPostings"`),
      );
      check.close();
    } finally {
      await db.close();
    }
  });
});
