/**
 * Opening a database written by the desktop app: verify, baseline InitialCreate without running it, apply only
 * later additive migrations, keep everything we do not own, and read/write its rows (timestamps included).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { listMigrations, migrateDatabase, migrationStatus } from '../src/db/migrations.ts';
import { MIGRATIONS_DIR } from '../src/db/project-paths.ts';
import { openCatalogDatabase, type CatalogDatabase } from '../src/db/catalog-database.ts';
import { insertRow, updateChanged } from '../src/db/row-writer.ts';
import { modelById, NEW_MODEL_DEFAULTS } from '../src/db/tables/models.ts';
import { nextTurn } from './helpers/catalog-handle.ts';
import { scanLibrary } from '../src/library/scan.ts';
import { createLoaders } from '../src/loaders/index.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { createDesktopSchema, insertDesktopModel, type DesktopRows } from './helpers/desktop-db.ts';
import { civitaiPayloadFor, randomBytes, safetensorsBytes, writeFile } from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { toStoredTimestamp } from '../src/db/timestamps.ts';

function tableSql(file: string, table: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).get(table) as { sql: string }).sql;
  } finally {
    db.close();
  }
}

describe('adopting a desktop-app database', () => {
  const dir = tempDir();
  const file = path.join(dir, 'Diffusion_Nexus-core.db');
  let rows: DesktopRows;
  let modelsDdlBefore: string;
  let catalog: CatalogDatabase;

  beforeAll(async () => {
    createDesktopSchema(file);
    rows = insertDesktopModel(file);
    modelsDdlBefore = tableSql(file, 'Models');
    return async () => catalog?.close();
  });

  it('is recognised before migrating', () => {
    const status = migrationStatus(file);
    expect(status.kind).toBe('adoptable');
    expect(status.applied).toEqual([]);
  });

  it('baselines InitialCreate without running it and applies only the later migrations', async () => {
    const migrations = listMigrations(MIGRATIONS_DIR);
    const result = await migrateDatabase(file);
    expect(result.baselined).toBe(migrations[0]!.name);
    expect(result.appliedNow).toEqual(migrations.slice(1).map((m) => m.name));
    expect(result.applied).toEqual(migrations.map((m) => m.name));
    // InitialCreate did not run: the EF-style DDL is still there, with later migrations' columns appended.
    const after = tableSql(file, 'Models');
    expect(after).toContain('CONSTRAINT "PK_Models" PRIMARY KEY AUTOINCREMENT');
    expect(
      after
        .replace(', "UserEditedFields" TEXT', '')
        .replace(', "IgnoreUpdates" BOOLEAN', '')
        .replace(', "RemovedFromCivitaiAt" DATETIME', ''),
    ).toBe(modelsDdlBefore);
    expect((await migrateDatabase(file)).appliedNow).toEqual([]);
  });

  it('keeps unknown tables, unknown columns and the EF history untouched', () => {
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId').all()).toEqual([
        { MigrationId: '20241222120000_InitialCreate' },
        { MigrationId: '20250601090000_AddFileSizeBytes' },
      ]);
      expect(db.prepare('SELECT FolderPath FROM LoraSources').all()).toEqual([{ FolderPath: 'D:\\Loras\\Styles' }]);
      expect(db.prepare('SELECT ShowNsfw, LoraSortSourcePath FROM AppSettings').get()).toEqual({
        ShowNsfw: 1,
        LoraSortSourcePath: 'D:\\Loras',
      });
      expect(db.prepare('SELECT COUNT(*) AS n FROM DatasetCategories').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT FileSizeBytes FROM ModelFiles WHERE Id = ?').get(rows.fileId)).toEqual({
        FileSizeBytes: 147569152,
      });
      expect(db.prepare('SELECT CivitaiModelPageId, IsUserEdited FROM Models WHERE Id = ?').get(rows.modelId)).toEqual({
        CivitaiModelPageId: 777,
        IsUserEdited: 1,
      });
      expect(db.prepare('SELECT MediaType FROM ModelImages WHERE Id = ?').get(rows.imageId)).toEqual({
        MediaType: 'image',
      });
    } finally {
      db.close();
    }
  });

  it('reads its rows through the loaders: EF timestamps, 0/1 booleans, enums, BLOBs and 64-bit integers', async () => {
    catalog = await openCatalogDatabase(file);
    const loaders = createLoaders(catalog, { maxBase64Bytes: 1024 });
    const model = (await loaders.models.byId().load(rows.modelId))!;
    expect(model.createdAt.toISOString()).toBe('2025-12-22T19:53:09.123Z');
    expect(model.updatedAt.toISOString()).toBe('2025-12-23T08:00:00.500Z');
    expect(model.lastSyncedAt).toBeNull();
    expect(model).toMatchObject({
      civitaiId: 4242,
      type: 'LORA',
      isNsfw: false,
      allowNoCredit: true,
      allowDifferentLicense: false,
      allowCommercialUse: 'Sell',
    });
    expect((await loaders.creators.byId.load(model.creatorId!))?.username).toBe('desk_artist');
    expect((await loaders.tags.byModel.load(rows.modelId)).map((t) => t.normalizedName)).toEqual(['style']);
    const version = (await loaders.versions.byId().load(rows.versionId))!;
    expect(version.modelId).toBe(rows.modelId);
    expect(version.updatedAt).toBeNull();
    expect(version.publishedAt?.toISOString()).toBe('2025-12-20T00:00:00.000Z');
    expect(version).toMatchObject({ baseModel: 'SDXL10', baseModelRaw: 'SDXL 1.0', rating: 4.5, downloadCount: 1234 });
    expect((await loaders.files.byVersion(null).load(rows.versionId))[0]).toMatchObject({
      sizeKB: 144110.5,
      isPrimary: true,
      isLocalFileValid: true,
      format: 'SafeTensor',
    });
    const image = (await loaders.images.rows().load(rows.imageId))!;
    expect(image.seed).toBe(9007199254740993n);
    expect(image.cachedFileSize).toBe(9223372036854775807n);
    expect(await loaders.thumbnails.bytes.load(rows.imageId)).toEqual(Buffer.from('RIFF'));
    expect(image.cfgScale).toBe(7.5);
    expect((await loaders.triggerWords.byVersion.load(rows.versionId)).map((t) => t.word)).toEqual(['desk style']);
  });

  it('writes rows the desktop app can still read, filling its extra NOT NULL columns from their defaults', async () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    const createdId = await catalog.write(async (trx) => {
      const stored = (await modelById(trx, rows.modelId))!;
      await updateChanged(trx, 'Models', rows.modelId, stored, { Name: 'Desk Model (renamed)', UpdatedAt: now });
      return insertRow(trx, 'Models', {
        ...NEW_MODEL_DEFAULTS,
        Name: 'Ours',
        Type: 'Checkpoint',
        Source: 'Manual',
        CreatedAt: now,
        UpdatedAt: now,
      });
    });
    const direct = new Database(file, { readonly: true });
    const raw = direct
      .prepare('SELECT Name, UpdatedAt, IsUserEdited, CivitaiModelPageId FROM Models WHERE Id IN (?, ?) ORDER BY Id')
      .all(rows.modelId, createdId);
    direct.close();
    expect(raw).toEqual([
      {
        Name: 'Desk Model (renamed)',
        UpdatedAt: '2026-01-02 03:04:05.678+00:00',
        IsUserEdited: 1,
        CivitaiModelPageId: 777,
      },
      { Name: 'Ours', UpdatedAt: '2026-01-02 03:04:05.678+00:00', IsUserEdited: 0, CivitaiModelPageId: null },
    ]);
  });

  it("writes every timestamp in the desktop app's format (yyyy-MM-dd HH:mm:ss.FFFFFFFzzz)", async () => {
    expect(toStoredTimestamp(new Date('2026-01-02T03:04:05.000Z'))).toBe('2026-01-02 03:04:05+00:00');
    expect(toStoredTimestamp(new Date('2026-01-02T03:04:05.190Z'))).toBe('2026-01-02 03:04:05.19+00:00');
    const summary = await importPayload(catalog, ownFixture('model-drift.json'), 'model-drift.json');
    const modelId = summary.outcomes[0]!.modelId;
    const direct = new Database(file, { readonly: true });
    const stamps = [
      ...direct.prepare('SELECT CreatedAt, UpdatedAt, LastSyncedAt FROM Models WHERE Id = ?').raw().all(modelId),
      ...direct
        .prepare('SELECT CreatedAt, UpdatedAt, PublishedAt FROM ModelVersions WHERE ModelId = ?')
        .raw()
        .all(modelId),
      ...direct
        .prepare(
          'SELECT i.CreatedAt FROM ModelImages i JOIN ModelVersions v ON v.Id = i.ModelVersionId WHERE v.ModelId = ?',
        )
        .raw()
        .all(modelId),
    ]
      .flat()
      .filter((value) => value !== null);
    direct.close();
    expect(stamps.length).toBeGreaterThan(5);
    for (const stamp of stamps) expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,7})?\+00:00$/);
  });

  it("orders and filters timestamps of both formats correctly through the dialect's utc()", async () => {
    // Same day: the desktop row is later in the day, but its space sorts before the "T" of a row written by an
    // earlier version of this server (Prisma's format).
    const morning = '2025-12-22T08:00:00.000+00:00';
    const oursId = await catalog.write((trx) =>
      insertRow(trx, 'Models', {
        ...NEW_MODEL_DEFAULTS,
        Name: 'Morning',
        Type: 'LORA',
        Source: 'Manual',
        CreatedAt: morning,
        UpdatedAt: morning,
      }),
    );
    const ids = [rows.modelId, oursId];
    const both = catalog.kysely.selectFrom('Models').select('Id').where('Id', 'in', ids);
    const idsOf = async (query: typeof both) => (await query.execute()).map((row) => row.Id);
    expect(await idsOf(both.orderBy('CreatedAt'))).toEqual([rows.modelId, oursId]); // the problem: 19:53 before 08:00
    expect(await idsOf(both.orderBy(catalog.dialect.utc('CreatedAt')))).toEqual([oursId, rows.modelId]);
    const noon = new Date('2025-12-22T12:00:00.000Z').toISOString();
    expect(await idsOf(both.where(catalog.dialect.utc('CreatedAt'), '>', noon))).toEqual([rows.modelId]);
  });
});

describe('ModelFiles.FileSizeBytes, a column of newer desktop-app databases', () => {
  const lib = path.join(tempDir('dn-size-lib-'), 'library');
  const known = safetensorsBytes({ ss_output_name: 'known' }, randomBytes(3000, 611));
  const payload = randomBytes(2500, 612);
  const files = {
    known: writeFile(path.join(lib, 'loras', 'known.safetensors'), known),
    solo: writeFile(path.join(lib, 'loras', 'solo.safetensors'), safetensorsBytes({ a: '1' }, payload)),
    copy: writeFile(path.join(lib, 'loras', 'solo_copy.safetensors'), safetensorsBytes({ a: '1' }, payload)),
    other: writeFile(path.join(lib, 'loras', 'other.safetensors'), safetensorsBytes({}, randomBytes(1700, 613))),
  };
  const scanInto = (db: CatalogDatabase) => scanLibrary(db, { roots: [lib], libraryRoots: [lib] });
  const sizesIn = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT LocalPath, FileSizeBytes FROM ModelFiles ORDER BY LocalPath').all() as {
        LocalPath: string;
        FileSizeBytes: number | null;
      }[];
    } finally {
      db.close();
    }
  };

  it('is filled with the exact byte size of every file a scan links or catalogues, when the database has it', async () => {
    const { db } = await emptyCatalog();
    await importPayload(
      db,
      civitaiPayloadFor(610_000, 'Known', [
        { versionId: 610_001, fileId: 610_002, fileName: 'known.safetensors', bytes: known },
      ]),
      'setup',
    );
    // The desktop app adds the column to a database this server already has open.
    const direct = new Database(db.path);
    direct.exec('ALTER TABLE "ModelFiles" ADD COLUMN "FileSizeBytes" INTEGER NULL');
    direct.close();
    await nextTurn();

    const first = await scanInto(db);
    expect(first).toMatchObject({ linked: 1, newModels: 2, problems: [] });
    // A changed local-only file, and a look-alike (same weights, another header): their rows are written too.
    writeFile(files.other, safetensorsBytes({}, randomBytes(1900, 614)));
    writeFile(path.join(lib, 'loras', 'solo_variant.safetensors'), safetensorsBytes({ a: 'longer header' }, payload));
    expect(await scanInto(db)).toMatchObject({ filesHashed: 2, newModels: 0, problems: [] });

    const rows = sizesIn(db.path);
    expect(rows.map((r) => path.basename(r.LocalPath))).toEqual([
      'known.safetensors',
      'other.safetensors',
      'solo.safetensors',
      'solo_copy.safetensors',
      'solo_variant.safetensors',
    ]);
    for (const row of rows) expect(row.FileSizeBytes, row.LocalPath).toBe(statSync(row.LocalPath).size);
  });

  it('is left alone in a database without it, and filled by the next scan once the app adds it', async () => {
    const { db } = await emptyCatalog();
    const result = await scanInto(db);
    // known, other and one of the solo files are new; the other solo file a copy, solo_variant a look-alike.
    expect(result).toMatchObject({ filesSeen: 5, newModels: 3, linked: 1, duplicates: 1, problems: [] });
    const direct = new Database(db.path);
    expect(direct.prepare(`SELECT name FROM pragma_table_info('ModelFiles')`).pluck().all()).not.toContain(
      'FileSizeBytes',
    );
    direct.exec('ALTER TABLE "ModelFiles" ADD COLUMN "FileSizeBytes" INTEGER NULL');
    direct.close();
    await nextTurn();
    // Nothing changed on disk: no file is read again, but every row gets the size the index knows.
    expect(await scanInto(db)).toMatchObject({ filesHashed: 0, filesUnchanged: 5, problems: [] });
    const rows = sizesIn(db.path);
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.FileSizeBytes, row.LocalPath).toBe(statSync(row.LocalPath).size);
  });
});
