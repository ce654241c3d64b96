/**
 * Builds a database the way the desktop app (EF Core 9 on SQLite) leaves it: EF-style DDL, filtered unique
 * indexes, `__EFMigrationsHistory`, settings tables we do not own and columns added by later app versions, with
 * rows in the app's formats (timestamps `YYYY-MM-DD HH:MM:SS.fffffff+00:00`, booleans 0/1, enum member names).
 */
import Database from 'better-sqlite3';

export interface DesktopDbOptions {
  /** Leave these `Table.Column` pairs out of the DDL, to simulate an old or damaged file. */
  omitColumns?: string[];
}

interface TableDdl {
  name: string;
  columns: string[];
  constraints: string[];
}

const TABLES: TableDdl[] = [
  {
    name: 'AppSettings',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_AppSettings" PRIMARY KEY AUTOINCREMENT',
      '"ShowNsfw" INTEGER NOT NULL',
      '"LoraSortSourcePath" TEXT NULL',
      '"UpdatedAt" TEXT NOT NULL',
    ],
    constraints: [],
  },
  {
    name: 'Creators',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_Creators" PRIMARY KEY AUTOINCREMENT',
      '"Username" TEXT NOT NULL',
      '"AvatarUrl" TEXT NULL',
      '"CreatedAt" TEXT NOT NULL',
    ],
    constraints: [],
  },
  {
    name: 'Tags',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_Tags" PRIMARY KEY AUTOINCREMENT',
      '"Name" TEXT NOT NULL',
      '"NormalizedName" TEXT NOT NULL',
    ],
    constraints: [],
  },
  {
    name: 'LoraSources',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_LoraSources" PRIMARY KEY AUTOINCREMENT',
      '"AppSettingsId" INTEGER NOT NULL',
      '"FolderPath" TEXT NOT NULL',
      '"IsEnabled" INTEGER NOT NULL',
      '"Order" INTEGER NOT NULL',
    ],
    constraints: [
      'CONSTRAINT "FK_LoraSources_AppSettings_AppSettingsId" FOREIGN KEY ("AppSettingsId") REFERENCES "AppSettings" ("Id") ON DELETE CASCADE',
    ],
  },
  {
    name: 'DatasetCategories',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_DatasetCategories" PRIMARY KEY AUTOINCREMENT',
      '"Name" TEXT NOT NULL',
      '"AppSettingsId" INTEGER NOT NULL',
      '"CreatedAt" TEXT NOT NULL',
    ],
    constraints: [
      'CONSTRAINT "FK_DatasetCategories_AppSettings_AppSettingsId" FOREIGN KEY ("AppSettingsId") REFERENCES "AppSettings" ("Id") ON DELETE CASCADE',
    ],
  },
  {
    name: 'Models',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_Models" PRIMARY KEY AUTOINCREMENT',
      '"CivitaiId" INTEGER NULL',
      '"Name" TEXT NOT NULL',
      '"Description" TEXT NULL',
      '"Type" TEXT NOT NULL',
      '"IsNsfw" INTEGER NOT NULL',
      '"IsPoi" INTEGER NOT NULL',
      '"Mode" TEXT NOT NULL',
      '"Source" TEXT NOT NULL',
      '"CreatedAt" TEXT NOT NULL',
      '"UpdatedAt" TEXT NOT NULL',
      '"LastSyncedAt" TEXT NULL',
      '"AllowNoCredit" INTEGER NOT NULL',
      '"AllowCommercialUse" TEXT NOT NULL',
      '"AllowDerivatives" INTEGER NOT NULL',
      '"AllowDifferentLicense" INTEGER NOT NULL',
      '"CreatorId" INTEGER NULL',
      // Added by later desktop versions:
      '"CivitaiModelPageId" INTEGER NULL',
      '"IsUserEdited" INTEGER NOT NULL DEFAULT 0',
    ],
    constraints: [
      'CONSTRAINT "FK_Models_Creators_CreatorId" FOREIGN KEY ("CreatorId") REFERENCES "Creators" ("Id") ON DELETE SET NULL',
    ],
  },
  {
    name: 'ModelTags',
    columns: ['"ModelId" INTEGER NOT NULL', '"TagId" INTEGER NOT NULL'],
    constraints: [
      'CONSTRAINT "PK_ModelTags" PRIMARY KEY ("ModelId", "TagId")',
      'CONSTRAINT "FK_ModelTags_Models_ModelId" FOREIGN KEY ("ModelId") REFERENCES "Models" ("Id") ON DELETE CASCADE',
      'CONSTRAINT "FK_ModelTags_Tags_TagId" FOREIGN KEY ("TagId") REFERENCES "Tags" ("Id") ON DELETE CASCADE',
    ],
  },
  {
    name: 'ModelVersions',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_ModelVersions" PRIMARY KEY AUTOINCREMENT',
      '"CivitaiId" INTEGER NULL',
      '"ModelId" INTEGER NOT NULL',
      '"Name" TEXT NOT NULL',
      '"Description" TEXT NULL',
      '"BaseModel" TEXT NOT NULL',
      '"BaseModelRaw" TEXT NULL',
      '"CreatedAt" TEXT NOT NULL',
      '"UpdatedAt" TEXT NULL',
      '"PublishedAt" TEXT NULL',
      '"DownloadUrl" TEXT NULL',
      '"EarlyAccessDays" INTEGER NOT NULL',
      '"DownloadCount" INTEGER NOT NULL',
      '"RatingCount" INTEGER NOT NULL',
      '"Rating" REAL NOT NULL',
      '"ThumbsUpCount" INTEGER NOT NULL',
      '"ThumbsDownCount" INTEGER NOT NULL',
    ],
    constraints: [
      'CONSTRAINT "FK_ModelVersions_Models_ModelId" FOREIGN KEY ("ModelId") REFERENCES "Models" ("Id") ON DELETE CASCADE',
    ],
  },
  {
    name: 'ModelFiles',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_ModelFiles" PRIMARY KEY AUTOINCREMENT',
      '"CivitaiId" INTEGER NULL',
      '"ModelVersionId" INTEGER NOT NULL',
      '"FileName" TEXT NOT NULL',
      '"SizeKB" REAL NOT NULL',
      '"FileSizeBytes" INTEGER NULL',
      '"FileType" TEXT NOT NULL',
      '"IsPrimary" INTEGER NOT NULL',
      '"Format" TEXT NOT NULL',
      '"Precision" TEXT NOT NULL',
      '"SizeType" TEXT NOT NULL',
      '"DownloadUrl" TEXT NULL',
      '"PickleScanResult" TEXT NOT NULL',
      '"PickleScanMessage" TEXT NULL',
      '"VirusScanResult" TEXT NOT NULL',
      '"ScannedAt" TEXT NULL',
      '"HashAutoV1" TEXT NULL',
      '"HashAutoV2" TEXT NULL',
      '"HashSHA256" TEXT NULL',
      '"HashCRC32" TEXT NULL',
      '"HashBLAKE3" TEXT NULL',
      '"LocalPath" TEXT NULL',
      '"IsLocalFileValid" INTEGER NOT NULL',
      '"LocalFileVerifiedAt" TEXT NULL',
    ],
    constraints: [
      'CONSTRAINT "FK_ModelFiles_ModelVersions_ModelVersionId" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions" ("Id") ON DELETE CASCADE',
    ],
  },
  {
    name: 'ModelImages',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_ModelImages" PRIMARY KEY AUTOINCREMENT',
      '"CivitaiId" INTEGER NULL',
      '"ModelVersionId" INTEGER NOT NULL',
      '"Url" TEXT NOT NULL',
      '"IsNsfw" INTEGER NOT NULL',
      '"NsfwLevel" TEXT NOT NULL',
      '"Width" INTEGER NOT NULL',
      '"Height" INTEGER NOT NULL',
      '"BlurHash" TEXT NULL',
      '"SortOrder" INTEGER NOT NULL',
      '"CreatedAt" TEXT NULL',
      '"PostId" INTEGER NULL',
      '"Username" TEXT NULL',
      '"ThumbnailData" BLOB NULL',
      '"ThumbnailMimeType" TEXT NULL',
      '"ThumbnailWidth" INTEGER NULL',
      '"ThumbnailHeight" INTEGER NULL',
      '"LocalCachePath" TEXT NULL',
      '"IsLocalCacheValid" INTEGER NOT NULL',
      '"CachedAt" TEXT NULL',
      '"CachedFileSize" INTEGER NULL',
      '"Prompt" TEXT NULL',
      '"NegativePrompt" TEXT NULL',
      '"Seed" INTEGER NULL',
      '"Steps" INTEGER NULL',
      '"Sampler" TEXT NULL',
      '"CfgScale" REAL NULL',
      '"GenerationModel" TEXT NULL',
      '"DenoisingStrength" REAL NULL',
      '"LikeCount" INTEGER NOT NULL',
      '"HeartCount" INTEGER NOT NULL',
      '"CommentCount" INTEGER NOT NULL',
      '"MediaType" TEXT NULL',
    ],
    constraints: [
      'CONSTRAINT "FK_ModelImages_ModelVersions_ModelVersionId" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions" ("Id") ON DELETE CASCADE',
    ],
  },
  {
    name: 'TriggerWords',
    columns: [
      '"Id" INTEGER NOT NULL CONSTRAINT "PK_TriggerWords" PRIMARY KEY AUTOINCREMENT',
      '"ModelVersionId" INTEGER NOT NULL',
      '"Word" TEXT NOT NULL',
      '"Order" INTEGER NOT NULL',
    ],
    constraints: [
      'CONSTRAINT "FK_TriggerWords_ModelVersions_ModelVersionId" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions" ("Id") ON DELETE CASCADE',
    ],
  },
];

