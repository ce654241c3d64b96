/**
 * A rescan of an unchanged library costs a fixed number of SQL statements, whatever its size: the walk, one read of
 * the index per root, and the "seen now" writes for all files together (once an hour; none in between). Two libraries of real files (some with a
 * sidecar, some with a preview, some described by Civitai data) in one real catalog, statements counted by the
 * catalog's `onStatement` hook; then a changed preview and a changed sidecar are still noticed.
 */
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import type { CatalogDatabase } from '../src/db/catalog-database.ts';
import { toStoredTimestamp } from '../src/db/timestamps.ts';
import { scanLibrary } from '../src/library/scan.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { type CatalogHandle, sql } from './helpers/catalog-handle.ts';
import { civitaiPayloadFor, previewPng, randomBytes, safetensorsBytes, writeFile } from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';

const work = tempDir('dn-rescan-');
let db: CatalogDatabase;
/** The catalog's database, read directly. */
let rows: CatalogHandle;
let statements: string[] = [];

const fileBytes = (seed: number, i: number) =>
  safetensorsBytes({ ss_output_name: `file ${seed} ${i}` }, randomBytes(256, seed * 1000 + i));

/** `files` model files in folders of 25; every 4th with an A1111 `.json` sidecar, every 5th with a preview. */
async function library(name: string, files: number, civitaiModelId: number): Promise<string> {
  const root = path.join(work, name);
  const preview = await previewPng(24, 24, 7);
  const described: Parameters<typeof civitaiPayloadFor>[2] = [];
  for (let i = 0; i < files; i++) {
    const folder = path.join(root, 'Lora', `set${Math.floor(i / 25)}`);
    const bytes = fileBytes(civitaiModelId, i);
    writeFile(path.join(folder, `m${i}.safetensors`), bytes);
    if (i % 4 === 0)
      writeFileSync(
        path.join(folder, `m${i}.json`),
        JSON.stringify({ description: `model ${i}`, 'activation text': 'w' }),
      );
    if (i % 5 === 0) writeFileSync(path.join(folder, `m${i}.preview.png`), preview);
    if (i < 2)
      described.push({
        versionId: civitaiModelId * 10 + i,
        fileId: civitaiModelId * 10 + i,
        fileName: `m${i}.safetensors`,
        bytes,
      });
  }
  // Two of the files are known to the catalog from Civitai data: they are linked, not catalogued as local models.
  await importPayload(db, civitaiPayloadFor(civitaiModelId, `${name} known`, described), name);
  return root;
}

const scan = (root: string, now: Date) => scanLibrary(db, { roots: [root], libraryRoots: [root], now });

let small: string;
let large: string;

beforeAll(async () => {
  ({ db, handle: rows } = await emptyCatalog({ open: { onStatement: (text) => statements.push(text) } }));
  small = await library('small', 20, 910);
  large = await library('large', 200, 920);
  for (const root of [small, large]) {
    const first = await scan(root, new Date('2026-01-01T00:00:00Z'));
    expect(first.problems).toEqual([]);
    expect(first.linked).toBe(2);
  }
});

