/**
 * Many writers and readers on one catalog for a bounded time: two server instances importing over HTTP (overlapping
 * models, so the same model is upserted by several requests, through both), a CLI import in another process writing
 * the same catalog at the same time, and readers paging, looking up hashes and searching throughout. No request may
 * fail (no SQLITE_BUSY or PostgreSQL conflict leaking out), and the result must equal a serial import of the same
 * payloads: no duplicate, lost or half-written rows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { civitaiModelItem, civitaiModelsPage } from '../src/seed/civitai-payloads.ts';
import { cliArgsFor, emptyCatalog } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { cli } from './helpers/cli.ts';
import { contentSignature } from './helpers/db-checksum.ts';
import { TEST_ENGINE } from './helpers/postgres.ts';
import { startTestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

const IMPORTERS = 6;
const PAGES_PER_IMPORTER = 6;
const PAGE = 5;
/** Importer w covers models [w·15, w·15 + 30): each model is written by two importers. */
const firstModelOf = (worker: number, page: number) => worker * 15 + page * PAGE;
/**
 * The CLI process imports models [60, 360) at the same time — [60, 160) on PostgreSQL, where each of a model's
 * statements is a round trip to the server and an import costs several times SQLite's: the three writers overlap
 * just the same, in a share of the time (both engines run in CI).
 */
const CLI_RANGE: [number, number] = [60, TEST_ENGINE === 'postgres' ? 160 : 360];
const TOTAL_MODELS = Math.max(firstModelOf(IMPORTERS - 1, PAGES_PER_IMPORTER - 1) + PAGE, CLI_RANGE[1]);

const IMPORT =
  'mutation Import($payload: JSON!) { importCivitaiPayload(payload: $payload) { created updated unchanged failed } }';
const READS = [
  {
    query:
      '{ models(first: 20) { totalCount nodes { name versions(first: 2) { nodes { name files { hashes { sha256 } } } } } } }',
  },
  {
    query: 'query($h: [String!]!) { filesByHashes(hashes: $h) { hash file { fileName } } }',
    variables: { h: [] as string[] },
  },
  { query: '{ search(query: "neon", first: 10) { totalCount edges { score node { name } } } }' },
];

describe('concurrent importers and readers', () => {
  it('fails no request and stores exactly what a serial import stores', { timeout: 120_000 }, async () => {
    const dataDir = path.join(tempDir('dn-concurrency-'), 'data');
    const server = await startTestServer({ dataDir });
    // A second instance on the same catalog (its own connections and its own queue of writes).
    const other = await startTestServer({
      dataDir,
      databasePath: server.config.databasePath,
      database: server.config.database,
    });
    const servers = [server, other];
    const hashes = Array.from({ length: 40 }, (_, i) => {
      const versions = civitaiModelItem(i * 3).modelVersions as { files: { hashes: { SHA256: string } }[] }[];
      return versions[0]!.files[0]!.hashes.SHA256;
    });
    READS[1]!.variables!.h = hashes;

    const failures: string[] = [];
    const note = (what: string, response: { status: number; errors?: { message: string }[] }) => {
      if (response.status !== 200 || response.errors?.length)
        failures.push(`${what}: ${response.status} ${JSON.stringify(response.errors)}`);
    };
    // The other process starts first; the HTTP importers begin once it is writing, so the two really overlap.
    const payloadDir = path.join(tempDir('dn-concurrency-payloads-'), 'in');
    mkdirSync(payloadDir);
    for (let from = CLI_RANGE[0]; from < CLI_RANGE[1]; from += 20) {
      writeFileSync(path.join(payloadDir, `page-${from}.json`), JSON.stringify(civitaiModelsPage(from, 20)));
    }
    let cliDone = false;
    const otherProcess = cli(['import', payloadDir, ...cliArgsFor(dataDir, server.config.database)]).then((run) => {
      cliDone = true;
      return run;
    });
    const watcher = catalogHandle(server);
    while (
      !cliDone &&
      Number(
        await watcher.value(sql`SELECT COUNT(*) FROM "Models" WHERE "CivitaiId" >= ${3_000_000 + CLI_RANGE[0]}`),
      ) === 0
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await watcher.close();
    let overlapped = false;

    let importing = true;
    let reads = 0;
    const importers = Array.from({ length: IMPORTERS }, async (_, worker) => {
      for (let page = 0; page < PAGES_PER_IMPORTER; page++) {
        // Alternating instances: each model's two importers and its two pages reach both.
        note(
          `import w${worker}p${page}`,
          await servers[(worker + page) % 2]!.graphql(IMPORT, {
            payload: civitaiModelsPage(firstModelOf(worker, page), PAGE),
          }),
        );
        if (!cliDone) overlapped = true;
      }
    });
    const readers = Array.from({ length: 4 }, async (_, reader) => {
      while (importing) {
        const read = READS[(reader + reads) % READS.length]!;
        note(`read ${reads}`, await servers[reader % 2]!.graphql(read.query, read.variables));
        reads++;
        // A pause as a client makes between requests: readers that spin take the CPU of a small machine from the
        // writers (on PostgreSQL above all, where a write is dozens of round trips, each waiting for its turn).
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    await Promise.all(importers);
    const cliRun = await otherProcess;
    importing = false;
    await Promise.all(readers);

    expect(failures).toEqual([]);
    expect(cliRun.code, cliRun.stderr).toBe(0);
    expect(reads).toBeGreaterThan(10);
    expect(overlapped, 'the HTTP imports ran while the other process was importing').toBe(true);

    // Into a SQLite file whatever the engine under test: quick, and a PostgreSQL catalog must hold the same content.
    const serial = await emptyCatalog({ engine: 'sqlite' });
    await importPayload(serial.db, civitaiModelsPage(0, TOTAL_MODELS), 'serial');

    const expected = await contentSignature(serial);
    expect(expected.counts.Models).toBe(TOTAL_MODELS);
    const actual = await contentSignature(server);
    expect(actual.counts).toEqual(expected.counts);
    expect(actual.hash).toBe(expected.hash);
  });
});
