/**
 * The library over GraphQL and the CLI: scans as jobs (query and SSE subscription), roots confined to the library
 * roots, online identification through the Civitai replay, duplicate files, and the thumbnails command.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCivitaiClient } from '../src/civitai/client.ts';
import { cliCatalog, dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { startCivitaiReplay, type CivitaiReplay } from './helpers/civitai-replay.ts';
import { previewPng, randomBytes, safetensorsBytes, sha256Hex, writeFile } from './helpers/library.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';
import { cli as runCli } from './helpers/cli.ts';

let catalog: SeededCatalog;
let server: TestServer;
let replay: CivitaiReplay;
let library: string;
const TOKEN = 'library-api-test-token-123456';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const identifiable = safetensorsBytes({ ss_output_name: 'identify me' }, randomBytes(4000, 31337));

beforeAll(async () => {
  catalog = await seededCatalog({ models: 4, thumbnails: 'none' });
  replay = await startCivitaiReplay();
  library = path.join(tempDir('dn-lib-api-'), 'library');
  for (let i = 0; i < 5; i++)
    writeFile(path.join(library, 'loras', `same_${i}.safetensors`), safetensorsBytes({}, randomBytes(3000, 77)));
  writeFile(path.join(library, 'loras', 'identify.safetensors'), identifiable);
  writeFile(path.join(library, 'loras', 'plain.safetensors'), safetensorsBytes({}, randomBytes(2000, 78)));
  const sha = sha256Hex(identifiable);
  replay.script(`/api/v1/model-versions/by-hash/${sha}`, {
    status: 200,
    body: {
      id: 99_101,
      modelId: 99_100,
      name: 'v1',
      baseModel: 'SD 1.5',
      trainedWords: ['identified'],
      model: { name: 'Identified Online', type: 'LORA' },
      files: [{ id: 99_102, name: 'identify.safetensors', primary: true, hashes: { SHA256: sha } }],
      images: [],
    },
  });
  const civitai = createCivitaiClient({ baseUrl: replay.url, apiKey: null, timeoutMs: 2000, maxRetries: 0 });
  server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath, apiToken: TOKEN, libraryRoots: [library] },
    { civitai },
  );
});

const JOB_FIELDS =
  'id status error progress { phase filesSeen filesHashed newModels identifiedOnline duplicates duplicateGroups errors problems { path message } }';

async function waitForJob(id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const { scanJob } = dataOf(
      await server.graphql<{ scanJob: any }>(`query($id: ID!) { scanJob(id: $id) { ${JOB_FIELDS} } }`, { id }),
    );
    if (scanJob.status !== 'RUNNING') return scanJob;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('scan did not finish');
}

describe('scanLibrary', () => {
  it('refuses folders outside the library roots, and requires the token', async () => {
    const outside = await server.graphql('mutation { scanLibrary(roots: ["/etc"]) { id } }', {}, AUTH);
    expect(firstErrorCode(outside)).toBe('FORBIDDEN');
    const traversal = await server.graphql(`mutation { scanLibrary(roots: ["${library}/../.."]) { id } }`, {}, AUTH);
    expect(firstErrorCode(traversal)).toBe('FORBIDDEN');
    expect(
      firstErrorCode(
        await server.graphql(`mutation { scanLibrary(roots: ["${library}"], concurrency: 99) { id } }`, {}, AUTH),
      ),
    ).toBe('BAD_USER_INPUT');
    expect((await server.graphql(`mutation { scanLibrary(roots: ["${library}"]) { id } }`)).status).toBe(401);
  });

  it('runs as a job streamed over SSE, identifying unknown files online', async () => {
    const started = dataOf(
      await server.graphql<{ scanLibrary: any }>(
        `mutation($r: [String!]!) { scanLibrary(roots: $r, identifyOnline: true) { ${JOB_FIELDS} } }`,
        { r: [library] },
        AUTH,
      ),
    ).scanLibrary;
    expect(started.status).toBe('RUNNING');
    const conflict = await server.graphql(
      `mutation($r: [String!]!) { scanLibrary(roots: $r) { id } }`,
      { r: [library] },
      AUTH,
    );
    expect(firstErrorCode(conflict)).toBe('CONFLICT');

    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: `subscription($id: ID!) { scanProgress(jobId: $id) { status progress { phase filesHashed } } }`,
        variables: { id: started.id },
      }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await response.text();
    const events = text
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.length > 6)
      .map((line) => JSON.parse(line.slice(6)));
    const states = events.filter((e) => e.data).map((e) => e.data.scanProgress);
    expect(states.length).toBeGreaterThanOrEqual(1);
    expect(states.at(-1)).toMatchObject({ status: 'COMPLETED', progress: { phase: 'DONE' } });

    const job = await waitForJob(started.id);
    expect(job).toMatchObject({
      status: 'COMPLETED',
      error: null,
      progress: {
        filesSeen: 7,
        filesHashed: 7,
        identifiedOnline: 1,
        duplicates: 4,
        duplicateGroups: 1,
        newModels: 2,
        errors: 0,
      },
    });
    // Five identical unknown files: one local model, and the other four as copies of its file.
    const { model } = dataOf(
      await server.graphql<{ model: any }>(
        '{ model(civitaiId: 99100) { name versions(first: 1) { nodes { files { localPath isLocalFileValid } } } } }',
      ),
    );
    expect(model).toEqual({
      name: 'Identified Online',
      versions: {
        nodes: [
          { files: [{ localPath: path.join(library, 'loras', 'identify.safetensors'), isLocalFileValid: true }] },
        ],
      },
    });
    // The history says which job made each change: the local entries and links (scan) and the identification (sync).
    const sets = await catalogHandle(server).all<{ Source: string; JobId: string | null }>(
      sql`SELECT "Source", "JobId" FROM "MetadataChangeSets" WHERE "Source" IN ('scan', 'sync') ORDER BY "Id"`,
    );
    expect(new Set(sets.map((set) => set.Source))).toEqual(new Set(['scan', 'sync']));
    expect(sets.every((set) => set.JobId === started.id)).toBe(true);
  });

  it('lists duplicate local files, largest waste first, without re-hashing', async () => {
    const { duplicateFiles } = dataOf(
      await server.graphql<{ duplicateFiles: any[] }>(
        '{ duplicateFiles { sha256 size wastedBytes files { path modelFile { databaseId fileName localPath } } } }',
      ),
    );
    expect(duplicateFiles).toHaveLength(1);
    const group = duplicateFiles[0]!;
    expect(group.files.map((f: { path: string }) => path.basename(f.path))).toEqual([
      'same_0.safetensors',
      'same_1.safetensors',
      'same_2.safetensors',
      'same_3.safetensors',
      'same_4.safetensors',
    ]);
    // Each copy has its own catalog row, named after its own file (not after the copy catalogued first).
    for (const file of group.files) {
      expect(file.modelFile.localPath).toBe(file.path);
      expect(file.modelFile.fileName).toBe(path.basename(file.path));
    }
    expect(new Set(group.files.map((f: any) => f.modelFile.databaseId)).size).toBe(5);
    expect(BigInt(group.wastedBytes)).toBe(BigInt(group.size) * 4n);
    expect(group.sha256).toBe(sha256Hex(safetensorsBytes({}, randomBytes(3000, 77))));
  });
});

/** The CLI with no library roots configured: the folders it is given are its roots. */
const cli = (args: string[]) => runCli(args, undefined, { DIFFUSION_NEXUS_LIBRARY_ROOTS: '' });