const INDEXES = [
  'CREATE UNIQUE INDEX "IX_Creators_Username" ON "Creators" ("Username");',
  'CREATE INDEX "IX_ModelFiles_CivitaiId" ON "ModelFiles" ("CivitaiId");',
  'CREATE INDEX "IX_ModelFiles_FileSizeBytes" ON "ModelFiles" ("FileSizeBytes");',
  'CREATE INDEX "IX_ModelFiles_HashSHA256" ON "ModelFiles" ("HashSHA256");',
  'CREATE INDEX "IX_ModelFiles_LocalPath" ON "ModelFiles" ("LocalPath");',
  'CREATE INDEX "IX_ModelFiles_ModelVersionId" ON "ModelFiles" ("ModelVersionId");',
  'CREATE INDEX "IX_ModelImages_CivitaiId" ON "ModelImages" ("CivitaiId");',
  'CREATE INDEX "IX_ModelImages_ModelVersionId" ON "ModelImages" ("ModelVersionId");',
  'CREATE INDEX "IX_ModelImages_ModelVersionId_SortOrder" ON "ModelImages" ("ModelVersionId", "SortOrder");',
  'CREATE UNIQUE INDEX "IX_Models_CivitaiId" ON "Models" ("CivitaiId") WHERE [CivitaiId] IS NOT NULL;',
  'CREATE INDEX "IX_Models_CreatedAt" ON "Models" ("CreatedAt");',
  'CREATE INDEX "IX_Models_CreatorId" ON "Models" ("CreatorId");',
  'CREATE INDEX "IX_Models_Name" ON "Models" ("Name");',
  'CREATE INDEX "IX_Models_Type" ON "Models" ("Type");',
  'CREATE INDEX "IX_ModelTags_TagId" ON "ModelTags" ("TagId");',
  'CREATE INDEX "IX_ModelVersions_BaseModel" ON "ModelVersions" ("BaseModel");',
  'CREATE UNIQUE INDEX "IX_ModelVersions_CivitaiId" ON "ModelVersions" ("CivitaiId") WHERE [CivitaiId] IS NOT NULL;',
  'CREATE INDEX "IX_ModelVersions_CreatedAt" ON "ModelVersions" ("CreatedAt");',
  'CREATE INDEX "IX_ModelVersions_ModelId" ON "ModelVersions" ("ModelId");',
  'CREATE UNIQUE INDEX "IX_Tags_NormalizedName" ON "Tags" ("NormalizedName");',
  'CREATE INDEX "IX_TriggerWords_ModelVersionId" ON "TriggerWords" ("ModelVersionId");',
];

