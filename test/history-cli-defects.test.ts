/**
 * Review findings on the metadata history's edges, each with real components (CLI processes, a server, a local
 * Civitai): a download that writes sidecars keeps the payload it read; `payloads export` refuses a name taken by a
 * folder or a dangling link with one coded line and writes nothing; cursors take only the ids the server encodes;
 * commands that only read a catalog never create one.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliCatalog, dataOf, emptyCatalog, firstErrorCode } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { cli } from './helpers/cli.ts';
import { startDownloadHosts } from './helpers/download-hosts.ts';
import { previewPng, randomBytes, safetensorsBytes, sha256Hex } from './helpers/library.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

type J = Record<string, any>;

/** A model with one version and one file, as `GET /api/v1/models/:id` serves it. */
function modelPayload(id: number, description: string, sha256 = 'AB'.repeat(32), imageUrl?: string): J {
  return {
    id,
    name: `Defect model ${id}`,
    description,
    type: 'LORA',
    nsfw: false,
    poi: false,
    tags: ['defects'],
    creator: { username: 'reviewer' },
    modelVersions: [
      {
        id: id * 10 + 1,
        modelId: id,
        name: 'v1',
        description: '<p>Version one</p>',
        baseModel: 'SDXL 1.0',
        createdAt: '2026-01-01T00:00:00.000Z',
        trainedWords: ['review'],
        stats: { downloadCount: 3 },
        files: [
          {
            id: id * 100 + 1,
            name: `defect_${id}.safetensors`,
            sizeKB: 40,
            type: 'Model',
            primary: true,
            metadata: { format: 'SafeTensor' },
            hashes: { SHA256: sha256 },
          },
        ],
        images: imageUrl ? [{ id: id * 1000 + 1, url: imageUrl, nsfwLevel: 1, width: 64, height: 64 }] : [],
      },
    ],
  };
}

/** The version of `modelPayload` as `GET /api/v1/model-versions/:id` serves it, with its own description. */
function versionPayload(model: J, description: string): J {
  return {
    ...model.modelVersions[0],
    description,
    model: { name: model.name, type: model.type, nsfw: false, poi: false },
  };
}

describe('A: a download with sidecars keeps the version payload it read', () => {
  it('archives what each --sidecars run read (a new download, and the sidecar written again beside a present file)', async () => {
    const key = 'defects-key';
    const hosts = await startDownloadHosts(key);
    hosts.image('preview.png', await previewPng(64, 64, 3));
    const bytes = safetensorsBytes({}, randomBytes(40 * 1024, 11));
    const model = modelPayload(9601, '<p>Model</p>', sha256Hex(bytes), `${hosts.storageUrl}/images/preview.png`);
    const versionId = model.modelVersions[0].id as number;
    hosts.payload(`models/9601`, model);
    hosts.file(versionId, { bytes, name: 'defect_9601.safetensors' });
    const libraryRoot = tempDir('dn-defects-lib-');
    const lora = path.join(libraryRoot, 'Lora');
    mkdirSync(lora);
    const catalog = await cliCatalog();
    const env = { CIVITAI_BASE_URL: hosts.apiUrl, CIVITAI_API_KEY: key, DIFFUSION_NEXUS_LIBRARY_ROOTS: libraryRoot };
    // The catalog holds the version already (from a file), so the sidecar is the only thing the download reads.
    const imported = await cli(
      ['import', '-', ...catalog.args],
      JSON.stringify(versionPayload(model, '<p>From a file</p>')),
    );
    expect(imported.code, imported.stderr).toBe(0);
    const rows = catalogHandle(catalog.location);
    const civitaiPayloads = async () =>
      (
        await rows.all<{ Kind: string; Source: string; Body: Uint8Array }>(
          sql`SELECT "Kind", "Source", "Body" FROM "ModelPayloads" WHERE "Origin" = 'civitai' ORDER BY "Id"`,
        )
      ).map((row) => ({
        kind: row.Kind,
        source: row.Source,
        description: JSON.parse(gunzipSync(row.Body).toString('utf8')).description,
      }));
    const download = () =>
      cli(['download', String(versionId), '--to', lora, '--sidecars', ...catalog.args], undefined, env);
    const info = path.join(lora, 'defect_9601.civitai.info');

    hosts.payload(`model-versions/${versionId}`, versionPayload(model, '<p>Served first</p>'));
    const first = await download();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^1 downloaded/m);
    expect(JSON.parse(readFileSync(info, 'utf8')).description).toBe('<p>Served first</p>');
    const source = `Civitai model version ${versionId}`;
    expect(await civitaiPayloads()).toEqual([{ kind: 'version', source, description: '<p>Served first</p>' }]);

    // Civitai's text changed; the sidecar is deleted and the download run again: the file is present, the sidecar
    // is written from the new payload, and that payload is kept too.
    hosts.payload(`model-versions/${versionId}`, versionPayload(model, '<p>Served second</p>'));
    rmSync(info);
    const again = await download();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^0 downloaded .* 1 already present/m);
    expect(JSON.parse(readFileSync(info, 'utf8')).description).toBe('<p>Served second</p>');
    expect(await civitaiPayloads()).toEqual([
      { kind: 'version', source, description: '<p>Served first</p>' },
      { kind: 'version', source, description: '<p>Served second</p>' },
    ]);

    // The same payload read once more is not kept again.
    expect((await download()).code).toBe(0);
    expect(await civitaiPayloads()).toHaveLength(2);
  }, 120_000);
});

