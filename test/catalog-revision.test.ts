/**
 * The catalog revision (`src/db/revision.ts`): one number that every write to the tables GraphQL answers are made of
 * raises, whoever writes — the server's own write path, another connection (the CLI, another instance, the desktop
 * app, any SQL client) — read in one statement; on PostgreSQL also announced with NOTIFY. Writes to what answers are
 * not made of (the download queue, Civitai look-up bookkeeping) leave it alone. A restore, a schema repair and a
 * transfer never let one number stand for two different catalogs.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { backupDatabase, restoreDatabase } from '../src/db/backup.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { readCatalogRevision, REVISION_CHANNEL, TABLES_RAISING_REVISION } from '../src/db/revision.ts';
import { catalogPlan } from '../src/db/transfer/plan.ts';
import { emptyCatalog, seededCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, sql } from './helpers/catalog-handle.ts';
import { createDesktopSchema, insertDesktopModel } from './helpers/desktop-db.ts';
import { postgresCopyOf, queryPostgres, TEST_ENGINE } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

const AT = "'2026-01-02 03:04:05+00:00'";

/**
 * One statement of each kind on each covered table, in an order the foreign keys allow: inserts parents first,
 * updates, then deletes children first. Plain SQL both engines read alike (TRUE/FALSE, quoted names).
 */
