/**
 * Moving a catalog between SQLite and PostgreSQL (`transfer`, and `backup` of a PostgreSQL catalog), on real files,
 * a real server and the real CLI: every table — the project's history, payload archive, downloads, local files and
 * look-ups included — goes over and back with identical per-table checksums and identical GraphQL answers; values
 * keep their exact bytes and numbers; bad input is refused with a coded error and changes nothing; a transfer
 * killed with SIGKILL leaves no half-made target and a rerun succeeds; the password never shows.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import type { DatabaseTarget } from '../src/config.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { openCatalog } from '../src/db/open-catalog.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { migratePostgres } from '../src/db/postgres/migrations.ts';
import { catalogPlan } from '../src/db/transfer/plan.ts';
import {
  catalogChecksums,
  type TableSummary,
  type TransferProgress,
  type TransferResult,
  transferCatalog,
} from '../src/db/transfer/transfer.ts';
import { storedFromUtcMicros, utcMicrosText } from '../src/db/timestamps.ts';
import { AppError } from '../src/errors.ts';
import { scanLibrary } from '../src/library/scan.ts';
import { seededCatalog } from './helpers/catalog.ts';
import { cli, outcome, spawnCli } from './helpers/cli.ts';
import { createDesktopSchema, insertDesktopModel } from './helpers/desktop-db.ts';
import { ownFixture } from './helpers/fixtures.ts';
import { civitaiPayloadFor, randomBytes, safetensorsBytes, writeFile } from './helpers/library.ts';
import { freshPostgresDatabase, type PostgresTarget } from './helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

const SECRET = 'tr4nsfer-s3cret';
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const UNICODE_NAME = 'Ünïcödé 名前 🎨 e\u0301 "quoted" \\ back\tslash\u2028';

const sqlite = (file: string): DatabaseTarget => ({ engine: 'sqlite', path: file, dataDir: null });

async function onPostgres<T>(target: PostgresTarget, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Rows in every catalog table of a PostgreSQL database (0 where the table is missing). */
async function postgresRowCounts(target: PostgresTarget): Promise<Record<string, number>> {
  return onPostgres(target, async (client) => {
    const counts: Record<string, number> = {};
    for (const table of catalogPlan()) {
      const exists = await client.query('SELECT to_regclass($1) AS t', [`"${table.name}"`]);
      counts[table.name] = exists.rows[0].t
        ? Number((await client.query(`SELECT count(*) AS n FROM "${table.name}"`)).rows[0].n)
        : 0;
    }
    return counts;
  });
}

function fileHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function withFile<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an AppError');
}

/**
 * Fills what the seed leaves empty, through the app where it can (an import: history and the payload archive; a
 * scan: local files and links) and by hand for the rest (downloads, look-ups), and puts awkward values in: Unicode,
 * every byte value in a thumbnail, the largest 64-bit integers, offsets other than UTC, both timestamp formats.
 */
async function fillEveryTable(file: string): Promise<void> {
  const db = await openCatalogDatabase(file);
  try {
    await importPayload(db, ownFixture('model-drift.json'), 'model-drift.json');
    await importPayload(db, ownFixture('version-payload.json'), 'version-payload.json');
    const library = path.join(tempDir('dn-transfer-lib-'), 'library');
    const bytes = safetensorsBytes({ ss_output_name: 'moved' }, randomBytes(4000, 4242));
    writeFile(path.join(library, 'loras', 'moved.safetensors'), bytes);
    writeFile(path.join(library, 'loras', 'unknown.safetensors'), safetensorsBytes({}, randomBytes(3000, 4243)));
    await importPayload(
      db,
      civitaiPayloadFor(880_001, 'Moved Model', [
        { versionId: 880_002, fileId: 880_003, fileName: 'moved.safetensors', bytes },
      ]),
      'setup',
    );
    expect(await scanLibrary(db, { roots: [library], libraryRoots: [library] })).toMatchObject({ linked: 1 });
  } finally {
    await db.close();
  }
  withFile(file, (sql) => {
    sql
      .prepare(
        `INSERT INTO Downloads (State, VersionCivitaiId, FileCivitaiId, TargetDir, FileName, LocalPath, AlreadyPresent,
        Sidecars, ExpectedSHA256, ActualSHA256, TotalBytes, ReceivedBytes, Attempts, CreatedAt, UpdatedAt, StartedAt, FinishedAt)
        VALUES ('DONE', 880002, 880003, '/library/loras', 'moved.safetensors', '/library/loras/moved.safetensors', 0, 1,
        'AB', 'AB', 1099511627777, 1099511627777, 2, '2026-01-02 03:04:05.1234567+00:00', '2026-01-02T03:04:06.5+00:00',
        '2026-01-02 03:04:05+00:00', '2026-01-02 03:04:06.5+00:00')`,
      )
      .run();
    sql
      .prepare(
        `INSERT INTO Downloads (State, VersionCivitaiId, TargetDir, AlreadyPresent, Sidecars, ReceivedBytes, Attempts,
        ErrorCode, ErrorMessage, CreatedAt, UpdatedAt) VALUES ('FAILED', 5, '/library', 0, 0, 0, 3, 'HASH_MISMATCH',
        'expected AB, got CD', '2026-01-03T00:00:00.000+00:00', '2026-01-03T00:00:00.000+00:00')`,
      )
      .run();
    sql
      .prepare(
        `INSERT INTO CivitaiLookups (Kind, Key, Status, Message, CheckedAt) VALUES ('hash', 'ABCDEF0123', 'NotFound', NULL, '2026-01-02T03:04:05.678+00:00')`,
      )
      .run();
    const [first, second] = sql.prepare('SELECT Id FROM Models ORDER BY Id LIMIT 2').pluck().all() as number[];
    sql
      .prepare(`UPDATE Models SET Name = ?, CreatedAt = '2025-03-04 05:06:07.1234567+02:00' WHERE Id = ?`)
      .run(UNICODE_NAME, first);
    sql.prepare(`UPDATE Models SET CreatedAt = '2026-01-02T03:04:05.678Z' WHERE Id = ?`).run(second);
    const [a, b] = sql.prepare('SELECT Id FROM ModelImages ORDER BY Id LIMIT 2').pluck().all() as number[];
    sql
      .prepare(`UPDATE ModelImages SET ThumbnailData = ?, Seed = 9223372036854775807, CachedFileSize = ? WHERE Id = ?`)
      .run(ALL_BYTES, 2n ** 53n + 1n, a);
    sql.prepare(`UPDATE ModelImages SET Seed = -1, CfgScale = 0.1, DenoisingStrength = 1e-300 WHERE Id = ?`).run(b);
    sql.prepare(`UPDATE ModelVersions SET Rating = 4.123456789012345 WHERE Id = 1`).run();
  });
}