describe('B: payloads export refuses names it cannot use', () => {
  it('a name taken by a dangling link or a folder is one coded line, and nothing is written', async () => {
    const catalog = await cliCatalog();
    for (const description of ['<p>One</p>', '<p>Two</p>']) {
      const run = await cli(['import', '-', ...catalog.args], JSON.stringify(modelPayload(9701, description)));
      expect(run.code, run.stderr).toBe(0);
    }
    const base = tempDir('dn-defects-export-');
    const first = await cli(['payloads', 'export', '9701', path.join(base, 'first'), '--civitai', ...catalog.args]);
    expect(first.code, first.stderr).toBe(0);
    const written = [...first.stdout.matchAll(/^wrote (\S+) /gm)].map((m) => path.basename(m[1]!));
    expect(written).toHaveLength(2);
    // The last name the export comes to is taken: refused before the first is written.
    const taken = written.at(-1)!;
    const obstacles: [string, (file: string) => void][] = [
      ['dangling link', (file) => symlinkSync(path.join(base, 'nowhere'), file)],
      ['folder', (file) => mkdirSync(file)],
    ];
    for (const [what, make] of obstacles) {
      const dir = path.join(base, what.replace(' ', '-'));
      mkdirSync(dir);
      make(path.join(dir, taken));
      const run = await cli(['payloads', 'export', '9701', dir, '--civitai', ...catalog.args]);
      expect(run.code, `${what}: ${run.stderr}`).toBe(1);
      expect(run.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(run.stderr, what).toMatch(/^error \[CONFLICT\]: .*exists and is not a file/);
      expect(readdirSync(dir), what).toEqual([taken]);
    }
  }, 120_000);

  it('a folder it may not write into or create is one coded line', async () => {
    const catalog = await cliCatalog();
    expect((await cli(['import', '-', ...catalog.args], JSON.stringify(modelPayload(9702, '<p>x</p>')))).code).toBe(0);
    // sysfs refuses new files and folders to everyone, root included (EACCES, or EROFS where mounted read-only).
    for (const target of ['/sys/kernel', '/sys/dn-export-test']) {
      const run = await cli(['payloads', 'export', '9702', target, '--civitai', ...catalog.args]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^error \[BAD_USER_INPUT\]: Cannot (write|create|read) /);
    }
  }, 120_000);
});

describe('C: cursors take only the ids the server encodes', () => {
  let server: TestServer;

  beforeAll(async () => {
    const catalog = await emptyCatalog();
    server = await startTestServer({
      dataDir: catalog.dataDir,
      databasePath: catalog.databasePath,
      database: catalog.database,
    });
    for (const [id, description] of [
      [9801, '<p>One</p>'],
      [9801, '<p>Two</p>'],
      [9801, '<p>Three</p>'],
      [9802, '<p>Other</p>'],
    ] as const)
      dataOf(
        await server.graphql(`mutation($p: JSON!) { importCivitaiPayload(payload: $p) { failed } }`, {
          p: modelPayload(id, description),
        }),
      );
  });

  const forge = (json: string) => Buffer.from(`dn1:${json}`).toString('base64url');
  const decode = (cursor: string) =>
    JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8').slice(4)) as unknown[];

  it('Model.history(after:) refuses hex, padded, exponent and quoted ids, and accepts its own cursors', async () => {
    const history = (after: string | null) =>
      server.graphql<any>(
        `query($c: String) { model(civitaiId: 9801) { history(first: 1, after: $c) { edges { node { databaseId } }
          pageInfo { endCursor } } } }`,
        { c: after },
      );
    const start = dataOf(await history(null)).model.history;
    const [tag, id] = decode(start.pageInfo.endCursor);
    expect(tag).toBe('history');
    expect(id).toBe(start.edges[0].node.databaseId);
    const next = dataOf(await history(start.pageInfo.endCursor)).model.history;
    expect(next.edges[0].node.databaseId).toBeLessThan(id as number);
    const n = id as number;
    for (const forged of [
      `["history","0x${n.toString(16)}"]`,
      `["history"," ${n}"]`,
      `["history","${n}e0"]`,
      `["history","${n}"]`,
      `["history",${n}e0]`,
      `["history",${n}.0]`,
      `["history", ${n}]`,
    ]) {
      const response = await history(forge(forged));
      expect(firstErrorCode(response), forged).toBe('BAD_USER_INPUT');
    }
  });

  it('list cursors (models, tags) refuse the same ids: the decoding they share checks them', async () => {
    const page = dataOf(
      await server.graphql<any>(
        `{ models(first: 1) { pageInfo { endCursor } } tags(first: 1) { pageInfo { endCursor } } }`,
      ),
    );
    for (const list of ['models', 'tags']) {
      const values = decode(page[list].pageInfo.endCursor);
      const n = values.at(-1) as number;
      expect(Number.isSafeInteger(n), list).toBe(true);
      const ask = (cursor: string) =>
        server.graphql(`query($c: String) { ${list}(first: 1, after: $c) { totalCount } }`, { c: cursor });
      dataOf(await ask(page[list].pageInfo.endCursor));
      for (const id of [`0x${n.toString(16)}`, ` ${n}`, `${n}e0`, String(n), n + 0.5, -n]) {
        const forged = forge(JSON.stringify([...values.slice(0, -1), id]));
        expect(firstErrorCode(await ask(forged)), `${list} ${JSON.stringify(id)}`).toBe('BAD_USER_INPUT');
      }
    }
  });
});

describe('D: commands that only read a catalog never create one', () => {
  it('with no catalog, payloads export, backup and thumbnails stats say so, naming the folder, and create nothing', async () => {
    const home = tempDir('dn-defects-home-');
    const xdg = path.join(home, 'xdg');
    // Never the real default data dir: the children's platform folders are under this temp home.
    const env = {
      HOME: home,
      XDG_DATA_HOME: xdg,
      DIFFUSION_NEXUS_DATA_DIR: undefined,
      DIFFUSION_NEXUS_DATABASE_URL: undefined,
    };
    const defaultDataDir = path.join(xdg, 'DiffusionNexus', 'Data');
    const out = path.join(home, 'out');
    const commands = [
      ['payloads', 'export', '1', out],
      ['backup', path.join(home, 'backup.db')],
      ['thumbnails', 'stats'],
    ];
    for (const command of commands) {
      const run = await cli(command, undefined, env);
      expect(run.code, `${command.join(' ')}: ${run.stdout}${run.stderr}`).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^error \[NOT_FOUND\]: /);
      expect(run.stderr).toContain(defaultDataDir);
    }
    const named = path.join(home, 'named', 'data');
    const explicit = await cli(['payloads', 'export', '1', out, '--data-dir', named], undefined, env);
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toMatch(/^error \[NOT_FOUND\]: /);
    expect(explicit.stderr).toContain(named);
    // status only reports: no catalog yet, every migration pending.
    const status = await cli(['status'], undefined, env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('missing or empty');
    expect(readdirSync(home).sort()).toEqual([]);
    // An empty catalog file is no catalog: it is not migrated into one.
    const emptyDir = path.join(tempDir('dn-defects-empty-'), 'data');
    mkdirSync(emptyDir, { recursive: true });
    writeFileSync(path.join(emptyDir, 'Diffusion_Nexus-core.db'), '');
    const onEmpty = await cli(['thumbnails', 'stats', '--data-dir', emptyDir], undefined, env);
    expect(onEmpty.stderr).toMatch(/^error \[NOT_FOUND\]: /);
    expect(statSync(path.join(emptyDir, 'Diffusion_Nexus-core.db')).size).toBe(0);

    // Commands that make a catalog still do; then the read-only ones read it.
    expect((await cli(['migrate'], undefined, env)).code).toBe(0);
    expect(existsSync(path.join(defaultDataDir, 'Diffusion_Nexus-core.db'))).toBe(true);
    expect((await cli(['status'], undefined, env)).code).toBe(0);
    const noModel = await cli(['payloads', 'export', '1', out], undefined, env);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/^error \[NOT_FOUND\]: No model with catalog id 1/);
  }, 120_000);
});
