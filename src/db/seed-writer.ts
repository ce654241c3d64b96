/**
 * Bulk rows for demo and benchmark catalogs (`npm run cli -- seed`, `bench/`): tens of thousands of rows in one
 * synchronous transaction with prepared statements, which is what makes seeding a 70k-model catalog take seconds.
 * Only an empty, migrated file is seeded; nothing else writes this way.
 */
import Database from 'better-sqlite3';

type Insert = (...values: unknown[]) => number;
export type SeedRows = Record<
  'creator' | 'tag' | 'model' | 'modelTag' | 'version' | 'file' | 'image' | 'trigger',
  Insert
>;

/** Runs `body` in one transaction on the file, with an insert function per table that returns the new row id. */
export function writeSeedRows<T>(databasePath: string, body: (insert: SeedRows) => T): T {
  const db = new Database(databasePath, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    const statements = {
      creator: db.prepare(`INSERT INTO Creators (Username, AvatarUrl, CreatedAt) VALUES (?, ?, ?)`),
      tag: db.prepare(`INSERT INTO Tags (Name, NormalizedName) VALUES (?, ?)`),
      model:
        db.prepare(`INSERT INTO Models (CivitaiId, Name, Description, Type, IsNsfw, IsPoi, Mode, Source, CreatedAt, UpdatedAt, LastSyncedAt,
        AllowNoCredit, AllowCommercialUse, AllowDerivatives, AllowDifferentLicense, CreatorId) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      modelTag: db.prepare(`INSERT INTO ModelTags (ModelId, TagId) VALUES (?, ?)`),
      version:
        db.prepare(`INSERT INTO ModelVersions (CivitaiId, ModelId, Name, Description, BaseModel, BaseModelRaw, CreatedAt, UpdatedAt, PublishedAt,
        DownloadUrl, EarlyAccessDays, DownloadCount, RatingCount, Rating, ThumbsUpCount, ThumbsDownCount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      file: db.prepare(`INSERT INTO ModelFiles (CivitaiId, ModelVersionId, FileName, SizeKB, FileType, IsPrimary, Format, Precision, SizeType, DownloadUrl,
        PickleScanResult, PickleScanMessage, VirusScanResult, ScannedAt, HashAutoV1, HashAutoV2, HashSHA256, HashCRC32, HashBLAKE3, HashAutoV3,
        LocalPath, IsLocalFileValid, LocalFileVerifiedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      image:
        db.prepare(`INSERT INTO ModelImages (CivitaiId, ModelVersionId, Url, IsNsfw, NsfwLevel, Width, Height, BlurHash, SortOrder, CreatedAt, PostId,
        Username, ThumbnailData, ThumbnailMimeType, ThumbnailWidth, ThumbnailHeight, IsLocalCacheValid, Prompt, NegativePrompt, Seed, Steps, Sampler,
        CfgScale, GenerationModel, DenoisingStrength, LikeCount, HeartCount, CommentCount)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      trigger: db.prepare(`INSERT INTO TriggerWords (ModelVersionId, Word, "Order") VALUES (?, ?, ?)`),
    };
    const insert = Object.fromEntries(
      Object.entries(statements).map(([table, statement]) => [
        table,
        (...values: unknown[]) => Number(statement.run(...values).lastInsertRowid),
      ]),
    ) as SeedRows;
    return db.transaction(() => body(insert))();
  } finally {
    db.close();
  }
}

/** How many models a catalog file holds (seed fills empty catalogs only). */
export function countModels(databasePath: string): number {
  const db = new Database(databasePath, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM "Models"').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