const WRITES: { table: string; insert: string; update: string; remove: string }[] = [
  {
    table: 'Creators',
    insert: `INSERT INTO "Creators" ("Id", "Username", "CreatedAt") VALUES (990001, 'rev_creator', ${AT})`,
    update: `UPDATE "Creators" SET "AvatarUrl" = 'https://example.invalid/a.png' WHERE "Id" = 990001`,
    remove: `DELETE FROM "Creators" WHERE "Id" = 990001`,
  },
  {
    table: 'Models',
    insert: `INSERT INTO "Models" ("Id", "Name", "Type", "IsNsfw", "IsPoi", "Mode", "Source", "CreatedAt", "UpdatedAt",
      "AllowNoCredit", "AllowCommercialUse", "AllowDerivatives", "AllowDifferentLicense", "CreatorId")
      VALUES (990001, 'Revision Model', 'LORA', FALSE, FALSE, 'Available', 'CivitaiApi', ${AT}, ${AT}, TRUE, 'Sell', TRUE, FALSE, 990001)`,
    update: `UPDATE "Models" SET "Name" = 'Revision Model 2' WHERE "Id" = 990001`,
    remove: `DELETE FROM "Models" WHERE "Id" = 990001`,
  },
  {
    table: 'Tags',
    insert: `INSERT INTO "Tags" ("Id", "Name", "NormalizedName") VALUES (990001, 'RevTag', 'revtag')`,
    update: `UPDATE "Tags" SET "Name" = 'Revtag' WHERE "Id" = 990001`,
    remove: `DELETE FROM "Tags" WHERE "Id" = 990001`,
  },
  {
    table: 'ModelTags',
    insert: `INSERT INTO "ModelTags" ("ModelId", "TagId") VALUES (990001, 990001)`,
    update: `UPDATE "ModelTags" SET "TagId" = 990001 WHERE "ModelId" = 990001`,
    remove: `DELETE FROM "ModelTags" WHERE "ModelId" = 990001`,
  },
  {
    table: 'ModelVersions',
    insert: `INSERT INTO "ModelVersions" ("Id", "ModelId", "Name", "BaseModel", "CreatedAt", "EarlyAccessDays", "DownloadCount",
      "RatingCount", "Rating", "ThumbsUpCount", "ThumbsDownCount") VALUES (990001, 990001, 'v1', 'SDXL10', ${AT}, 0, 0, 0, 0, 0, 0)`,
    update: `UPDATE "ModelVersions" SET "DownloadCount" = 5 WHERE "Id" = 990001`,
    remove: `DELETE FROM "ModelVersions" WHERE "Id" = 990001`,
  },
  {
    table: 'ModelFiles',
    insert: `INSERT INTO "ModelFiles" ("Id", "ModelVersionId", "FileName", "SizeKB", "FileType", "IsPrimary", "Format", "Precision",
      "SizeType", "PickleScanResult", "VirusScanResult", "IsLocalFileValid")
      VALUES (990001, 990001, 'rev.safetensors', 1.5, 'Model', TRUE, 'SafeTensor', 'FP16', 'Pruned', 'Success', 'Success', FALSE)`,
    update: `UPDATE "ModelFiles" SET "LocalPath" = '/library/rev.safetensors', "IsLocalFileValid" = TRUE WHERE "Id" = 990001`,
    remove: `DELETE FROM "ModelFiles" WHERE "Id" = 990001`,
  },
  {
    table: 'ModelImages',
    insert: `INSERT INTO "ModelImages" ("Id", "ModelVersionId", "Url", "IsNsfw", "NsfwLevel", "Width", "Height", "SortOrder",
      "IsLocalCacheValid", "LikeCount", "HeartCount", "CommentCount")
      VALUES (990001, 990001, 'https://example.invalid/i.png', FALSE, 'None', 64, 64, 0, FALSE, 0, 0, 0)`,
    update: `UPDATE "ModelImages" SET "LikeCount" = 3 WHERE "Id" = 990001`,
    remove: `DELETE FROM "ModelImages" WHERE "Id" = 990001`,
  },
  {
    table: 'TriggerWords',
    insert: `INSERT INTO "TriggerWords" ("Id", "ModelVersionId", "Word", "Order") VALUES (990001, 990001, 'revword', 0)`,
    update: `UPDATE "TriggerWords" SET "Word" = 'revword2' WHERE "Id" = 990001`,
    remove: `DELETE FROM "TriggerWords" WHERE "Id" = 990001`,
  },
  {
    table: 'LocalFiles',
    insert: `INSERT INTO "LocalFiles" ("Id", "Path", "Size", "MtimeMs", "FirstSeenAt", "LastSeenAt", "ModelFileId")
      VALUES (990001, '/library/rev.safetensors', 1536, 1.5, ${AT}, ${AT}, 990001)`,
    update: `UPDATE "LocalFiles" SET "MissingSince" = ${AT} WHERE "Id" = 990001`,
    remove: `DELETE FROM "LocalFiles" WHERE "Id" = 990001`,
  },
  {
    table: 'ModelPayloads',
    insert: `INSERT INTO "ModelPayloads" ("Id", "ModelId", "ContentHash", "Kind", "Origin", "Source", "FetchedAt", "ByteSize", "Body")
      VALUES (990001, 990001, 'abc', 'model', 'file', 'rev.json', ${AT}, 0, ${TEST_ENGINE === 'postgres' ? "'\\x00'::bytea" : "X'00'"})`,
    update: `UPDATE "ModelPayloads" SET "Source" = 'rev2.json' WHERE "Id" = 990001`,
    remove: `DELETE FROM "ModelPayloads" WHERE "Id" = 990001`,
  },
  {
    table: 'MetadataChangeSets',
    insert: `INSERT INTO "MetadataChangeSets" ("Id", "ModelId", "Source", "CreatedAt") VALUES (990001, 990001, 'edit', ${AT})`,
    update: `UPDATE "MetadataChangeSets" SET "Detail" = 'updateModel' WHERE "Id" = 990001`,
    remove: `DELETE FROM "MetadataChangeSets" WHERE "Id" = 990001`,
  },
  {
    table: 'MetadataChanges',
    insert: `INSERT INTO "MetadataChanges" ("Id", "ChangeSetId", "Entity", "EntityId", "Field")
      VALUES (990001, 990001, 'Model', 990001, 'Name')`,
    update: `UPDATE "MetadataChanges" SET "NewValue" = '"x"' WHERE "Id" = 990001`,
    remove: `DELETE FROM "MetadataChanges" WHERE "Id" = 990001`,
  },
];