const sameSummaries = (a: TableSummary[], b: TableSummary[]) => expect(b).toEqual(a);

// ───────────────────────────────────────── GraphQL answers

const IMAGE = `databaseId civitaiId url isNsfw nsfwLevel width height blurHash sortOrder createdAt postId username prompt
  negativePrompt seed steps sampler cfgScale generationModel denoisingStrength likeCount heartCount commentCount
  isLocalCacheValid thumbnail { mimeType width height byteSize base64 }`;
const FILE = `databaseId civitaiId fileName sizeKB fileType isPrimary format precision sizeType downloadUrl
  pickleScanResult scannedAt localPath isLocalFileValid localFileVerifiedAt hashes { autoV1 autoV2 autoV3 sha256 crc32 blake3 }`;
const VERSION = `databaseId civitaiId name description baseModel baseModelRaw createdAt updatedAt publishedAt
  earlyAccessDays downloadCount ratingCount rating thumbsUpCount thumbsDownCount triggerWords { word order }
  files { ${FILE} } images(first: 5) { totalCount nodes { ${IMAGE} } }`;
const MODEL = `id databaseId civitaiId name description type isNsfw isPoi mode source createdAt updatedAt lastSyncedAt
  allowNoCredit allowCommercialUse allowDerivatives allowDifferentLicense ignoreUpdates hasUpdate removedFromCivitaiAt
  creator { username avatarUrl createdAt } tags { name normalizedName }`;
const QUERIES: { query: string; variables?: Record<string, unknown> }[] = [
  {
    query: `{ models(first: 100, orderBy: [{ field: CREATED_AT }]) { totalCount edges { cursor node { ${MODEL} } } } }`,
  },
  {
    query: `{ models(first: 100, orderBy: [{ field: NAME, direction: DESC }]) { edges { cursor node { databaseId } } } }`,
  },
  {
    query: `{ models(first: 8) { nodes { ${MODEL} versions(first: 3) { nodes { ${VERSION} } }
      history(first: 10) { totalCount nodes { databaseId source detail createdAt revertsChangeSetId changes { entity entityId field oldValue newValue } } }
      payloads { contentHash kind origin source fetchedAt byteSize storedBytes json } } } }`,
  },
  {
    query: `{ models(first: 100, filter: { hasLocalFiles: true }) { nodes { databaseId name versions(first: 3) { nodes {
      files { ${FILE} } } } history(first: 10) { nodes { source changes { field newValue } } } payloads { contentHash json } } } }`,
  },
  {
    query: `{ downloads(first: 10) { totalCount nodes { state civitaiVersionId civitaiFileId fileName localPath
      targetDirectory alreadyPresent sidecars totalBytes receivedBytes attempts errorCode message createdAt updatedAt startedAt finishedAt } } }`,
  },
  { query: '{ duplicateFiles { size wastedBytes files { path size modifiedAt } } }' },
  {
    query: `{ libraryStats { models versions files images thumbnails thumbnailBytes localFilesValid localFilesMissing
      localBytes removedFromCivitai } modelFacets { byType { value count } byHasLocalFiles { value count } } }`,
  },
  { query: '{ tags(first: 100) { totalCount nodes { name normalizedName modelCount } } }' },
  { query: '{ creators(first: 100) { nodes { username createdAt modelCount } } }' },
  {
    query: `query($h: [String!]!) { filesByHashes(hashes: $h) { hash algorithm file { databaseId fileName localPath } } }`,
    variables: { h: ['ABCDEF0123', 'abcdef0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789', '920B0FB128'] },
  },
];

/** Every server answers every query with the same JSON (thumbnail URLs aside, which name the server). */
async function sameAnswers(servers: TestServer[]): Promise<void> {
  for (const { query, variables } of QUERIES) {
    const answers = await Promise.all(servers.map((server) => server.graphql(query, variables ?? {})));
    expect(answers[0]!.errors, JSON.stringify(answers[0]!.errors)).toBeUndefined();
    const texts = answers.map((answer, i) => JSON.stringify(answer).replaceAll(servers[i]!.origin, 'ORIGIN'));
    for (const text of texts.slice(1)) expect(text).toBe(texts[0]);
  }
}

