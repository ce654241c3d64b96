/**
 * Comparing catalogs: an exact checksum of every catalog row (backup/restore must be byte-for-byte), and an id-free
 * signature of the content (concurrent imports assign ids in another order than a serial run, but must store the
 * same models, versions, files, images, tags and trigger words), on either engine.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CATALOG_TABLES, type CatalogLocation, catalogHandle, sql } from './catalog-handle.ts';

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

/** The second column of `rows` joined per first column, in the rows' order. */
function joinedBy(rows: unknown[][], separator: string): Map<unknown, string> {
  const groups = new Map<unknown, string[]>();
  for (const [key, value] of rows) {
    const group = groups.get(key) ?? [];
    group.push(String(value));
    groups.set(key, group);
  }
  return new Map([...groups].map(([key, values]) => [key, values.join(separator)]));
}

/**
 * The catalog's content keyed by Civitai ids and names, not row ids or import times, on its engine (the SQLite file
 * or the PostgreSQL database `location` names). Lists (a model's tags, a version's trigger words) are joined here,
 * not by each engine's own aggregate, so both engines sign alike.
 */
export async function contentSignature(
  location: CatalogLocation,
): Promise<{ counts: Record<string, number>; hash: string }> {
  const handle = catalogHandle(location);
  try {
    const rows = async (text: string) =>
      (await handle.all<Record<string, unknown>>(sql.raw(text))).map((row) => Object.values(row));
    const tags = joinedBy(
      await rows(`SELECT mt."ModelId", t."NormalizedName" FROM "ModelTags" mt JOIN "Tags" t ON t."Id" = mt."TagId"
        ORDER BY 1, 2`),
      ',',
    );
    const words = joinedBy(
      await rows(`SELECT "ModelVersionId", "Word" FROM "TriggerWords" ORDER BY "ModelVersionId", "Order", "Word"`),
      '|',
    );
    const lines = [
      ...(
        await rows(`SELECT m."Id", m."CivitaiId", m."Name", m."Type", m."Description", c."Username"
          FROM "Models" m LEFT JOIN "Creators" c ON c."Id" = m."CreatorId"`)
      ).map(([id, ...rest]) => ['M', ...rest, tags.get(id) ?? null]),
      ...(
        await rows(`SELECT v."Id", m."CivitaiId", v."CivitaiId", v."Name", v."BaseModel", v."DownloadCount"
          FROM "ModelVersions" v JOIN "Models" m ON m."Id" = v."ModelId"`)
      ).map(([id, ...rest]) => ['V', ...rest, words.get(id) ?? null]),
      ...(await rows(`SELECT 'F', v."CivitaiId", f."CivitaiId", f."FileName", f."SizeKB", f."HashSHA256", f."HashBLAKE3",
          f."HashAutoV3" FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId"`)),
      ...(await rows(`SELECT 'I', v."CivitaiId", i."CivitaiId", i."Url", i."SortOrder", i."Prompt", CAST(i."Seed" AS TEXT)
          FROM "ModelImages" i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId"`)),
    ]
      .map((row) => JSON.stringify(row))
      .sort();
    const hash = createHash('sha256');
    for (const line of lines) hash.update(line).update('\n');
    const counts: Record<string, number> = {};
    for (const table of CATALOG_TABLES)
      counts[table] = Number(await handle.value(sql.raw(`SELECT COUNT(*) FROM "${table}"`)));
    return { counts, hash: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}