/** Writes to tables no answer is made of: the number stays. */
const OTHER_WRITES = [
  `INSERT INTO "Downloads" ("Id", "State", "VersionCivitaiId", "TargetDir", "AlreadyPresent", "Sidecars", "ReceivedBytes", "Attempts",
    "CreatedAt", "UpdatedAt") VALUES (990001, 'QUEUED', 1, '/library', FALSE, FALSE, 0, 0, ${AT}, ${AT})`,
  `UPDATE "Downloads" SET "ReceivedBytes" = 1024 WHERE "Id" = 990001`,
  `DELETE FROM "Downloads" WHERE "Id" = 990001`,
  `INSERT INTO "CivitaiLookups" ("Id", "Kind", "Key", "Status", "CheckedAt") VALUES (990001, 'model', '1', 'NotFound', ${AT})`,
  `DELETE FROM "CivitaiLookups" WHERE "Id" = 990001`,
];

async function run(handle: CatalogHandle, text: string): Promise<void> {
  await handle.all(sql.raw(text));
}

describe('the catalog revision', () => {
  it('is read in one statement, a number with the name of its line of numbers', async () => {
    const statements: string[] = [];
    const catalog = await emptyCatalog({ open: { onStatement: (text) => statements.push(text) } });
    statements.length = 0;
    const revision = await readCatalogRevision(catalog.db);
    expect(statements).toHaveLength(1);
    expect(revision).toEqual({ revision: expect.any(Number), epoch: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('rises with every insert, update and delete of every table answers are made of, written by another connection', async () => {
    const catalog = await emptyCatalog();
    expect(WRITES.map((w) => w.table).sort()).toEqual([...TABLES_RAISING_REVISION].sort());
    let last = (await readCatalogRevision(catalog.db))!;
    const expectRise = async (what: string) => {
      const now = (await readCatalogRevision(catalog.db))!;
      expect(now.revision, what).toBeGreaterThan(last.revision);
      expect(now.epoch, what).toBe(last.epoch);
      last = now;
    };
    for (const write of WRITES) {
      await run(catalog.handle, write.insert);
      await expectRise(`insert into ${write.table}`);
    }
    for (const write of WRITES) {
      await run(catalog.handle, write.update);
      await expectRise(`update of ${write.table}`);
    }
    for (const write of [...WRITES].reverse()) {
      await run(catalog.handle, write.remove);
      await expectRise(`delete from ${write.table}`);
    }
  });

  it('stays when only the download queue or the Civitai look-ups change', async () => {
    const catalog = await emptyCatalog();
    const before = await readCatalogRevision(catalog.db);
    for (const text of OTHER_WRITES) await run(catalog.handle, text);
    expect(await readCatalogRevision(catalog.db)).toEqual(before);
  });

  it("rises with a write through the catalog's own write path, and not with a read", async () => {
    const catalog = await emptyCatalog();
    await run(catalog.handle, WRITES[0]!.insert);
    const before = (await readCatalogRevision(catalog.db))!;
    await catalog.db.kysely.selectFrom('Creators').selectAll().execute();
    expect(await readCatalogRevision(catalog.db)).toEqual(before);
    await catalog.db.write((trx) =>
      trx.updateTable('Creators').set({ Username: 'renamed' }).where('Id', '=', 990001).execute(),
    );
    expect((await readCatalogRevision(catalog.db))!.revision).toBeGreaterThan(before.revision);
  });

  it('is no catalog content: a transfer leaves it behind, and each database has its own line of numbers', () => {
    expect(catalogPlan().map((table) => table.name)).not.toContain('CatalogRevision');
  });
});

describe.runIf(TEST_ENGINE === 'postgres')('the catalog revision on PostgreSQL', () => {
  it('rises with a write through another connection, which is announced once per transaction', async () => {
    const catalog = await emptyCatalog();
    const url = catalog.database.engine === 'postgres' ? catalog.database.url : '';
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    try {
      const notes: string[] = [];
      listener.on('notification', (note) => notes.push(note.channel));
      await listener.query(`LISTEN ${REVISION_CHANNEL}`);
      const before = (await readCatalogRevision(catalog.db))!;
      // Three statements, one transaction: one announcement.
      await queryPostgres(
        url,
        `BEGIN;
         ${WRITES[0]!.insert};
         ${WRITES[0]!.update};
         UPDATE "Creators" SET "Username" = 'again' WHERE "Id" = 990001;
         COMMIT`,
      );
      const after = (await readCatalogRevision(catalog.db))!;
      expect(after.revision).toBeGreaterThan(before.revision);
      await expect.poll(() => notes).toEqual([REVISION_CHANNEL]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(notes).toEqual([REVISION_CHANNEL]);
    } finally {
      await listener.end();
    }
  });

  it('a catalog copied in by a transfer gets a line of numbers of its own', async () => {
    const seeded = await seededCatalog({ models: 3 });
    const source = (await readSqliteRevision(seeded.databasePath))!;
    const target = await postgresCopyOf(seeded.databasePath);
    const [copied] = await queryPostgres<{ Epoch: string }>(target.url, 'SELECT "Epoch" FROM "CatalogRevision"');
    expect(copied!.Epoch).toMatch(/^[0-9a-f]{32}$/);
    expect(copied!.Epoch).not.toBe(source.epoch);
  });
});

async function readSqliteRevision(file: string) {
  const db = await openCatalogDatabase(file);
  try {
    return await readCatalogRevision(db);
  } finally {
    await db.close();
  }
}

describe.runIf(TEST_ENGINE === 'sqlite')('the catalog revision on SQLite', () => {
  it("rises with the desktop app's writes, which keep working beside the triggers", async () => {
    const file = path.join(tempDir('dn-rev-desktop-'), 'Diffusion_Nexus-core.db');
    createDesktopSchema(file);
    await migrateDatabase(file);
    const before = (await readSqliteRevision(file))!;
    const rows = insertDesktopModel(file);
    const after = (await readSqliteRevision(file))!;
    expect(after.revision).toBeGreaterThan(before.revision);
    const direct = new Database(file, { readonly: true });
    try {
      expect(direct.prepare('SELECT "Name" FROM "Models" WHERE "Id" = ?').pluck().get(rows.modelId)).toBe('Desk Model');
    } finally {
      direct.close();
    }
  });

  it('moves past every number it had, under a new name, when a backup is restored', async () => {
    const seeded = await seededCatalog({ models: 3 });
    const file = seeded.databasePath;
    const backup = path.join(tempDir('dn-rev-backup-'), 'backup.db');
    await backupDatabase(file, backup);
    const atBackup = (await readSqliteRevision(file))!;
    const db = await openCatalogDatabase(file);
    await db.write((trx) => trx.updateTable('Models').set({ Name: 'changed after the backup' }).execute());
    await db.close();
    const beforeRestore = (await readSqliteRevision(file))!;
    expect(beforeRestore.revision).toBeGreaterThan(atBackup.revision);
    await restoreDatabase(file, backup);
    const restored = (await readSqliteRevision(file))!;
    expect(restored.revision).toBeGreaterThan(beforeRestore.revision);
    expect(restored.epoch).not.toBe(beforeRestore.epoch);
  });

  it('rises when a start re-creates triggers a desktop-app table rebuild removed (writes went unseen meanwhile)', async () => {
    const seeded = await seededCatalog({ models: 3 });
    const file = seeded.databasePath;
    const before = (await readSqliteRevision(file))!;
    const direct = new Database(file);
    try {
      // A rebuild drops every trigger of the table: here the changes per model's, which raises the revision too.
      direct.exec('DROP TRIGGER "TR_CatalogModelChanges_Models_Update"');
      direct.exec(`UPDATE "Models" SET "Name" = 'unseen'`);
    } finally {
      direct.close();
    }
    expect(await readSqliteRevision(file)).toEqual(before);
    await migrateDatabase(file);
    const after = (await readSqliteRevision(file))!;
    expect(after.revision).toBeGreaterThan(before.revision);
    const check = new Database(file, { readonly: true });
    try {
      // The unseen write is missing from the changes per model: they are known only from the new revision on.
      expect(check.prepare(`SELECT "ChangesFrom" FROM "CatalogRevision"`).pluck().get()).toBe(after.revision);
      const triggers = check.prepare(`SELECT count(*) FROM sqlite_master WHERE name = ?`).pluck();
      expect(triggers.get('TR_CatalogModelChanges_Models_Update')).toBe(1);
      // A trigger a later migration dropped (OneRevisionRaisePerRow) is not brought back.
      expect(triggers.get('TR_CatalogRevision_Models_Update')).toBe(0);
    } finally {
      check.close();
    }
  });
});
