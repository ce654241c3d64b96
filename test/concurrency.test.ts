/**
 * Many writers and readers on one catalog for a bounded time: importers over HTTP (overlapping models, so the same
 * model is upserted by several requests), a CLI import in another process writing the same file at the same time,
 * and readers paging, looking up hashes and searching throughout. No request may fail (no SQLITE_BUSY leaking out),
 * and the result must equal a serial import of the same payloads: no duplicate, lost or half-written rows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { importPayload } from '../src/civitai/batch-import.ts';
import { civitaiModelItem, civitaiModelsPage } from '../src/seed/civitai-payloads.ts';
import { cli } from './helpers/cli.ts';
import { contentSignature } from './helpers/db-checksum.ts';
import { startTestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

const IMPORTERS = 6;
const PAGES_PER_IMPORTER = 6;
const PAGE = 5;
/** Importer w covers models [w·15, w·15 + 30): each model is written by two importers. */
const firstModelOf = (worker: number, page: number) => worker * 15 + page * PAGE;
/** The CLI process imports models [60, 360) at the same time. */
const CLI_RANGE: [number, number] = [60, 360];
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
  it('fails no request and stores exactly what a serial import stores', async () => {
    const dataDir = path.join(tempDir('dn-concurrency-'), 'data');
    const server = await startTestServer({ dataDir });
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
    const otherProcess = cli(['import', payloadDir, '--data-dir', dataDir]).then((run) => {
      cliDone = true;
      return run;
    });
    const watcher = new Database(server.config.databasePath, { readonly: true });
    while (
      !cliDone &&
      Number(
        watcher
          .prepare('SELECT COUNT(*) FROM Models WHERE CivitaiId >= ?')
          .pluck()
          .get(3_000_000 + CLI_RANGE[0]),
      ) === 0
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    watcher.close();
    let overlapped = false;

    let importing = true;
    let reads = 0;
    const importers = Array.from({ length: IMPORTERS }, async (_, worker) => {
      for (let page = 0; page < PAGES_PER_IMPORTER; page++) {
        note(
          `import w${worker}p${page}`,
          await server.graphql(IMPORT, { payload: civitaiModelsPage(firstModelOf(worker, page), PAGE) }),
        );
        if (!cliDone) overlapped = true;
      }
    });
    const readers = Array.from({ length: 4 }, async (_, reader) => {
      while (importing) {
        const read = READS[(reader + reads) % READS.length]!;
        note(`read ${reads}`, await server.graphql(read.query, read.variables));
        reads++;
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

    const serialDir = tempDir('dn-serial-');
    const serialPath = databasePathIn(serialDir);
    await migrateDatabase(serialPath);
    const serial = await openCatalogDatabase(serialPath);
    await importPayload(serial, civitaiModelsPage(0, TOTAL_MODELS), 'serial');
    await serial.close();

    const expected = contentSignature(serialPath);
    expect(expected.counts.Models).toBe(TOTAL_MODELS);
    const actual = contentSignature(server.config.databasePath);
    expect(actual.counts).toEqual(expected.counts);
    expect(actual.hash).toBe(expected.hash);
  });
});
