/**
 * Opening a database written by the desktop app: verify, baseline InitialCreate without running it, apply only
 * later additive migrations, keep everything we do not own, and read/write its rows (timestamps included).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrateDatabase, migrationStatus } from '../src/db/migrations.ts';
import { MIGRATIONS_DIR } from '../src/db/project-paths.ts';
import { openCatalogDatabase, type CatalogDatabase } from '../src/db/catalog-database.ts';
import { utcTimestampSql } from '../src/db/timestamps.ts';
import { createDesktopSchema, insertDesktopModel, type DesktopRows } from './helpers/desktop-db.ts';
import { tempDir } from './helpers/temp.ts';

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
    expect(after.replace(', "UserEditedFields" TEXT', '').replace(', "IgnoreUpdates" BOOLEAN', '')).toBe(
      modelsDdlBefore,
    );
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

  it('reads its rows through Prisma: EF timestamps, 0/1 booleans, enums, BLOBs and 64-bit integers', async () => {
    catalog = await openCatalogDatabase(file);
    const model = await catalog.prisma.model.findUniqueOrThrow({
      where: { id: rows.modelId },
      include: {
        creator: true,
        tags: { include: { tag: true } },
        versions: { include: { files: true, images: true, triggerWords: true } },
      },
    });
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
    expect(model.creator?.username).toBe('desk_artist');
    expect(model.tags.map((t) => t.tag.normalizedName)).toEqual(['style']);
    const version = model.versions[0]!;
    expect(version.updatedAt).toBeNull();
    expect(version.publishedAt?.toISOString()).toBe('2025-12-20T00:00:00.000Z');
    expect(version).toMatchObject({ baseModel: 'SDXL10', baseModelRaw: 'SDXL 1.0', rating: 4.5, downloadCount: 1234 });
    expect(version.files[0]).toMatchObject({
      sizeKB: 144110.5,
      isPrimary: true,
      isLocalFileValid: true,
      format: 'SafeTensor',
    });
    const image = version.images[0]!;
    expect(image.seed).toBe(9007199254740993n);
    expect(image.cachedFileSize).toBe(9223372036854775807n);
    expect(Buffer.from(image.thumbnailData!)).toEqual(Buffer.from('RIFF'));
    expect(image.cfgScale).toBe(7.5);
    expect(version.triggerWords.map((t) => t.word)).toEqual(['desk style']);
  });

  it('writes rows the desktop app can still read, filling its extra NOT NULL columns from their defaults', async () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    await catalog.prisma.model.update({
      where: { id: rows.modelId },
      data: { name: 'Desk Model (renamed)', updatedAt: now },
    });
    const created = await catalog.prisma.model.create({
      data: {
        name: 'Ours',
        type: 'Checkpoint',
        isNsfw: false,
        isPoi: false,
        mode: 'Available',
        source: 'Manual',
        createdAt: now,
        updatedAt: now,
        allowNoCredit: true,
        allowCommercialUse: 'None',
        allowDerivatives: true,
        allowDifferentLicense: true,
      },
    });
    const raw = catalog.sql
      .prepare('SELECT Name, UpdatedAt, IsUserEdited, CivitaiModelPageId FROM Models WHERE Id IN (?, ?) ORDER BY Id')
      .all(rows.modelId, created.id);
    expect(raw).toEqual([
      {
        Name: 'Desk Model (renamed)',
        UpdatedAt: '2026-01-02T03:04:05.678+00:00',
        IsUserEdited: 1,
        CivitaiModelPageId: 777,
      },
      { Name: 'Ours', UpdatedAt: '2026-01-02T03:04:05.678+00:00', IsUserEdited: 0, CivitaiModelPageId: null },
    ]);
  });

  it('orders and filters timestamps of both formats correctly through utcTimestampSql', async () => {
    // Same day: the desktop row is later in the day, but its space sorts before Prisma's "T".
    const morning = new Date('2025-12-22T08:00:00.000Z');
    const ours = await catalog.prisma.model.create({
      data: {
        name: 'Morning',
        type: 'LORA',
        isNsfw: false,
        isPoi: false,
        mode: 'Available',
        source: 'Manual',
        createdAt: morning,
        updatedAt: morning,
        allowNoCredit: true,
        allowCommercialUse: 'None',
        allowDerivatives: true,
        allowDifferentLicense: true,
      },
    });
    const ids = [rows.modelId, ours.id];
    const textOrder = catalog.sql
      .prepare(`SELECT Id FROM Models WHERE Id IN (?, ?) ORDER BY CreatedAt`)
      .pluck()
      .all(...ids);
    expect(textOrder).toEqual([rows.modelId, ours.id]); // the problem: 19:53 before 08:00
    const fixedOrder = catalog.sql
      .prepare(`SELECT Id FROM Models WHERE Id IN (?, ?) ORDER BY ${utcTimestampSql('CreatedAt')}`)
      .pluck()
      .all(...ids);
    expect(fixedOrder).toEqual([ours.id, rows.modelId]);
    const after = catalog.sql
      .prepare(`SELECT Id FROM Models WHERE Id IN (?, ?) AND ${utcTimestampSql('CreatedAt')} > ?`)
      .pluck()
      .all(...ids, '2025-12-22T12:00:00.000Z');
    expect(after).toEqual([rows.modelId]);
  });
});

describe('refusing an incomplete desktop database', () => {
  it('names every missing table/column and writes nothing', async () => {
    const file = path.join(tempDir(), 'old.db');
    createDesktopSchema(file, { omitColumns: ['ModelFiles.HashBLAKE3', 'ModelImages.DenoisingStrength'] });
    await expect(migrateDatabase(file)).rejects.toMatchObject({
      code: 'DATABASE_INCOMPATIBLE',
      message: expect.stringMatching(/ModelFiles\.HashBLAKE3, ModelImages\.DenoisingStrength/),
    });
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE name = '_prisma_migrations'`).get()).toEqual({
      n: 0,
    });
    db.close();
  });
});