/** The desktop app's timestamp text for an instant: seven fractional digits, space separator, `+00:00`. */
export function desktopTimestamp(iso: string, extraDigits = '0000'): string {
  return `${iso.replace('T', ' ').replace('Z', '')}${extraDigits}+00:00`;
}

export function columnName(definition: string): string {
  return definition.slice(1, definition.indexOf('"', 1));
}

/** Creates the schema (and the EF history) in an empty file. */
export function createDesktopSchema(file: string, options: DesktopDbOptions = {}): void {
  const omit = new Set(options.omitColumns ?? []);
  const db = new Database(file);
  try {
    db.exec(
      'CREATE TABLE "__EFMigrationsHistory" ("MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY, "ProductVersion" TEXT NOT NULL);',
    );
    for (const table of TABLES) {
      const columns = table.columns.filter((c) => !omit.has(`${table.name}.${columnName(c)}`));
      db.exec(`CREATE TABLE "${table.name}" (\n    ${[...columns, ...table.constraints].join(',\n    ')}\n);`);
    }
    for (const index of INDEXES) {
      const column = /\("(\w+)"/.exec(index)?.[1];
      const table = /ON "(\w+)"/.exec(index)?.[1];
      if (!omit.has(`${table}.${column}`)) db.exec(index);
    }
    const history = db.prepare('INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion") VALUES (?, ?)');
    history.run('20241222120000_InitialCreate', '9.0.0');
    history.run('20250601090000_AddFileSizeBytes', '9.0.0');
  } finally {
    db.close();
  }
}

export interface DesktopRows {
  modelId: number;
  versionId: number;
  fileId: number;
  imageId: number;
}

/** Inserts one complete model as the desktop app writes it. */
export function insertDesktopModel(file: string): DesktopRows {
  const db = new Database(file);
  db.defaultSafeIntegers(true);
  try {
    return db.transaction((): DesktopRows => {
      db.prepare(
        `INSERT INTO AppSettings (ShowNsfw, LoraSortSourcePath, UpdatedAt) VALUES (1, 'D:\\Loras', '2025-12-22 19:53:09.1234567+00:00')`,
      ).run();
      db.prepare(
        `INSERT INTO LoraSources (AppSettingsId, FolderPath, IsEnabled, "Order") VALUES (1, 'D:\\Loras\\Styles', 1, 0)`,
      ).run();
      const creator = db
        .prepare(
          `INSERT INTO Creators (Username, AvatarUrl, CreatedAt) VALUES ('desk_artist', 'https://example.invalid/a.png', '2025-12-22 19:53:09.1234567+00:00')`,
        )
        .run();
      db.prepare(`INSERT INTO Tags (Name, NormalizedName) VALUES ('Style', 'style')`).run();
      const model = db
        .prepare(`INSERT INTO Models (CivitaiId, Name, Description, Type, IsNsfw, IsPoi, Mode, Source, CreatedAt, UpdatedAt,
          LastSyncedAt, AllowNoCredit, AllowCommercialUse, AllowDerivatives, AllowDifferentLicense, CreatorId, CivitaiModelPageId, IsUserEdited)
        VALUES (4242, 'Desk Model', '<p>made on the desktop</p>', 'LORA', 0, 0, 'Available', 'CivitaiApi', '2025-12-22 19:53:09.1234567+00:00',
          '2025-12-23 08:00:00.5000000+00:00', NULL, 1, 'Sell', 1, 0, ?, 777, 1)`)
        .run(creator.lastInsertRowid);
      db.prepare(`INSERT INTO ModelTags (ModelId, TagId) VALUES (?, 1)`).run(model.lastInsertRowid);
      const version = db
        .prepare(`INSERT INTO ModelVersions (CivitaiId, ModelId, Name, BaseModel, BaseModelRaw, CreatedAt, UpdatedAt, PublishedAt,
          EarlyAccessDays, DownloadCount, RatingCount, Rating, ThumbsUpCount, ThumbsDownCount)
        VALUES (5151, ?, 'v1.0', 'SDXL10', 'SDXL 1.0', '2025-12-22 19:53:09.1234567+00:00', NULL, '2025-12-20 00:00:00.0000000+00:00', 0, 1234, 10, 4.5, 99, 1)`)
        .run(model.lastInsertRowid);
      const fileRow = db
        .prepare(`INSERT INTO ModelFiles (CivitaiId, ModelVersionId, FileName, SizeKB, FileSizeBytes, FileType, IsPrimary, Format, Precision,
          SizeType, PickleScanResult, VirusScanResult, HashSHA256, HashAutoV2, LocalPath, IsLocalFileValid, LocalFileVerifiedAt)
        VALUES (6161, ?, 'desk.safetensors', 144110.5, 147569152, 'Model', 1, 'SafeTensor', 'FP16', 'Pruned', 'Success', 'Success',
          'ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789', 'ABCDEF0123', 'D:\\Loras\\desk.safetensors', 1, '2025-12-22 19:53:09.1234567+00:00')`)
        .run(version.lastInsertRowid);
      const image = db
        .prepare(`INSERT INTO ModelImages (CivitaiId, ModelVersionId, Url, IsNsfw, NsfwLevel, Width, Height, SortOrder, CreatedAt,
          ThumbnailData, ThumbnailMimeType, ThumbnailWidth, ThumbnailHeight, IsLocalCacheValid, Seed, Steps, CfgScale, LikeCount, HeartCount,
          CommentCount, MediaType, CachedFileSize)
        VALUES (7171, ?, 'https://example.invalid/i.jpeg', 0, 'None', 832, 1216, 0, '2025-12-22 19:53:09.1234567+00:00', X'52494646', 'image/webp',
          219, 320, 0, 9007199254740993, 30, 7.5, 1, 2, 3, 'image', 9223372036854775807)`)
        .run(version.lastInsertRowid);
      db.prepare(`INSERT INTO TriggerWords (ModelVersionId, Word, "Order") VALUES (?, 'desk style', 0)`).run(
        version.lastInsertRowid,
      );
      return {
        modelId: Number(model.lastInsertRowid),
        versionId: Number(version.lastInsertRowid),
        fileId: Number(fileRow.lastInsertRowid),
        imageId: Number(image.lastInsertRowid),
      };
    })();
  } finally {
    db.close();
  }
}
