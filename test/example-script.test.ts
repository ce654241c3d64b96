/**
 * The typed example script (documents from codegen) against a live server: it must page through every model
 * exactly once and resolve hashes in input order.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;

beforeAll(async () => {
  catalog = await seededCatalog({ thumbnails: 'none' });
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
});

it('pages through every model with cursors and resolves local file hashes in one call', async () => {
  // What the server's catalog holds (on PostgreSQL its copy of the seeded file).
  const db = catalogHandle(server);
  const files = await db.all<{ Id: number; HashSHA256: string; HashAutoV2: string }>(
    sql`SELECT "Id", "HashSHA256", "HashAutoV2" FROM "ModelFiles" ORDER BY "Id" LIMIT 3`,
  );
  const hashes = [files[0]!.HashSHA256, files[1]!.HashAutoV2.toLowerCase(), 'ABCDEF0123', files[2]!.HashSHA256];
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'examples/catalog-script.ts', '--url', server.url, '--page-size', '7', ...hashes],
    { cwd: PROJECT_ROOT },
  );
  const result = JSON.parse(stdout) as {
    totalCount: number;
    models: { databaseId: number; versionCount: number }[];
    matches: { hash: string; file: { databaseId: number } | null }[];
  };

  const expectedIds = await db.column(sql`SELECT "Id" FROM "Models" ORDER BY lower("Name"), "Id"`);
  expect(result.totalCount).toBe(catalog.summary.models);
  expect(result.models.map((m) => m.databaseId)).toEqual(expectedIds);
  expect(result.models.every((m) => m.versionCount === 4)).toBe(true);
  expect(result.matches.map((m) => m.hash)).toEqual(hashes);
  expect(result.matches.map((m) => m.file?.databaseId ?? null)).toEqual([
    files[0]!.Id,
    files[1]!.Id,
    null,
    files[2]!.Id,
  ]);
});
