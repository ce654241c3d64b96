/**
 * Comparing catalogs: an exact checksum of every catalog row (backup/restore must be byte-for-byte), and an id-free
 * signature of the content (concurrent imports assign ids in another order than a serial run, but must store the
 * same models, versions, files, images, tags and trigger words).
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CATALOG_TABLES, type CatalogLocation, catalogHandle } from './catalog-handle.ts';

function withDb<T>(databasePath: string, read: (db: Database.Database) => T): T {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export function rowCounts(databasePath: string): Record<string, number> {
  return withDb(databasePath, (db) =>
    Object.fromEntries(CATALOG_TABLES.map((t) => [t, Number(db.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get())])),
  );
}

/** sha256 over every row of every catalog table, in primary-key order, BLOBs included. */
export function exactChecksum(databasePath: string): string {
  return withDb(databasePath, (db) => {
    const hash = createHash('sha256');
    for (const table of CATALOG_TABLES) {
      const order = table === 'ModelTags' ? '"ModelId", "TagId"' : 'rowid';
      for (const row of db
        .prepare(`SELECT * FROM "${table}" ORDER BY ${order}`)
        .raw()
        .safeIntegers()
        .iterate() as Iterable<unknown[]>) {
        hash
          .update(table)
          .update(
            JSON.stringify(row, (_k, v: unknown) =>
              typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v,
            ),
          );
      }
    }
    return hash.digest('hex');
  });
}

/**
 * sha256 over every row of every catalog table and the id sequences, on the catalog's engine (the SQLite file or
 * the PostgreSQL database `location` names): equal before and after means nothing was written.
 */
export async function catalogChecksum(location: CatalogLocation): Promise<string> {
  const handle = catalogHandle(location);
  try {
    const dump = await handle.dump();
    return createHash('sha256')
      .update(
        JSON.stringify(dump, (_k, v: unknown) =>
          typeof v === 'bigint'
            ? v.toString()
            : v instanceof Uint8Array
              ? Buffer.from(v).toString('base64')
              : (v as { type?: string })?.type === 'Buffer'
                ? Buffer.from((v as { data: number[] }).data).toString('base64')
                : v,
        ),
      )
      .digest('hex');
  } finally {
    await handle.close();
  }
}

/** The catalog's content keyed by Civitai ids and names, not row ids or import times. */
export function contentSignature(databasePath: string): { counts: Record<string, number>; hash: string } {
  const lines = withDb(databasePath, (db) =>
    [
      ...db
        .prepare(`SELECT 'M', m.CivitaiId, m.Name, m.Type, m.Description, c.Username,
        (SELECT group_concat(t.NormalizedName, ',') FROM (SELECT t.NormalizedName FROM ModelTags mt JOIN Tags t ON t.Id = mt.TagId WHERE mt.ModelId = m.Id ORDER BY 1) t)
      FROM Models m LEFT JOIN Creators c ON c.Id = m.CreatorId`)
        .raw()
        .all(),
      ...db
        .prepare(`SELECT 'V', m.CivitaiId, v.CivitaiId, v.Name, v.BaseModel, v.DownloadCount,
        (SELECT group_concat(w.Word, '|') FROM (SELECT w.Word FROM TriggerWords w WHERE w.ModelVersionId = v.Id ORDER BY w."Order", w.Word) w)
      FROM ModelVersions v JOIN Models m ON m.Id = v.ModelId`)
        .raw()
        .all(),
      ...db
        .prepare(`SELECT 'F', v.CivitaiId, f.CivitaiId, f.FileName, f.SizeKB, f.HashSHA256, f.HashBLAKE3, f.HashAutoV3
      FROM ModelFiles f JOIN ModelVersions v ON v.Id = f.ModelVersionId`)
        .raw()
        .all(),
      ...db
        .prepare(`SELECT 'I', v.CivitaiId, i.CivitaiId, i.Url, i.SortOrder, i.Prompt, CAST(i.Seed AS TEXT)
      FROM ModelImages i JOIN ModelVersions v ON v.Id = i.ModelVersionId`)
        .raw()
        .all(),
    ]
      .map((row) => JSON.stringify(row))
      .sort(),
  );
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return { counts: rowCounts(databasePath), hash: hash.digest('hex') };
}
