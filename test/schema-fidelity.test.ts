/**
 * The migrated database must be the desktop app's schema: every table, column, declared type, nullability, primary
 * key, foreign key action and index name, read back through PRAGMA from a real file. The expectations below are
 * written from the table list, independently of schema.prisma.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../src/db/migrations.ts';
import { insertRow } from '../src/db/row-writer.ts';
import { deleteModelRow, NEW_MODEL_DEFAULTS } from '../src/db/tables/models.ts';
import { tempDir } from './helpers/temp.ts';
import { HISTORY_TABLES } from './helpers/catalog.ts';

type ColumnSpec = [name: string, type: string, notNull: boolean];
interface TableSpec {
  columns: ColumnSpec[];
  primaryKey: string[];
  foreignKeys: { from: string; table: string; to: string; onDelete: string }[];
  indexes: { name: string; unique: boolean; columns: string[] }[];
}

const T = 'TEXT',
  I = 'INTEGER',
  R = 'REAL',
  B = 'BOOLEAN',
  D = 'DATETIME',
  BIG = 'BIGINT',
  BLOB = 'BLOB';

const EXPECTED: Record<string, TableSpec> = {
  Creators: {
    columns: [
      ['Id', I, true],
      ['Username', T, true],
      ['AvatarUrl', T, false],
      ['CreatedAt', D, true],
    ],
    primaryKey: ['Id'],
    foreignKeys: [],
    indexes: [{ name: 'IX_Creators_Username', unique: true, columns: ['Username'] }],
  },
  Models: {
    columns: [
      ['Id', I, true],
      ['CivitaiId', I, false],
      ['Name', T, true],
      ['Description', T, false],
      ['Type', T, true],
      ['IsNsfw', B, true],
      ['IsPoi', B, true],
      ['Mode', T, true],
      ['Source', T, true],
      ['CreatedAt', D, true],
      ['UpdatedAt', D, true],
      ['LastSyncedAt', D, false],
      ['AllowNoCredit', B, true],
      ['AllowCommercialUse', T, true],
      ['AllowDerivatives', B, true],
      ['AllowDifferentLicense', B, true],
      ['CreatorId', I, false],
    ],
    primaryKey: ['Id'],
    foreignKeys: [{ from: 'CreatorId', table: 'Creators', to: 'Id', onDelete: 'SET NULL' }],
    indexes: [
      { name: 'IX_Models_CivitaiId', unique: true, columns: ['CivitaiId'] },
      { name: 'IX_Models_Name', unique: false, columns: ['Name'] },
      { name: 'IX_Models_Type', unique: false, columns: ['Type'] },
      { name: 'IX_Models_CreatedAt', unique: false, columns: ['CreatedAt'] },
      { name: 'IX_Models_CreatorId', unique: false, columns: ['CreatorId'] },
    ],
  },
  ModelVersions: {
    columns: [
      ['Id', I, true],
      ['CivitaiId', I, false],
      ['ModelId', I, true],
      ['Name', T, true],
      ['Description', T, false],
      ['BaseModel', T, true],
      ['BaseModelRaw', T, false],
      ['CreatedAt', D, true],
      ['UpdatedAt', D, false],
      ['PublishedAt', D, false],
      ['DownloadUrl', T, false],
      ['EarlyAccessDays', I, true],
      ['DownloadCount', I, true],
      ['RatingCount', I, true],
      ['Rating', R, true],
      ['ThumbsUpCount', I, true],
      ['ThumbsDownCount', I, true],
    ],
    primaryKey: ['Id'],
    foreignKeys: [{ from: 'ModelId', table: 'Models', to: 'Id', onDelete: 'CASCADE' }],
    indexes: [
      { name: 'IX_ModelVersions_CivitaiId', unique: true, columns: ['CivitaiId'] },
      { name: 'IX_ModelVersions_ModelId', unique: false, columns: ['ModelId'] },
      { name: 'IX_ModelVersions_BaseModel', unique: false, columns: ['BaseModel'] },
      { name: 'IX_ModelVersions_CreatedAt', unique: false, columns: ['CreatedAt'] },
    ],
  },
  ModelFiles: {
    columns: [
      ['Id', I, true],
      ['CivitaiId', I, false],
      ['ModelVersionId', I, true],
      ['FileName', T, true],
      ['SizeKB', R, true],
      ['FileType', T, true],
      ['IsPrimary', B, true],
      ['Format', T, true],
      ['Precision', T, true],
      ['SizeType', T, true],
      ['DownloadUrl', T, false],
      ['PickleScanResult', T, true],
      ['PickleScanMessage', T, false],
      ['VirusScanResult', T, true],
      ['ScannedAt', D, false],
      ['HashAutoV1', T, false],
      ['HashAutoV2', T, false],
      ['HashSHA256', T, false],
      ['HashCRC32', T, false],
      ['HashBLAKE3', T, false],
      ['LocalPath', T, false],
      ['IsLocalFileValid', B, true],
      ['LocalFileVerifiedAt', D, false],
    ],
    primaryKey: ['Id'],
    foreignKeys: [{ from: 'ModelVersionId', table: 'ModelVersions', to: 'Id', onDelete: 'CASCADE' }],
    indexes: [
      { name: 'IX_ModelFiles_CivitaiId', unique: false, columns: ['CivitaiId'] },
      { name: 'IX_ModelFiles_ModelVersionId', unique: false, columns: ['ModelVersionId'] },
      { name: 'IX_ModelFiles_HashSHA256', unique: false, columns: ['HashSHA256'] },
      { name: 'IX_ModelFiles_LocalPath', unique: false, columns: ['LocalPath'] },
    ],
  },
  ModelImages: {
    columns: [
      ['Id', I, true],
      ['CivitaiId', I, false],
      ['ModelVersionId', I, true],
      ['Url', T, true],
      ['IsNsfw', B, true],
      ['NsfwLevel', T, true],
      ['Width', I, true],
      ['Height', I, true],
      ['BlurHash', T, false],
      ['SortOrder', I, true],
      ['CreatedAt', D, false],
      ['PostId', I, false],
      ['Username', T, false],
      ['ThumbnailData', BLOB, false],
      ['ThumbnailMimeType', T, false],
      ['ThumbnailWidth', I, false],
      ['ThumbnailHeight', I, false],
      ['LocalCachePath', T, false],
      ['IsLocalCacheValid', B, true],
      ['CachedAt', D, false],
      ['CachedFileSize', BIG, false],
      ['Prompt', T, false],
      ['NegativePrompt', T, false],
      ['Seed', BIG, false],
      ['Steps', I, false],
      ['Sampler', T, false],
      ['CfgScale', R, false],
      ['GenerationModel', T, false],
      ['DenoisingStrength', R, false],
      ['LikeCount', I, true],
      ['HeartCount', I, true],
      ['CommentCount', I, true],
    ],
    primaryKey: ['Id'],
    foreignKeys: [{ from: 'ModelVersionId', table: 'ModelVersions', to: 'Id', onDelete: 'CASCADE' }],
    indexes: [
      { name: 'IX_ModelImages_CivitaiId', unique: false, columns: ['CivitaiId'] },
      { name: 'IX_ModelImages_ModelVersionId', unique: false, columns: ['ModelVersionId'] },
      { name: 'IX_ModelImages_ModelVersionId_SortOrder', unique: false, columns: ['ModelVersionId', 'SortOrder'] },
    ],
  },
  Tags: {
    columns: [
      ['Id', I, true],
      ['Name', T, true],
      ['NormalizedName', T, true],
    ],
    primaryKey: ['Id'],
    foreignKeys: [],
    indexes: [{ name: 'IX_Tags_NormalizedName', unique: true, columns: ['NormalizedName'] }],
  },
  ModelTags: {
    columns: [
      ['ModelId', I, true],
      ['TagId', I, true],
    ],
    primaryKey: ['ModelId', 'TagId'],
    foreignKeys: [
      { from: 'ModelId', table: 'Models', to: 'Id', onDelete: 'CASCADE' },
      { from: 'TagId', table: 'Tags', to: 'Id', onDelete: 'CASCADE' },
    ],
    indexes: [{ name: 'IX_ModelTags_TagId', unique: false, columns: ['TagId'] }],
  },
  TriggerWords: {
    columns: [
      ['Id', I, true],
      ['ModelVersionId', I, true],
      ['Word', T, true],
      ['Order', I, true],
    ],
    primaryKey: ['Id'],
    foreignKeys: [{ from: 'ModelVersionId', table: 'ModelVersions', to: 'Id', onDelete: 'CASCADE' }],
    indexes: [{ name: 'IX_TriggerWords_ModelVersionId', unique: false, columns: ['ModelVersionId'] }],
  },
};

/**
 * What later, additive migrations put on top of the seed: new nullable columns at the end of a table and new
 * indexes (expression indexes show their columns as `<expr>`). Nothing else may differ.
 */