function serveSqlite(file: string): Promise<TestServer> {
  return startTestServer({
    dataDir: path.dirname(file),
    databasePath: file,
    database: { engine: 'sqlite', path: file, dataDir: null },
  });
}

/**
 * A fresh, migrated PostgreSQL catalog where each table named runs its plpgsql body before every row inserted into it
 * (a fault a test plants in the target: rows rewritten, dropped or refused).
 */
async function targetWithInsertTriggers(bodies: Record<string, string>): Promise<PostgresTarget> {
  const target = await freshPostgresDatabase();
  await migratePostgres(target);
  const statements = Object.entries(bodies).map(
    ([table, body]) => `
      CREATE FUNCTION "dn_test_${table}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} END $$;
      CREATE TRIGGER "dn_test_${table}" BEFORE INSERT ON "${table}" FOR EACH ROW EXECUTE FUNCTION "dn_test_${table}"();`,
  );
  await onPostgres(target, (client) => client.query(statements.join('\n')));
  return target;
}

/** Each of `names` is among the hits of a search for it (the server built its search index). */
async function expectFindsByName(server: TestServer, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const answer = await server.graphql<{ search: { edges: { node: { name: string } }[] } }>(
      'query($q: String!) { search(query: $q, first: 20) { edges { node { name } } } }',
      { q: name },
    );
    expect(answer.errors, name).toBeUndefined();
    expect(
      answer.data!.search.edges.map((edge) => edge.node.name),
      name,
    ).toContain(name);
  }
}

function servePostgres(target: PostgresTarget, file: string): Promise<TestServer> {
  return startTestServer({ dataDir: tempDir('dn-transfer-pg-'), databasePath: file, database: target });
}

// ───────────────────────────────────────── the seeded catalog, every table filled