describe('CLI scan and thumbnails', () => {
  it('scans a folder, then fills, prunes and counts thumbnails', { timeout: 120_000 }, async () => {
    const root = tempDir('dn-cli-lib-');
    const lib = path.join(root, 'models');
    const catalog = await cliCatalog();
    for (let i = 0; i < 4; i++) {
      writeFile(
        path.join(lib, 'Lora', `style_${i}.safetensors`),
        safetensorsBytes({ ss_output_name: `Style ${i}` }, randomBytes(1000 + i, i)),
      );
      writeFile(path.join(lib, 'Lora', `style_${i}.png`), await previewPng(500, 700, i));
    }
    // A second copy of one file: both scans say the library holds it (the count is of the library, not the scan).
    writeFile(
      path.join(lib, 'Lora', 'style_0 (copy).safetensors'),
      safetensorsBytes({ ss_output_name: 'Style 0' }, randomBytes(1000, 0)),
    );
    const scan = await cli(['scan', lib, ...catalog.args]);
    expect(scan.stdout).toMatch(
      /5 model files: 0 unchanged, 5 hashed .* 4 new local models, 0 missing; 0 sidecars imported, 4 thumbnails/,
    );
    expect(scan.stdout).toMatch(/The library holds 1 extra copies of 1 files/);
    expect(scan.code).toBe(0);
    // Like a server's scan job, a CLI scan names its changes in the history by a job id of its own.
    const jobOf = (stdout: string) => /^Scan job ([0-9a-f-]{36}): the models' history names it/m.exec(stdout)?.[1];
    const job = jobOf(scan.stdout);
    expect(job, scan.stdout).toBeDefined();
    const db = catalogHandle(catalog.location);
    const scanSets = await db.all<{ JobId: string | null }>(
      sql`SELECT "JobId" FROM "MetadataChangeSets" WHERE "Source" = 'scan'`,
    );
    expect(scanSets.length).toBeGreaterThanOrEqual(4);
    expect(scanSets.every((set) => set.JobId === job)).toBe(true);
    const rescan = (await cli(['scan', lib, ...catalog.args])).stdout;
    expect(rescan).toMatch(/5 model files: 5 unchanged, 0 hashed/);
    expect(rescan).toMatch(/The library holds 1 extra copies of 1 files/);
    // Every scan is a job of its own.
    expect(jobOf(rescan)).toMatch(/^[0-9a-f-]{36}$/);
    expect(jobOf(rescan)).not.toBe(job);

    await db.all(
      sql`UPDATE "ModelImages" SET "ThumbnailData" = NULL, "ThumbnailMimeType" = NULL
        WHERE "Id" IN (SELECT "Id" FROM "ModelImages" ORDER BY "Id" LIMIT 2)`,
    );
    const bulky = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#888' } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    await db.all(
      sql`UPDATE "ModelImages" SET "ThumbnailData" = ${bulky} WHERE "Id" = (SELECT MAX("Id") FROM "ModelImages")`,
    );

    expect((await cli(['thumbnails', 'stats', ...catalog.args])).stdout).toMatch(
      /2 of 4 images have a thumbnail[\s\S]*2 images without a thumbnail have a cached file/,
    );
    const generated = await cli(['thumbnails', 'generate', ...catalog.args]);
    expect(generated.stdout).toMatch(/generated 2, failed 0, skipped 0/);
    const pruned = await cli(['thumbnails', 'prune', '--max-bytes', String(25 * 1024), '--vacuum', ...catalog.args]);
    expect(pruned.stdout).toMatch(
      /re-encoded 1, dropped 0 oversized, deleted 0 orphan rows: [\d.]+ MB reclaimed\. Database file/,
    );
    const sizes = await db.column<number>(sql`SELECT length("ThumbnailData") FROM "ModelImages"`);
    expect(sizes).toHaveLength(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25 * 1024);
    expect(existsSync(path.join(lib, 'Lora', 'style_0.png'))).toBe(true);
    const bad = await cli(['thumbnails', 'prune', ...catalog.args]);
    expect(bad.code).toBe(2);
  });
});