const ADDITIONS: Record<string, Pick<TableSpec, 'columns' | 'indexes'>> = {
  Creators: { columns: [], indexes: [{ name: 'IX_Creators_UsernameLower', unique: false, columns: ['<expr>'] }] },
  Models: {
    columns: [
      ['UserEditedFields', T, false],
      ['IgnoreUpdates', B, false],
      ['RemovedFromCivitaiAt', D, false],
    ],
    indexes: [
      { name: 'IX_Models_CreatedAtUtc', unique: false, columns: ['<expr>'] },
      { name: 'IX_Models_UpdatedAtUtc', unique: false, columns: ['<expr>'] },
      { name: 'IX_Models_NameLower', unique: false, columns: ['<expr>'] },
    ],
  },
  ModelVersions: {
    columns: [['RemovedFromCivitaiAt', D, false]],
    indexes: [
      { name: 'IX_ModelVersions_CreatedAtUtc', unique: false, columns: ['<expr>'] },
      { name: 'IX_ModelVersions_ModelId_CreatedAtUtc', unique: false, columns: ['ModelId', '<expr>'] },
    ],
  },
  ModelFiles: {
    columns: [['HashAutoV3', T, false]],
    indexes: ['HashAutoV1', 'HashAutoV2', 'HashSHA256', 'HashCRC32', 'HashBLAKE3']
      .map((c) => ({ name: `IX_ModelFiles_${c}_Upper`, unique: false, columns: ['<expr>'] }))
      .concat([{ name: 'IX_ModelFiles_HashAutoV3_Prefix', unique: false, columns: ['<expr>'] }]),
  },
  ModelImages: {
    columns: [],
    // A version's image page with the thumbnail facts that follow the BLOB in the row (AddImagePageIndex).
    indexes: [
      {
        name: 'IX_ModelImages_VersionPage',
        unique: false,
        columns: ['ModelVersionId', 'SortOrder', 'Id', 'ThumbnailWidth', 'ThumbnailHeight', 'ThumbnailMimeType'],
      },
    ],
  },
};