describe('the seeded catalog, every table filled, to PostgreSQL and back', () => {
  let source: string;
  let target: PostgresTarget;
  let back: string;
  let sourceSums: TableSummary[];
  const events: TransferProgress[] = [];
  // The copy there and the copy back, each made once by whichever test needs it first: the tests below read what
  // they did, and any one of them can run alone.
  let there: Promise<TransferResult> | undefined;
  let andBack: Promise<TransferResult> | undefined;
  const copyThere = () =>
    (there ??= transferCatalog(sqlite(source), target, { batchRows: 7, onProgress: (p) => events.push(p) }));
  const copyBack = () => (andBack ??= copyThere().then(() => transferCatalog(target, sqlite(back))));

  beforeAll(async () => {
    source = (await seededCatalog()).databasePath;
    await fillEveryTable(source);
    sourceSums = await catalogChecksums(sqlite(source));
    target = await freshPostgresDatabase();
    back = path.join(tempDir('dn-transfer-back-'), 'back.db');
  });

  it('copies every table in small batches, reporting progress, and checks every table', async () => {
    for (const { table, rows } of sourceSums) expect(rows, table).toBeGreaterThan(0);
    const result = await copyThere();
    sameSummaries(sourceSums, result.tables);
    expect(result.rows).toBe(sourceSums.reduce((n, t) => n + t.rows, 0));
    // Bounded batches: never more than 7 rows at once, so the large tables took many.
    expect(Math.max(...events.filter((e) => e.phase !== 'index').map((e) => e.batchRows))).toBeLessThanOrEqual(7);
    const images = sourceSums.find((t) => t.table === 'ModelImages')!.rows;
    expect(events.filter((e) => e.phase === 'copy' && e.table === 'ModelImages').length).toBeGreaterThanOrEqual(
      Math.ceil(images / 7),
    );
    for (const phase of ['copy', 'verify'] as const) {
      const done = events.filter((e) => e.phase === phase).map((e) => e.done);
      expect(done, phase).toEqual([...done].sort((x, y) => x - y));
      expect(done.at(-1), phase).toBe(result.rows);
    }
    // Computed independently, on each engine, from one snapshot.
    sameSummaries(sourceSums, await catalogChecksums(target));
  });

  it('builds the search index of the copy before it reports done, with progress, and gives the planner its statistics', async () => {
    await copyThere();
    const models = sourceSums.find((t) => t.table === 'Models')!.rows;
    expect(models).toBeGreaterThanOrEqual(50);
    const indexed = events.filter((e) => e.phase === 'index');
    expect(indexed.length).toBeGreaterThan(0);
    expect(indexed.map((e) => e.done)).toEqual([...indexed.map((e) => e.done)].sort((x, y) => x - y));
    expect(indexed.at(-1)).toMatchObject({ done: models, total: models });
    // After the rows were checked and committed: every index event follows every verify event.
    expect(events.findIndex((e) => e.phase === 'index')).toBeGreaterThan(
      events.findLastIndex((e) => e.phase === 'verify'),
    );
    await onPostgres(target, async (client) => {
      const { rows } = await client.query(`SELECT
        (SELECT count(*)::int FROM "ModelSearch") AS documents,
        (SELECT count(DISTINCT "ModelId")::int FROM "ModelSearchPostings") AS posted,
        (SELECT count(*)::int FROM "ModelSearchDirty") AS waiting,
        (SELECT "Documents"::int FROM "ModelSearchStats") AS counted,
        (SELECT count(*)::int FROM pg_stats WHERE tablename = 'ModelSearchPostings') AS analyzed`);
      // Without the statistics (a fresh rebuild, before autovacuum) the planner read a common word's every posting
      // for "the postings of these models": a model's-name search took 31 ms instead of 4 on 10,000 models.
      expect(rows[0]).toEqual({ documents: models, posted: models, waiting: 0, counted: models, analyzed: 5 });
    });
  });

  it('leaves the planner statistics of every copied table, so the first requests get indexed plans', async () => {
    // Without them (reltuples -1: never analyzed) PostgreSQL guesses, until autovacuum comes round: a page of 100
    // `hasUpdate` answers took 2 s instead of milliseconds right after a transfer, by sequential scans per model.
    await copyThere();
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ relname: string; reltuples: number }>(
        `SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' AND relname = ANY($1)`,
        [sourceSums.map((t) => t.table)],
      );
      expect(rows).toHaveLength(sourceSums.length);
      for (const { table, rows: count } of sourceSums)
        expect(rows.find((r) => r.relname === table)?.reltuples, table).toBe(count);
    } finally {
      await client.end();
    }
  });

  it('goes back into a new SQLite file with the same checksums, in the desktop app’s value formats', async () => {
    const result = await copyBack();
    sameSummaries(sourceSums, result.tables);
    sameSummaries(sourceSums, await catalogChecksums(sqlite(back)));
    expect(readdirSync(path.dirname(back))).toEqual(['back.db']);
    withFile(back, (db) => {
      db.defaultSafeIntegers(true);
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      const image = db
        .prepare('SELECT ThumbnailData, Seed, CachedFileSize FROM ModelImages WHERE ThumbnailData = ?')
        .get(ALL_BYTES) as { ThumbnailData: Buffer; Seed: bigint; CachedFileSize: bigint };
      expect(image).toEqual({ ThumbnailData: ALL_BYTES, Seed: 2n ** 63n - 1n, CachedFileSize: 2n ** 53n + 1n });
      expect(db.prepare('SELECT CreatedAt FROM Models WHERE Name = ?').pluck().get(UNICODE_NAME)).toBe(
        '2025-03-04 03:06:07.123456+00:00',
      );
      expect(db.prepare('SELECT typeof(IsNsfw) FROM Models LIMIT 1').pluck().get()).toBe('integer');
      // The search index is not copied but built from the copied rows: one document per model, none waiting.
      expect(db.prepare('SELECT count(*) FROM ModelSearchDirty').pluck().get()).toBe(0n);
      expect(db.prepare('SELECT count(*) FROM ModelSearchLengths').pluck().get()).toBe(
        db.prepare('SELECT count(*) FROM Models').pluck().get(),
      );
    });
    await onPostgres(target, async (client) => {
      const { rows } = await client.query(
        `SELECT i."ThumbnailData", i."Seed"::text AS seed, m."CreatedAt" = '2025-03-04 03:06:07.123456+00'::timestamptz AS instant
         FROM "ModelImages" i, "Models" m WHERE i."ThumbnailData" = $1 AND m."Name" = $2`,
        [ALL_BYTES, UNICODE_NAME],
      );
      expect(rows).toEqual([{ ThumbnailData: ALL_BYTES, seed: '9223372036854775807', instant: true }]);
    });
  });

  it('the three catalogs answer GraphQL alike', async () => {
    await copyBack();
    await sameAnswers([await serveSqlite(source), await servePostgres(target, source), await serveSqlite(back)]);
  });

  it('refuses a target that holds a catalog and leaves it as it was', async () => {
    await copyBack();
    const before = await catalogChecksums(target);
    const refused = await appErrorOf(transferCatalog(sqlite(source), target));
    expect(refused.code).toBe('TARGET_NOT_EMPTY');
    expect(refused.message).toMatch(/already holds a catalog: .*Models \(\d+ rows\)/);
    sameSummaries(before, await catalogChecksums(target));

    const hash = fileHash(back);
    const run = await cli(['transfer', '--from', target.url, '--to', `file:${back}`]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /^error \[TARGET_NOT_EMPTY\]: .*back\.db already holds a catalog: .*Models \(\d+ rows\)/m,
    );
    expect(fileHash(back)).toBe(hash);

    // An empty catalog (what a first `npm start` leaves) is replaced — but not while a program has it open.
    const emptyFile = path.join(tempDir('dn-transfer-empty-'), 'Diffusion_Nexus-core.db');
    await migrateDatabase(emptyFile);
    const server = await openCatalogDatabase(emptyFile);
    const inUse = await appErrorOf(transferCatalog(target, sqlite(emptyFile)));
    await server.close();
    expect(inUse.code).toBe('DATABASE_LOCKED');
    expect(readdirSync(path.dirname(emptyFile))).toEqual(['Diffusion_Nexus-core.db']);
    expect((await catalogChecksums(sqlite(emptyFile))).every((t) => t.rows === 0)).toBe(true);
    await transferCatalog(target, sqlite(emptyFile));
    sameSummaries(sourceSums, await catalogChecksums(sqlite(emptyFile)));
  });

  it('new rows through the app continue after the copied ids on both engines', async () => {
    await copyBack();
    for (const catalog of [target, sqlite(back)]) {
      const db = await openCatalog(catalog);
      try {
        const maxId = Number(
          (
            await db.kysely
              .selectFrom('Models')
              .select((eb) => eb.fn.max('Id').as('m'))
              .executeTakeFirstOrThrow()
          ).m,
        );
        const summary = await importPayload(
          db,
          civitaiPayloadFor(990_001, 'Made after the move', [
            { versionId: 990_002, fileId: 990_003, fileName: 'after.safetensors', bytes: randomBytes(100, 1) },
          ]),
          'after the transfer',
        );
        expect(summary.failures, JSON.stringify(summary.failures)).toEqual([]);
        expect(summary.created).toBe(1);
        expect(summary.outcomes[0]!.modelId).toBeGreaterThan(maxId);
      } finally {
        await db.close();
      }
    }
  });
});