describe('a rescan of an unchanged library', () => {
  it('runs the same few statements for 20 files as for 200, and records every file as seen and verified', async () => {
    const counts: number[] = [];
    for (const [root, files] of [
      [small, 20],
      [large, 200],
    ] as const) {
      const now = new Date(`2026-01-02T00:00:0${files === 20 ? 1 : 2}Z`);
      statements = [];
      const result = await scan(root, now);
      counts.push(statements.length);
      expect(result).toMatchObject({
        filesSeen: files,
        filesUnchanged: files,
        filesHashed: 0,
        newModels: 0,
        linked: 0,
        moved: 0,
        missing: 0,
        thumbnails: 0,
        sidecarsImported: 0,
        problems: [],
      });
      const stamp = toStoredTimestamp(now);
      const prefix = `${root}${path.sep}%`;
      expect(
        await rows.value(
          sql`SELECT COUNT(*) FROM "LocalFiles" WHERE "Path" LIKE ${prefix} AND "LastSeenAt" = ${stamp}`,
        ),
      ).toBe(files);
      expect(
        await rows.value(
          sql`SELECT COUNT(*) FROM "ModelFiles" WHERE "LocalPath" LIKE ${prefix} AND "LocalFileVerifiedAt" = ${stamp}
            AND "IsLocalFileValid" = TRUE`,
        ),
      ).toBe(files);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[0]).toBeLessThanOrEqual(12);
  });

  it('still notices a changed preview and a changed sidecar, and reads only those files again', async () => {
    // A whole second ahead: file systems keep mtimes finer than the milliseconds utimes is given in.
    const later = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
    const folder = path.join(large, 'Lora', 'set1');
    writeFileSync(path.join(folder, 'm25.preview.png'), await previewPng(24, 24, 8));
    utimesSync(path.join(folder, 'm25.preview.png'), later, later);
    writeFileSync(path.join(folder, 'm28.json'), JSON.stringify({ description: 'changed', 'activation text': 'x' }));
    utimesSync(path.join(folder, 'm28.json'), later, later);
    statements = [];
    const changed = await scan(large, new Date('2026-01-03T00:00:00Z'));
    expect(changed).toMatchObject({ filesUnchanged: 200, filesHashed: 0, thumbnails: 1, problems: [] });
    const perChangedFile = statements.length;
    statements = [];
    const quiet = await scan(large, new Date('2026-01-04T00:00:00Z'));
    expect(quiet).toMatchObject({ filesUnchanged: 200, thumbnails: 0, problems: [] });
    // The two changed files went the per-file way once; afterwards the library is quiet again.
    expect(perChangedFile).toBeGreaterThan(statements.length);
    expect(
      await rows.value(
        sql`SELECT "SidecarMtimeMs" FROM "LocalFiles" WHERE "Path" = ${path.join(folder, 'm28.safetensors')}`,
      ),
    ).toBe(later.getTime());
  });

  it('writes nothing while its files were seen within the hour (the catalog revision stays), and refreshes them after', async () => {
    const revision = () => rows.value(sql`SELECT "Revision" FROM "CatalogRevision" WHERE "Id" = 1`);
    const stamped = (at: Date) =>
      rows.value(
        sql`SELECT COUNT(*) FROM "LocalFiles" WHERE "Path" LIKE ${`${large}${path.sep}%`} AND "LastSeenAt" = ${toStoredTimestamp(at)}`,
      );
    const lastQuiet = new Date('2026-01-04T00:00:00Z');
    const before = await revision();
    statements = [];
    const soon = await scan(large, new Date(lastQuiet.getTime() + 59 * 60_000));
    expect(soon).toMatchObject({ filesSeen: 200, filesUnchanged: 200, problems: [] });
    expect(statements.filter((text) => /^\s*(update|insert|delete)/i.test(text))).toEqual([]);
    expect(await revision()).toBe(before);
    expect(await stamped(lastQuiet)).toBe(200);
    const later = new Date(lastQuiet.getTime() + 61 * 60_000);
    await scan(large, later);
    expect(await stamped(later)).toBe(200);
    expect(Number(await revision())).toBeGreaterThan(Number(before));
  });
});

describe('a first scan', () => {
  it('indexes and catalogues each new file in a handful of statements, the same for every file', async () => {
    // Round trips are most of a first scan's time on PostgreSQL: a new file's index row, its look-up by hash (one
    // statement for all four hashes), its local model and its link are written together.
    const perFile: number[] = [];
    for (const files of [10, 40]) {
      const root = path.join(work, `fresh-${files}`);
      for (let i = 0; i < files; i++)
        writeFile(path.join(root, 'Lora', `new${i}.safetensors`), fileBytes(930 + files, i));
      statements = [];
      const result = await scan(root, new Date('2026-02-01T00:00:00Z'));
      expect(result).toMatchObject({ filesSeen: files, newModels: files, problems: [] });
      const lookups = statements.filter((text) => /from "ModelFiles"/i.test(text) && /upper\(/i.test(text));
      expect(lookups).toHaveLength(files);
      perFile.push(statements.length / files);
    }
    // The fixed part (the walk's reads, the search index, the duplicate count) spreads over more files.
    expect(perFile[1]).toBeLessThanOrEqual(perFile[0]!);
    expect(perFile[1]).toBeLessThanOrEqual(10);
  });
});