let db: Database.Database;
let file: string;

beforeAll(async () => {
  file = path.join(tempDir(), 'fidelity.db');
  await migrateDatabase(file);
  db = new Database(file, { readonly: true });
  return () => db.close();
});

describe('migrated schema', () => {
  it('has exactly the eight catalog tables (plus Prisma history, sync bookkeeping, the scan index, the download queue, the catalog revision, the changes per model and search)', async () => {
    const tables = (
      db
        .prepare(`SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
        .all() as { name: string }[]
    ).map((r) => r.name);
    const { EXTERNAL_TABLES } = await import('../src/db/external-tables.ts');
    expect(tables.sort()).toEqual(
      [
        ...Object.keys(EXPECTED),
        '_prisma_migrations',
        'CivitaiLookups',
        'LocalFiles',
        ...HISTORY_TABLES,
        'Downloads',
        'CatalogRevision',
        'CatalogModelChanges',
        ...EXTERNAL_TABLES,
      ].sort(),
    );
  });

  describe.each(Object.entries(EXPECTED))('%s', (table, spec) => {
    it('has every column with its declared type and nullability, in order', () => {
      const columns = db.prepare(`SELECT name, type, "notnull" AS isRequired FROM pragma_table_info(?)`).all(table) as {
        name: string;
        type: string;
        isRequired: number;
      }[];
      expect(columns.map((c) => [c.name, c.type, c.isRequired === 1])).toEqual([
        ...spec.columns,
        ...(ADDITIONS[table]?.columns ?? []),
      ]);
    });

    it('has its primary key', () => {
      const pk = db.prepare(`SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`).all(table) as {
        name: string;
      }[];
      expect(pk.map((c) => c.name)).toEqual(spec.primaryKey);
      if (spec.primaryKey.length === 1) {
        const sql = (db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).get(table) as { sql: string }).sql;
        expect(sql).toMatch(/"Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT/);
      }
    });

    it('has its foreign keys with their delete actions', () => {
      const fks = db
        .prepare(
          `SELECT "from", "table", "to", on_delete AS onDelete, on_update AS onUpdate FROM pragma_foreign_key_list(?)`,
        )
        .all(table) as { from: string; table: string; to: string; onDelete: string; onUpdate: string }[];
      expect(
        fks
          .map(({ from, table: t, to, onDelete }) => ({ from, table: t, to, onDelete }))
          .sort((a, b) => a.from.localeCompare(b.from)),
      ).toEqual([...spec.foreignKeys].sort((a, b) => a.from.localeCompare(b.from)));
      // Like EF Core's DDL: no ON UPDATE action.
      for (const fk of fks) expect(fk.onUpdate).toBe('NO ACTION');
    });

    it("has exactly its named indexes (the seed's, plus documented additions)", () => {
      const indexes = (
        db.prepare(`SELECT name, "unique" AS isUnique, origin FROM pragma_index_list(?)`).all(table) as {
          name: string;
          isUnique: number;
          origin: string;
        }[]
      )
        .filter((i) => i.origin === 'c')
        .map((i) => ({
          name: i.name,
          unique: i.isUnique === 1,
          columns: (
            db.prepare(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`).all(i.name) as { name: string | null }[]
          ).map((c) => c.name ?? '<expr>'),
        }));
      const expected = [...spec.indexes, ...(ADDITIONS[table]?.indexes ?? [])];
      expect(indexes.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
        expected.sort((a, b) => a.name.localeCompare(b.name)),
      );
    });
  });

  it('has a physical column for every Prisma field, named by the rule the raw loaders use', async () => {
    const { columnsOf } = await import('../src/db/row-mapping.ts');
    const { TABLE_NAMES } = await import('./helpers/catalog.ts');
    for (const model of [
      'Creator',
      'Model',
      'ModelVersion',
      'ModelFile',
      'ModelImage',
      'Tag',
      'TriggerWord',
    ] as const) {
      const present = new Set(
        (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(TABLE_NAMES[model]) as { name: string }[]).map(
          (c) => c.name,
        ),
      );
      for (const column of columnsOf(model))
        expect(present.has(column.column), `${TABLE_NAMES[model]}.${column.column}`).toBe(true);
    }
  });

  it('enforces foreign keys and the delete actions on a real connection', async () => {
    const { openCatalogDatabase } = await import('../src/db/catalog-database.ts');
    const catalog = await openCatalogDatabase(file);
    try {
      const now = new Date();
      const direct = new Database(file);
      try {
        const { creatorId, modelId } = await catalog.write(async (trx) => {
          const creatorId = await insertRow(trx, 'Creators', { Username: 'fk-test', CreatedAt: now });
          const modelId = await insertRow(trx, 'Models', {
            ...NEW_MODEL_DEFAULTS,
            Name: 'FK',
            Type: 'LORA',
            Source: 'Manual',
            CreatedAt: now,
            UpdatedAt: now,
            AllowCommercialUse: 'Sell',
            CreatorId: creatorId,
          });
          const versionId = await insertRow(trx, 'ModelVersions', {
            ModelId: modelId,
            Name: 'v1',
            BaseModel: 'SD15',
            CreatedAt: now,
            EarlyAccessDays: 0,
            DownloadCount: 0,
            RatingCount: 0,
            Rating: 0,
            ThumbsUpCount: 0,
            ThumbsDownCount: 0,
          });
          await insertRow(trx, 'TriggerWords', { ModelVersionId: versionId, Word: 'fk', Order: 0 });
          return { creatorId, modelId };
        });
        await expect(
          catalog.write((trx) => insertRow(trx, 'TriggerWords', { ModelVersionId: 999_999, Word: 'x', Order: 0 })),
        ).rejects.toThrow(/FOREIGN KEY/);
        await catalog.write((trx) => trx.deleteFrom('Creators').where('Id', '=', creatorId).execute());
        expect(direct.prepare('SELECT CreatorId FROM Models WHERE Id = ?').get(modelId)).toEqual({ CreatorId: null });
        await catalog.write((trx) => deleteModelRow(trx, modelId));
        expect(direct.prepare('SELECT COUNT(*) AS n FROM TriggerWords').get()).toEqual({ n: 0 });
      } finally {
        direct.close();
      }
    } finally {
      await catalog.close();
    }
  });
});