// ───────────────────────────────────────── a desktop-app file

describe('a desktop-app file', () => {
  const dir = tempDir('dn-transfer-desk-');
  const desk = path.join(dir, 'desk.db');
  let adoptedInto: PostgresTarget;

  beforeAll(() => {
    createDesktopSchema(desk);
    insertDesktopModel(desk);
  });

  it('is adopted first (additive), copied with its catalog rows, and what is only the app’s is named as left behind', async () => {
    adoptedInto = await freshPostgresDatabase();
    const run = await cli(['transfer', '--from', `file:${desk}`, '--to', adoptedInto.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('adopting existing database: recording 20261128000000_InitialCreate as applied');
    expect(run.stdout).toMatch(/^Models +1 +[0-9a-f]{16} +ok$/m);
    const leftBehind = /^not copied \(not part of the catalog; the desktop app's own\): (.*)$/m.exec(run.stdout)?.[1];
    expect(leftBehind?.split(', ').sort()).toEqual([
      'column ModelFiles.FileSizeBytes (1 value)',
      'column ModelImages.MediaType (1 value)',
      'column Models.CivitaiModelPageId (1 value)',
      'column Models.IsUserEdited (1 value)',
      'table AppSettings (1 row)',
      'table DatasetCategories (0 rows)',
      'table LoraSources (1 row)',
      'table __EFMigrationsHistory (2 rows)',
    ]);
    expect(run.stdout).toMatch(/every table read back and matched/);
    // The app's own tables and columns are as they were.
    withFile(desk, (db) => {
      expect(db.prepare('SELECT ShowNsfw, LoraSortSourcePath FROM AppSettings').get()).toEqual({
        ShowNsfw: 1,
        LoraSortSourcePath: 'D:\\Loras',
      });
      expect(db.prepare('SELECT FileSizeBytes FROM ModelFiles').pluck().get()).toBe(147569152);
    });
  });

  it('with history and both timestamp formats, goes over and back with identical checksums and answers', async () => {
    const db = await openCatalogDatabase(desk);
    try {
      await importPayload(db, ownFixture('model-drift.json'), 'model-drift.json');
    } finally {
      await db.close();
    }
    withFile(desk, (sql) =>
      sql
        .prepare(`UPDATE Creators SET CreatedAt = '2026-01-02T03:04:05.678+00:00' WHERE Username = 'desk_artist'`)
        .run(),
    );
    const deskSums = await catalogChecksums(sqlite(desk));
    expect(deskSums.find((t) => t.table === 'MetadataChangeSets')!.rows).toBeGreaterThan(0);
    const target = await freshPostgresDatabase();
    const over = await cli(['transfer', '--from', `file:${desk}`, '--to', target.url, '--batch-size', '2']);
    expect(over.code, over.stderr).toBe(0);
    const back = path.join(dir, 'back', 'Diffusion_Nexus-core.db');
    const again = await cli(['transfer', '--from', target.url, '--to', 'file:', '--data-dir', path.dirname(back)]);
    expect(again.code, again.stderr).toBe(0);
    sameSummaries(deskSums, await catalogChecksums(target));
    sameSummaries(deskSums, await catalogChecksums(sqlite(back)));
    withFile(back, (sql) => {
      // Seven fraction digits keep six (PostgreSQL's microseconds); written back in the desktop app's format.
      expect(sql.prepare(`SELECT CreatedAt FROM Models WHERE CivitaiId = 4242`).pluck().get()).toBe(
        '2025-12-22 19:53:09.123456+00:00',
      );
      expect(sql.prepare(`SELECT ThumbnailData FROM ModelImages WHERE CivitaiId = 7171`).pluck().get()).toEqual(
        Buffer.from('RIFF'),
      );
    });
    const [onDesk, onBack] = [await serveSqlite(desk), await serveSqlite(back)];
    await sameAnswers([onDesk, await servePostgres(target, desk), onBack]);
    // The search index, not copied, is built from the rows when the server starts.
    const search = '{ search(query: "desk style") { totalCount nodes { name } } }';
    const [a, b] = await Promise.all([onDesk.graphql(search), onBack.graphql(search)]);
    expect(a.data).toEqual({ search: { totalCount: 1, nodes: [{ name: 'Desk Model' }] } });
    expect(b.data).toEqual(a.data);
  });
});

// ───────────────────────────────────────── refusals that change nothing

describe('bad input is a coded error and changes nothing', () => {
  it('an unreachable target: DATABASE_UNREACHABLE naming --to, no password, and the source is not even adopted', async () => {
    const desk = path.join(tempDir('dn-transfer-unreach-'), 'desk.db');
    createDesktopSchema(desk);
    insertDesktopModel(desk);
    const hash = fileHash(desk);
    const run = await cli([
      'transfer',
      '--from',
      `file:${desk}`,
      '--to',
      `postgres://dn:${SECRET}@127.0.0.1:1/catalog`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error \[DATABASE_UNREACHABLE\]: .*postgres:\/\/dn:\*\*\*@127\.0\.0\.1:1\/catalog \(--to\)/m,
    );
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(fileHash(desk)).toBe(hash);

    const out = path.join(path.dirname(desk), 'out.db');
    const from = await cli([
      'transfer',
      '--from',
      `postgres://dn:${SECRET}@127.0.0.1:1/catalog`,
      '--to',
      `file:${out}`,
    ]);
    expect(from.code).toBe(1);
    expect(from.stderr).toMatch(/^error \[DATABASE_UNREACHABLE\]: .*\(--from\)/m);
    expect(from.stdout + from.stderr).not.toContain(SECRET);
    expect(existsSync(out)).toBe(false);

    const bad = await cli(['transfer', '--from', `file:${desk}`, '--to', `mysql://dn:${SECRET}@127.0.0.1/x`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \[INVALID_DATABASE_URL\]: --to must be file:PATH/m);
    expect(bad.stdout + bad.stderr).not.toContain(SECRET);
  });

  it('the same catalog at both ends, or one engine at both ends, is a usage error', async () => {
    const { dataDir, databasePath } = await seededCatalog({ models: 2 });
    const same = await cli(['transfer', '--data-dir', dataDir, '--to', `file:${databasePath}`]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/^error \[BAD_USER_INPUT\]: The source and the target are the same catalog/m);
    const target = await freshPostgresDatabase();
    const both = await cli(['transfer', '--from', target.url, '--to', `${target.url}_other`]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/moves a catalog between SQLite and PostgreSQL/);
    const missing = path.join(dataDir, 'not-there.db');
    const absent = await cli(['transfer', '--from', `file:${missing}`, '--to', target.url]);
    expect({ code: absent.code, stderr: absent.stderr }).toEqual({
      code: 2,
      stderr: `error [BAD_USER_INPUT]: ${missing}: no such file or directory.\n`,
    });
    const none = await cli(['transfer', '--data-dir', dataDir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error \[BAD_USER_INPUT\]: Name the target with --to URL/m);
  });

  it('a row the target cannot hold is INVALID_SOURCE_ROW naming it; the target stays empty and takes a rerun', async () => {
    const { databasePath } = await seededCatalog({ models: 3 });
    const target = await freshPostgresDatabase();
    const broken = (label: string, change: string, parameters: unknown[] = []) => {
      const file = path.join(tempDir('dn-transfer-broken-'), `${label}.db`);
      withFile(databasePath, (db) => db.prepare('VACUUM INTO ?').run(file));
      withFile(file, (db) => {
        db.pragma('foreign_keys = OFF');
        db.prepare(change).run(...parameters);
      });
      return file;
    };
    const cases = [
      [
        broken('nul', 'UPDATE Models SET Name = ? WHERE Id = 2', ['a\u0000b']),
        /Models row Id 2: Name: text with a NUL/,
      ],
      [
        broken('stamp', `UPDATE ModelVersions SET CreatedAt = 'yesterday' WHERE Id = 3`),
        /ModelVersions row Id 3: CreatedAt: "yesterday" is not a timestamp/,
      ],
      [
        broken('bool', 'UPDATE ModelFiles SET IsPrimary = 2 WHERE Id = 1'),
        /ModelFiles row Id 1: IsPrimary: 2 is not a boolean/,
      ],
      [
        broken('orphan', 'INSERT INTO ModelTags (ModelId, TagId) VALUES (999, 1)'),
        /a row of ModelTags cannot be stored in .*violates foreign key constraint.*\(Key \(ModelId\)=\(999\)/,
      ],
    ] as const;
    for (const [file, message] of cases) {
      const error = await appErrorOf(transferCatalog(sqlite(file), target));
      expect(error.code, file).toBe('INVALID_SOURCE_ROW');
      expect(error.message).toMatch(message);
      expect(Object.values(await postgresRowCounts(target)).every((n) => n === 0)).toBe(true);
    }
    await transferCatalog(sqlite(databasePath), target);
    sameSummaries(await catalogChecksums(sqlite(databasePath)), await catalogChecksums(target));
  });

  it('a target that changes rows as they arrive fails the checks (TRANSFER_MISMATCH) and keeps nothing', async () => {
    const { databasePath } = await seededCatalog({ models: 3 });
    // Something in the target database rewriting and dropping rows: only the read-back can notice.
    const target = await targetWithInsertTriggers({
      Tags: `NEW."Name" := NEW."Name" || '!'; RETURN NEW;`,
      TriggerWords: `IF NEW."Id" % 2 = 0 THEN RETURN NULL; END IF; RETURN NEW;`,
    });
    const run = await cli(['transfer', '--from', `file:${databasePath}`, '--to', target.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[TRANSFER_MISMATCH\]: After copying, .* does not hold what .* holds — Tags: /m);
    expect(run.stderr).toMatch(/TriggerWords: (\d+) rows counted and \1 read .* in the source, \d+ rows/);
    expect(Object.values(await postgresRowCounts(target)).every((n) => n === 0)).toBe(true);
  });

  it('a search index build that fails after the copy keeps the copy, says so, and leaves the index to the first server', async () => {
    const { databasePath } = await seededCatalog({ models: 3 });
    // The search documents cannot be written: the copy commits, its index build stops at the first one.
    const target = await targetWithInsertTriggers({
      ModelSearch: `RAISE EXCEPTION 'search documents refused by a test';`,
    });
    const lines: string[] = [];
    const result = await transferCatalog(sqlite(databasePath), target, { log: (line) => lines.push(line) });
    expect(result.indexedModels).toBe(0);
    expect(lines.join('\n')).toMatch(
      /The copy is complete, but building its search index stopped \(.*search documents refused by a test.*\); the first server to open it builds the rest\./,
    );
    sameSummaries(await catalogChecksums(sqlite(databasePath)), await catalogChecksums(target));
    await onPostgres(target, (client) => client.query('DROP TRIGGER "dn_test_ModelSearch" ON "ModelSearch"'));
    const names = withFile(databasePath, (db) => db.prepare('SELECT "Name" FROM "Models"').pluck().all() as string[]);
    const server = await servePostgres(target, path.join(tempDir('dn-transfer-index-'), 'unused.db'));
    await expectFindsByName(server, names);
  });
});

// ───────────────────────────────────────── killed mid-transfer, progress, backups

describe('a catalog big enough to take a while (2,000 models)', () => {
  let big: string;
  let bigSums: TableSummary[];
  let filled: PostgresTarget;

  beforeAll(async () => {
    const dataDir = path.join(tempDir('dn-transfer-big-'), 'data');
    const seeded = await cli(['seed', '--models', '2000', '--data-dir', dataDir]);
    expect(seeded.code, seeded.stderr).toBe(0);
    big = databasePathIn(dataDir);
    bigSums = await catalogChecksums(sqlite(big));
  }, 180_000);

  /** Polls `check` every 50 ms until it is true (or fails after `ms`). */
  async function until(check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('SIGKILL while copying into PostgreSQL leaves it empty; a rerun succeeds', { timeout: 240_000 }, async () => {
    filled = await freshPostgresDatabase();
    const child = spawnCli(['transfer', '--from', `file:${big}`, '--to', filled.url, '--batch-size', '100']);
    const ended = outcome(child);
    const inserting = async () =>
      onPostgres(filled, async (client) => {
        const { rows } = await client.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()
           AND application_name = 'diffusion-nexus-transfer' AND query LIKE 'INSERT INTO "ModelFiles"%'`,
        );
        return Number(rows[0].n) > 0;
      });
    await until(inserting);
    child.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
    // The server rolls the transaction back when the connection drops.
    await until(() =>
      onPostgres(filled, async (client) => {
        const { rows } = await client.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'diffusion-nexus-transfer'`,
        );
        return Number(rows[0].n) === 0;
      }),
    );
    expect(Object.values(await postgresRowCounts(filled)).every((n) => n === 0)).toBe(true);

    const rerun = await cli(['transfer', '--from', `file:${big}`, '--to', filled.url]);
    expect(rerun.code, rerun.stderr).toBe(0);
    const rate = /(\d+) rows in 14 tables in ([\d.]+) s \((\d+) rows\/s\)/.exec(rerun.stdout);
    expect(rate, rerun.stdout).not.toBeNull();
    console.log(`transfer of 2,000 models into PostgreSQL: ${rate![0]}`);
    sameSummaries(bigSums, await catalogChecksums(filled));
  });

  it('SIGKILL while writing a SQLite file leaves no target; the rerun removes the partial file', {
    timeout: 240_000,
  }, async () => {
    const dir = tempDir('dn-transfer-kill-');
    const out = path.join(dir, 'out.db');
    const child = spawnCli(['transfer', '--from', filled.url, '--to', `file:${out}`, '--batch-size', '100']);
    const ended = outcome(child);
    const partial = `${out}.partial-${child.pid}`;
    await until(() => existsSync(partial) && statSync(partial).size > 8 * 2 ** 20);
    child.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(partial)).toBe(true);

    const rerun = await cli(['transfer', '--from', filled.url, '--to', `file:${out}`]);
    expect(rerun.code, rerun.stderr).toBe(0);
    console.log(`transfer of 2,000 models into SQLite: ${/\d+ rows in .*rows\/s\)/.exec(rerun.stdout)?.[0]}`);
    expect(readdirSync(dir)).toEqual(['out.db']);
    sameSummaries(bigSums, await catalogChecksums(sqlite(out)));
  });
});

// ───────────────────────────────────────── progress and backups

describe('progress and backups', () => {
  let small: string;
  let smallSums: TableSummary[];
  let catalog: PostgresTarget;

  beforeAll(async () => {
    small = (await seededCatalog({ models: 20 })).databasePath;
    smallSums = await catalogChecksums(sqlite(small));
    catalog = await freshPostgresDatabase();
    await transferCatalog(sqlite(small), catalog);
  });

  it('shows a progress bar on a terminal, and none in a pipe', async () => {
    const target = await freshPostgresDatabase();
    const total = smallSums.reduce((n, t) => n + t.rows, 0);
    const command = [
      process.execPath,
      '--import',
      'tsx',
      'src/cli/main.ts',
      'transfer',
      '--from',
      `file:${small}`,
      '--to',
      target.url,
    ]
      .map((arg) => `'${arg}'`)
      .join(' ');
    // `script` runs the CLI on a pseudo-terminal, as a user's shell would.
    const terminal = spawnSync('script', ['-qefc', command, '/dev/null'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(terminal.status, terminal.stdout).toBe(0);
    expect(terminal.stdout).toMatch(new RegExp(`\\r\\x1b\\[2Kcopy {3}\\[#{24}\\] ${total}/${total} TriggerWords`));
    expect(terminal.stdout).toMatch(new RegExp(`\\r\\x1b\\[2Kverify \\[#{24}\\] ${total}/${total} TriggerWords`));
    const piped = await cli(['transfer', '--from', target.url, '--to', `file:${path.join(tempDir(), 'x.db')}`]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout + piped.stderr).not.toContain('\x1b[');
  });

  it('backup of a PostgreSQL catalog is a SQLite snapshot that restores to identical checksums', async () => {
    const dir = tempDir('dn-transfer-backup-');
    const file = path.join(dir, 'catalog-backup.db');
    const total = smallSums.reduce((n, t) => n + t.rows, 0);
    const run = await cli(['backup', file, '--database-url', catalog.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^backed up postgres://.* to .*catalog-backup\\.db \\(a SQLite catalog: ${total} rows in 14 tables`,
        'm',
      ),
    );
    sameSummaries(smallSums, await catalogChecksums(sqlite(file)));
    const again = await cli(['backup', file, '--database-url', catalog.url]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force to replace it/);
    expect((await cli(['backup', file, '--force', '--database-url', catalog.url])).code).toBe(0);
    sameSummaries(smallSums, await catalogChecksums(sqlite(file)));

    const restored = await freshPostgresDatabase();
    const restore = await cli(['transfer', '--from', `file:${file}`, '--to', restored.url]);
    expect(restore.code, restore.stderr).toBe(0);
    sameSummaries(smallSums, await catalogChecksums(restored));
    const refused = await cli(['restore', file, '--database-url', catalog.url]);
    expect(refused.stderr).toMatch(
      /^error \[NOT_SUPPORTED_ON_ENGINE\]: restore \(for PostgreSQL: transfer --from file:BACKUP/m,
    );

    // A write committed while the backup runs is not in it: the backup reads one snapshot.
    const snapshot = path.join(dir, 'snapshot.db');
    let wrote = false;
    await transferCatalog(catalog, sqlite(snapshot), {
      batchRows: 5,
      onProgress: () => {
        if (wrote) return;
        wrote = true;
        // Synchronous, so it has committed before the transfer reads on (Tags come after Creators).
        const insert = spawnSync(
          process.execPath,
          [
            '-e',
            `const pg = require('pg'); const c = new pg.Client(process.argv[1]);
             c.connect().then(() => c.query('INSERT INTO "Tags" ("Name", "NormalizedName") VALUES ($1, $1)', ['written meanwhile'])).then(() => c.end());`,
            catalog.url,
          ],
          { cwd: PROJECT_ROOT, encoding: 'utf8' },
        );
        expect(insert.status, insert.stderr).toBe(0);
      },
    });
    expect(wrote).toBe(true);
    sameSummaries(smallSums, await catalogChecksums(sqlite(snapshot)));
    expect((await postgresRowCounts(catalog)).Tags).toBe(smallSums.find((t) => t.table === 'Tags')!.rows + 1);
  });

  it("leaves a backup's search index to the first server that opens it, which finds every model by name", async () => {
    const file = path.join(tempDir('dn-transfer-backup-index-'), 'backup.db');
    const run = await cli(['backup', file, '--database-url', catalog.url]);
    expect(run.code, run.stderr).toBe(0);
    const count = (db: Database.Database, table: string) =>
      Number(db.prepare(`SELECT COUNT(*) FROM "${table}"`).pluck().get());
    const names = withFile(file, (db) => {
      // Not built by the backup: every model is marked for the index, and the index holds none.
      expect(count(db, 'ModelSearchDirty')).toBe(count(db, 'Models'));
      expect(count(db, 'ModelSearch')).toBe(0);
      return db.prepare('SELECT "Name" FROM "Models" ORDER BY "Id"').pluck().all() as string[];
    });
    expect(names.length).toBe(20);
    const server = await serveSqlite(file);
    await expectFindsByName(server, names);
    withFile(file, (db) => expect(count(db, 'ModelSearchDirty')).toBe(0));
  });
});

describe('seed on PostgreSQL', () => {
  it('fills an empty catalog through the transfer, and refuses one that holds rows', async () => {
    const target = await freshPostgresDatabase();
    const seeded = await cli(['seed', '--models', '3', '--thumbnails', 'none', '--database-url', target.url]);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/^seeded postgres:\/\/.*: 3 models, 12 versions/m);
    expect((await postgresRowCounts(target)).Models).toBe(3);
    const again = await cli(['seed', '--models', '3', '--database-url', target.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[TARGET_NOT_EMPTY\]: .* already holds a catalog: .*Models \(3 rows\)/m);
  });
});

describe('timestamps between the engines', () => {
  it('either stored format, any offset or epoch milliseconds, to the microsecond in UTC; invalid dates are none', () => {
    expect(utcMicrosText('2025-12-22 19:53:09.1234567+00:00')).toBe('2025-12-22T19:53:09.123456Z');
    expect(utcMicrosText('2026-01-02T03:04:05.678+00:00')).toBe('2026-01-02T03:04:05.678000Z');
    expect(utcMicrosText('2026-01-02T03:04:05Z')).toBe('2026-01-02T03:04:05.000000Z');
    expect(utcMicrosText('2026-01-01 00:30:00.5-02:30')).toBe('2026-01-01T03:00:00.500000Z');
    expect(utcMicrosText('2026-01-01 01:00:00+0100')).toBe('2026-01-01T00:00:00.000000Z');
    expect(utcMicrosText(1767323045678n)).toBe('2026-01-02T03:04:05.678000Z');
    for (const bad of ['2026-02-30 00:00:00', '2026-01-01 24:00:00', 'yesterday', '', '2026-13-01T00:00:00Z'])
      expect(utcMicrosText(bad), bad).toBeNull();
    expect(storedFromUtcMicros('2025-12-22T19:53:09.123450Z')).toBe('2025-12-22 19:53:09.12345+00:00');
    expect(storedFromUtcMicros('2025-12-22T19:53:09.000000Z')).toBe('2025-12-22 19:53:09+00:00');
  });
});
