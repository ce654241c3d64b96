/**
 * Downloads end to end: a real server on 127.0.0.1 over a real SQLite file, a local API host and a local storage
 * host (never the network) that misbehave as real ones do. Every job is driven and observed through GraphQL.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNodeId } from '../src/catalog/global-id.ts';
import { createCivitaiClient } from '../src/civitai/client.ts';
import {
  chooseFileName,
  fileNameFromContentDisposition,
  parseDownloadTarget,
  sanitizeFileName,
} from '../src/downloads/names.ts';
import { type CatalogHandle, catalogHandle, sql } from './helpers/catalog-handle.ts';
import { startDownloadHosts, type DownloadHosts, type HostedFile } from './helpers/download-hosts.ts';
import { previewPng, randomBytes, safetensorsBytes, sha256Hex } from './helpers/library.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

const KEY = 'download-test-key';
const MiB = 1024 * 1024;

interface Job {
  id: string;
  state: string;
  fileName: string | null;
  localPath: string | null;
  alreadyPresent: boolean;
  receivedBytes: number | string;
  totalBytes: number | string | null;
  errorCode: string | null;
  message: string | null;
  actualSha256: string | null;
  expectedSha256: string | null;
  targetDirectory: string;
  modelFile: { localPath: string | null; isLocalFileValid: boolean } | null;
}

const JOB = `id state fileName localPath alreadyPresent receivedBytes totalBytes errorCode message actualSha256
  expectedSha256 targetDirectory modelFile { localPath isLocalFileValid }`;

let hosts: DownloadHosts;
let server: TestServer;
let library: string;
let pngBytes: Buffer;
let nextId = 7000;

/** A model on the hosts: one version per entry, each with one file (its bytes) and one image. */
function publish(
  versions: { bytes: Buffer; fileName?: string; createdAt?: string; sizeKB?: number; host?: Partial<HostedFile> }[],
  modelName = 'Download Test',
): { modelId: number; versionIds: number[]; fileIds: number[] } {
  const modelId = nextId++;
  const entries = versions.map((v) => ({ ...v, versionId: nextId++, fileId: nextId++ }));
  const versionJson = entries.map((e) => ({
    id: e.versionId,
    modelId,
    name: `v${e.versionId}`,
    baseModel: 'SDXL 1.0',
    createdAt: e.createdAt ?? '2026-01-01T00:00:00.000Z',
    trainedWords: ['word'],
    files: [
      {
        id: e.fileId,
        name: e.fileName ?? `file_${e.versionId}.safetensors`,
        sizeKB: e.sizeKB ?? e.bytes.length / 1024,
        type: 'Model',
        primary: true,
        metadata: { format: 'SafeTensor', fp: 'fp16', size: 'pruned' },
        hashes: { SHA256: sha256Hex(e.bytes), AutoV2: sha256Hex(e.bytes).slice(0, 10) },
      },
    ],
    images: [{ id: nextId++, url: `${hosts.storageUrl}/images/preview.png`, nsfwLevel: 1, width: 64, height: 64 }],
  }));
  const model = {
    id: modelId,
    name: modelName,
    type: 'LORA',
    nsfw: false,
    poi: false,
    tags: ['downloads'],
    creator: { username: 'download-test' },
    modelVersions: versionJson,
  };
  hosts.payload(`models/${modelId}`, model);
  for (const [i, e] of entries.entries()) {
    hosts.payload(`model-versions/${e.versionId}`, {
      ...versionJson[i],
      model: { name: modelName, type: 'LORA', nsfw: false, poi: false },
    });
    hosts.file(e.versionId, { bytes: e.bytes, name: e.fileName ?? `file_${e.versionId}.safetensors`, ...e.host });
  }
  return { modelId, versionIds: entries.map((e) => e.versionId), fileIds: entries.map((e) => e.fileId) };
}

function modelBytes(size: number, seed: number): Buffer {
  return safetensorsBytes({ ss_output_name: `dl${seed}` }, randomBytes(size, seed));
}

function folder(name: string): string {
  const dir = path.join(library, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function data<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await server.graphql<T>(query, variables);
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!;
}

async function start(versionId: number, root: string, extra: Record<string, unknown> = {}): Promise<Job> {
  const { downloadModelVersion } = await data<{ downloadModelVersion: Job }>(
    `mutation($v: Int!, $root: String!, $sub: String, $sidecars: Boolean) {
      downloadModelVersion(civitaiVersionId: $v, root: $root, subfolder: $sub, sidecars: $sidecars) { ${JOB} } }`,
    { v: versionId, root, ...extra },
  );
  return downloadModelVersion;
}

async function job(id: string): Promise<Job> {
  return (await data<{ download: Job }>(`query($id: ID!) { download(id: $id) { ${JOB} } }`, { id })).download;
}

/** Polls the job until `until` holds (generous: the machine may be busy). */
async function waitFor(
  id: string,
  until: (job: Job) => boolean = (j) => ['DONE', 'FAILED', 'CANCELLED'].includes(j.state),
) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const current = await job(id);
    if (until(current)) return current;
    if (Date.now() > deadline) throw new Error(`download ${id} stayed ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForPart(dir: string, bytes: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const part = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.part')) : undefined;
    if (part && statSync(path.join(dir, part)).size >= bytes) return path.join(dir, part);
    if (Date.now() > deadline) throw new Error(`no .part file of ${bytes} bytes in ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The server's database (its SQLite file, or its PostgreSQL copy), read directly. */
let catalog: CatalogHandle;
const downloadCount = () => catalog.value<number>(sql`SELECT COUNT(*) FROM "Downloads"`);

beforeAll(async () => {
  hosts = await startDownloadHosts(KEY);
  pngBytes = await previewPng(64, 64, 5);
  hosts.image('preview.png', pngBytes);
  library = tempDir('dn-downloads-');
  const civitai = { baseUrl: hosts.apiUrl, apiKey: KEY, timeoutMs: 5000 };
  server = await startTestServer(
    { libraryRoots: [library], civitai },
    {
      civitai: createCivitaiClient({ ...civitai, initialBackoffMs: 10 }),
      downloadRetry: { maxAttemptsWithoutProgress: 4, initialBackoffMs: 50, maxWaitMs: 5000 },
    },
  );
  catalog = catalogHandle(server);
});

describe('downloadModelVersion', () => {
  it('imports the version, follows the redirect to the storage host, verifies, links and makes the thumbnail', async () => {
    const bytes = modelBytes(3 * MiB, 1);
    // The storage host holds the file's second half until the mutation has answered: a local transfer can otherwise
    // be past downloading before the answer is read back, and the answer's state is what this checks.
    const { modelId, versionIds } = publish([{ bytes, host: { stallAt: MiB } }]);
    const dir = folder('plain');
    const started = await start(versionIds[0]!, dir);
    expect(['QUEUED', 'DOWNLOADING']).toContain(started.state);
    hosts.release(versionIds[0]!);

    // Progress over SSE, as scanProgress: the stream ends with the final state.
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: 'subscription($id: ID!) { downloadProgress(id: $id) { state receivedBytes totalBytes } }',
        variables: { id: started.id },
      }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = (await response.text())
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.length > 6)
      .map((line) => JSON.parse(line.slice(6)))
      .filter((event) => event.data)
      .map((event) => event.data.downloadProgress);
    expect(events.at(-1)).toMatchObject({ state: 'DONE' });
    expect([Number(events.at(-1).receivedBytes), Number(events.at(-1).totalBytes)]).toEqual([
      bytes.length,
      bytes.length,
    ]);

    const done = await waitFor(started.id);
    const target = path.join(dir, `file_${versionIds[0]}.safetensors`);
    expect(done).toMatchObject({
      state: 'DONE',
      localPath: target,
      alreadyPresent: false,
      errorCode: null,
      actualSha256: sha256Hex(bytes),
      modelFile: { localPath: target, isLocalFileValid: true },
    });
    expect(readFileSync(target).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual([path.basename(target)]);
    // The key went to the API host as a Bearer token, never to the storage host.
    const api = hosts.requests.find((r) => r.host === 'api' && r.path === `/api/download/models/${versionIds[0]}`);
    expect(api?.authorization).toBe(`Bearer ${KEY}`);
    expect(hosts.fileRequests(versionIds[0]!).map((r) => r.authorization)).toEqual([undefined]);
    // The scan index holds it with all six hashes; the version's first image became its thumbnail.
    const indexed = await catalog.first(sql`SELECT * FROM "LocalFiles" WHERE "Path" = ${target}`);
    expect(indexed).toMatchObject({ Size: bytes.length, HashSHA256: sha256Hex(bytes) });
    for (const column of ['HashAutoV1', 'HashAutoV3', 'HashCRC32', 'HashBLAKE3'])
      expect(indexed![column], column).toMatch(/^[0-9A-F]+$/);
    const thumbnails = await catalog.value(
      sql`SELECT COUNT(*) FROM "ModelImages" i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId"
       WHERE v."CivitaiId" = ${versionIds[0]} AND i."ThumbnailData" IS NOT NULL`,
    );
    expect(thumbnails).toBe(1);
    // The history says which download linked the file (the change set before it: the version's import).
    const { model } = await data<{
      model: { history: { edges: { node: { source: string; detail: string; jobId: string; changes: unknown[] } }[] } };
    }>(
      `query($m: Int!) { model(civitaiId: $m) { history(first: 5) { edges { node {
        source detail jobId changes { entity field newValue } } } } } }`,
      { m: modelId },
    );
    expect(model.history.edges[0]!.node).toMatchObject({ source: 'download', detail: target, jobId: started.id });
    expect(model.history.edges[0]!.node.changes).toContainEqual({
      entity: 'ModelFile',
      field: 'LocalPath',
      newValue: target,
    });
  });

  it('the next scan does not read a downloaded file again', async () => {
    const { scanLibrary } = await data<{ scanLibrary: { id: string } }>(
      'mutation($r: [String!]!) { scanLibrary(roots: $r) { id } }',
      { r: [folder('plain')] },
    );
    let scan: { status: string; progress: { filesSeen: number; filesHashed: number; filesUnchanged: number } };
    for (;;) {
      scan = (
        await data<{ scanJob: typeof scan }>(
          'query($id: ID!) { scanJob(id: $id) { status progress { filesSeen filesHashed filesUnchanged } } }',
          { id: scanLibrary.id },
        )
      ).scanJob;
      if (scan.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(scan).toMatchObject({ status: 'COMPLETED', progress: { filesSeen: 1, filesHashed: 0, filesUnchanged: 1 } });
  });

  it('a file already in the library is not downloaded again: the job is done at once and says where', async () => {
    const { versionIds } = publish([{ bytes: modelBytes(64 * 1024, 2) }]);
    const first = await waitFor((await start(versionIds[0]!, folder('present-a'))).id);
    expect(first.state).toBe('DONE');
    const transfers = hosts.fileRequests(versionIds[0]!).length;
    const again = await start(versionIds[0]!, folder('present-b'));
    expect(again).toMatchObject({ state: 'DONE', alreadyPresent: true, localPath: first.localPath });
    expect(again.message).toContain(first.localPath);
    expect(hosts.fileRequests(versionIds[0]!)).toHaveLength(transfers);
    expect(readdirSync(folder('present-b'))).toEqual([]);
  });

  it('resumes a connection dropped half-way with Range and ends with the right bytes', async () => {
    const bytes = modelBytes(3 * MiB, 3);
    const half = Math.floor(bytes.length / 2);
    const { versionIds } = publish([{ bytes, host: { dropAt: half } }]);
    const done = await waitFor((await start(versionIds[0]!, folder('dropped'))).id);
    expect(done.state).toBe('DONE');
    expect(readFileSync(done.localPath!).equals(bytes)).toBe(true);
    const requests = hosts.fileRequests(versionIds[0]!);
    expect(requests.map((r) => r.status)).toEqual([200, 206]);
    expect(requests[0]!.range).toBeUndefined();
    // It resumes from what reached the disk: all of the first half, or less when the drop cut off bytes still
    // in flight between the socket and the file (a busy machine).
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(half);
  });

  it('starts again from zero when the server ignores Range', async () => {
    const bytes = modelBytes(3 * MiB, 4);
    const half = Math.floor(bytes.length / 2);
    const { versionIds } = publish([{ bytes, host: { dropAt: half, ignoreRange: true } }]);
    const done = await waitFor((await start(versionIds[0]!, folder('ignores-range'))).id);
    expect(done.state).toBe('DONE');
    expect(readFileSync(done.localPath!).equals(bytes)).toBe(true);
    const requests = hosts.fileRequests(versionIds[0]!);
    // Asked to resume (from what reached the disk), answered with the whole file: written again from zero.
    expect(requests.map((r) => r.status)).toEqual([200, 200]);
    const askedFrom = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
    expect(askedFrom).toBeGreaterThan(0);
    expect(askedFrom).toBeLessThanOrEqual(half);
  });

  it('retries a storage host 401 with ?token=, as the desktop app does', async () => {
    const bytes = modelBytes(32 * 1024, 5);
    const { versionIds } = publish([{ bytes, host: { requireToken: true } }]);
    const done = await waitFor((await start(versionIds[0]!, folder('token'))).id);
    expect(done.state).toBe('DONE');
    expect(hosts.fileRequests(versionIds[0]!).map((r) => r.status)).toEqual([401, 200]);
    const apiCalls = hosts.requests.filter((r) => r.path === `/api/download/models/${versionIds[0]}`);
    expect(apiCalls.map((r) => r.query.get('token'))).toEqual([null, KEY]);
  });

  it('waits as long as a 429 Retry-After says', async () => {
    const bytes = modelBytes(32 * 1024, 6);
    const { versionIds } = publish([{ bytes, host: { tooManyRequests: '1' } }]);
    const done = await waitFor((await start(versionIds[0]!, folder('429'))).id);
    expect(done.state).toBe('DONE');
    const [refused, served] = hosts.fileRequests(versionIds[0]!);
    expect([refused!.status, served!.status]).toEqual([429, 200]);
    expect(served!.at - refused!.at).toBeGreaterThanOrEqual(900);
  });

  it('wrong bytes fail with HASH_MISMATCH and both hashes, leaving nothing in the library; retry fetches the right ones', async () => {
    const bytes = modelBytes(256 * 1024, 7);
    const wrong = modelBytes(256 * 1024, 8);
    const { versionIds } = publish([{ bytes, host: { servedBytes: wrong } }]);
    const dir = folder('mismatch');
    const failed = await waitFor((await start(versionIds[0]!, dir)).id);
    expect(failed).toMatchObject({
      state: 'FAILED',
      errorCode: 'HASH_MISMATCH',
      localPath: null,
      expectedSha256: sha256Hex(bytes),
      actualSha256: sha256Hex(wrong),
    });
    expect(failed.message).toContain(sha256Hex(wrong));
    expect(failed.message).toContain(sha256Hex(bytes));
    expect(readdirSync(dir)).toEqual([]);
    expect(await catalog.all(sql`SELECT 1 FROM "LocalFiles" WHERE "Path" LIKE ${`${dir}%`}`)).toEqual([]);

    hosts.file(versionIds[0]!, { bytes, name: `file_${versionIds[0]}.safetensors` });
    const retried = await data<{ retryDownload: Job }>(`mutation($id: ID!) { retryDownload(id: $id) { ${JOB} } }`, {
      id: failed.id,
    });
    expect(retried.retryDownload.state).not.toBe('FAILED');
    const done = await waitFor(failed.id);
    expect(done).toMatchObject({ state: 'DONE', errorCode: null, actualSha256: sha256Hex(bytes) });
  });

  it('a hostile Content-Disposition cannot name a path, a control or format character, an endless name or another extension', async () => {
    const dir = folder('hostile');
    // `null`: the catalog's name (`file_<version>.safetensors`) is used, as the served one changes the extension.
    const cases: { header: string; expected: string | null }[] = [
      { header: 'attachment; filename="../../etc/x"', expected: null },
      { header: "attachment; filename*=UTF-8''evil%00name%0A.safetensors", expected: 'evilname.safetensors' },
      { header: `attachment; filename="${'a'.repeat(300)}.safetensors"`, expected: `${'a'.repeat(188)}.safetensors` },
      // U+202E (right-to-left override) would show `fdp.exe` as `exe.pdf`; U+200B is invisible.
      { header: "attachment; filename*=UTF-8''%E2%80%AEbidi%E2%80%8B.safetensors", expected: 'bidi.safetensors' },
      { header: "attachment; filename*=UTF-8''%E2%80%AEfdp.exe", expected: null },
      { header: 'attachment; filename=".bashrc"', expected: null },
      { header: 'attachment; filename="model.SafeTensors"', expected: 'model.SafeTensors' },
    ];
    const expectedNames: string[] = [];
    for (const [i, { header, expected }] of cases.entries()) {
      const bytes = modelBytes(16 * 1024, 20 + i);
      const { versionIds } = publish([{ bytes, host: { contentDisposition: header } }]);
      const name = expected ?? `file_${versionIds[0]}.safetensors`;
      expectedNames.push(name);
      const done = await waitFor((await start(versionIds[0]!, dir)).id);
      expect(done.state, header).toBe('DONE');
      expect(done.localPath, header).toBe(path.join(dir, name));
      expect(readFileSync(done.localPath!).equals(bytes)).toBe(true);
    }
    expect(readdirSync(dir).sort()).toEqual(expectedNames.sort());
    expect(readdirSync(dir).some((name) => /[\p{Cc}\p{Cf}]/u.test(name))).toBe(false);
    expect(existsSync(path.join(library, 'etc'))).toBe(false);
  });

  it('never replaces another file: the name gets a suffix', async () => {
    const dir = folder('suffix');
    const bytes = modelBytes(16 * 1024, 30);
    const { versionIds } = publish([{ bytes, fileName: 'taken.safetensors' }]);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'taken.safetensors'), 'someone else');
    const done = await waitFor((await start(versionIds[0]!, dir)).id);
    expect(done.localPath).toBe(path.join(dir, 'taken (1).safetensors'));
    expect(readFileSync(path.join(dir, 'taken.safetensors'), 'utf8')).toBe('someone else');
  });

  it('refuses a root outside the library roots, and bad subfolders, changing nothing', async () => {
    const { versionIds } = publish([{ bytes: modelBytes(16 * 1024, 31) }]);
    const before = await downloadCount();
    const asked = hosts.requests.length;
    const outside = tempDir('dn-outside-');
    for (const [root, sub, code] of [
      [outside, null, 'FORBIDDEN'],
      [`${library}/../..`, null, 'FORBIDDEN'],
      ['relative/dir', null, 'BAD_USER_INPUT'],
      [library, '../escape', 'BAD_USER_INPUT'],
      [library, '/etc', 'BAD_USER_INPUT'],
      [library, 'a\u0000b', 'BAD_USER_INPUT'],
    ] as const) {
      const response = await server.graphql(
        'mutation($v: Int!, $root: String!, $sub: String) { downloadModelVersion(civitaiVersionId: $v, root: $root, subfolder: $sub) { id } }',
        { v: versionIds[0], root, sub },
      );
      expect(response.errors?.[0]?.extensions?.code, `${root} ${sub}`).toBe(code);
    }
    const bad = await server.graphql('mutation { downloadModelVersion(civitaiVersionId: -4, root: "/x") { id } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await downloadCount()).toBe(before);
    expect(hosts.requests.length).toBe(asked);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(path.join(path.dirname(library), 'escape'))).toBe(false);
  });

  it('refuses a subfolder through a symlink that leaves the roots, creating nothing outside them', async () => {
    const { versionIds } = publish([{ bytes: modelBytes(16 * 1024, 35) }]);
    const before = await downloadCount();
    const outside = tempDir('dn-outside-link-');
    const root = folder('links');
    symlinkSync(outside, path.join(root, 'escape'));
    for (const sub of ['escape', 'escape/sub', 'escape/sub/deeper']) {
      const response = await server.graphql(
        'mutation($v: Int!, $root: String!, $sub: String) { downloadModelVersion(civitaiVersionId: $v, root: $root, subfolder: $sub) { id } }',
        { v: versionIds[0], root, sub },
      );
      expect(response.errors?.[0]?.extensions?.code, sub).toBe('FORBIDDEN');
    }
    expect(readdirSync(outside)).toEqual([]);
    expect(await downloadCount()).toBe(before);
    // A link that stays inside the roots is followed; new folders below it are made inside.
    symlinkSync(folder('links-target'), path.join(root, 'inside'));
    const done = await waitFor((await start(versionIds[0]!, root, { sub: 'inside/a/b' })).id);
    expect(done.state).toBe('DONE');
    expect(existsSync(path.join(library, 'links-target', 'a', 'b', `file_${versionIds[0]}.safetensors`))).toBe(true);
  });

  it('fails with DISK_FULL before writing anything when the file cannot fit', async () => {
    const { versionIds } = publish([{ bytes: modelBytes(16 * 1024, 32), sizeKB: 2 ** 40 }]);
    const dir = folder('disk-full');
    const failed = await waitFor((await start(versionIds[0]!, dir)).id);
    expect(failed).toMatchObject({ state: 'FAILED', errorCode: 'DISK_FULL' });
    expect(readdirSync(dir)).toEqual([]);
    expect(hosts.fileRequests(versionIds[0]!)).toEqual([]);
  });

  it('two requests for the same version at once share one job and one transfer', async () => {
    const bytes = modelBytes(512 * 1024, 33);
    const { versionIds } = publish([{ bytes }]);
    const dir = folder('twice');
    const [a, b] = await Promise.all([start(versionIds[0]!, dir), start(versionIds[0]!, dir)]);
    expect(a.id).toBe(b.id);
    expect((await waitFor(a.id)).state).toBe('DONE');
    expect(hosts.fileRequests(versionIds[0]!)).toHaveLength(1);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('writes sidecars other tools read when asked', async () => {
    const bytes = modelBytes(16 * 1024, 34);
    const { versionIds } = publish([{ bytes, fileName: 'with_sidecars.safetensors' }]);
    const dir = folder('sidecars');
    const done = await waitFor((await start(versionIds[0]!, dir, { sidecars: true })).id);
    expect(done.state).toBe('DONE');
    expect(readdirSync(dir).sort()).toEqual([
      'with_sidecars.civitai.info',
      'with_sidecars.preview.webp',
      'with_sidecars.safetensors',
    ]);
    const info = JSON.parse(readFileSync(path.join(dir, 'with_sidecars.civitai.info'), 'utf8'));
    expect(info).toMatchObject({ id: versionIds[0] });
  });

  it('writes the missing sidecars beside a file already present when asked', async () => {
    const bytes = modelBytes(16 * 1024, 36);
    const { versionIds } = publish([{ bytes, fileName: 'present_sidecars.safetensors' }]);
    const dir = folder('present-sidecars');
    const first = await waitFor((await start(versionIds[0]!, dir)).id);
    expect(first.state).toBe('DONE');
    expect(readdirSync(dir)).toEqual(['present_sidecars.safetensors']);
    const transfers = hosts.fileRequests(versionIds[0]!).length;
    const again = await start(versionIds[0]!, folder('present-sidecars-b'), { sidecars: true });
    expect(again).toMatchObject({ state: 'DONE', alreadyPresent: true, localPath: first.localPath });
    expect(again.message).toMatch(/sidecars written: present_sidecars\.civitai\.info, present_sidecars\.preview\.webp/);
    expect(readdirSync(dir).sort()).toEqual([
      'present_sidecars.civitai.info',
      'present_sidecars.preview.webp',
      'present_sidecars.safetensors',
    ]);
    expect(hosts.fileRequests(versionIds[0]!)).toHaveLength(transfers);
  });
});

describe('control', () => {
  it('pause keeps the partial file, resume continues from it; cancel removes it', async () => {
    const bytes = modelBytes(2 * MiB, 40);
    const half = MiB;
    const { versionIds } = publish([{ bytes, host: { stallAt: half } }]);
    const dir = folder('pause');
    const started = await start(versionIds[0]!, dir);
    const part = await waitForPart(dir, half);
    const paused = await data<{ pauseDownload: Job }>(`mutation($id: ID!) { pauseDownload(id: $id) { ${JOB} } }`, {
      id: started.id,
    });
    expect(paused.pauseDownload.state).toBe('PAUSED');
    await waitFor(started.id, (j) => j.state === 'PAUSED');
    expect(statSync(part).size).toBe(half);
    hosts.release(versionIds[0]!);
    await data(`mutation($id: ID!) { resumeDownload(id: $id) { id } }`, { id: started.id });
    const done = await waitFor(started.id);
    expect(done.state).toBe('DONE');
    expect(readFileSync(done.localPath!).equals(bytes)).toBe(true);
    expect(hosts.fileRequests(versionIds[0]!).at(-1)!.range).toBe(`bytes=${half}-`);

    const other = publish([{ bytes: modelBytes(2 * MiB, 41), host: { stallAt: half } }]);
    const cancelDir = folder('cancel');
    const second = await start(other.versionIds[0]!, cancelDir);
    await waitForPart(cancelDir, half);
    const cancelled = await data<{ cancelDownload: Job }>(`mutation($id: ID!) { cancelDownload(id: $id) { ${JOB} } }`, {
      id: second.id,
    });
    expect(cancelled.cancelDownload.state).toBe('CANCELLED');
    await waitFor(second.id, (j) => j.state === 'CANCELLED');
    for (let i = 0; i < 100 && readdirSync(cancelDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(cancelDir)).toEqual([]);
    hosts.release(other.versionIds[0]!);
    // A finished job cannot be paused; an unknown one is NOT_FOUND.
    const refused = await server.graphql(`mutation($id: ID!) { pauseDownload(id: $id) { id } }`, { id: started.id });
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(refused.errors?.[0]?.message).toMatch(/it can be paused only when/);
    for (const [action, word] of [
      ['cancelDownload', 'cancelled'],
      ['retryDownload', 'retried'],
    ] as const) {
      const wrong = await server.graphql(`mutation($id: ID!) { ${action}(id: $id) { id } }`, { id: started.id });
      expect(wrong.errors?.[0]?.message).toMatch(new RegExp(`it can be ${word} only when`));
    }
    const resumeDone = await server.graphql(`mutation($id: ID!) { resumeDownload(id: $id) { id } }`, {
      id: started.id,
    });
    expect(resumeDone.errors?.[0]?.message).toMatch(/it can be resumed only when/);
    const missing = await server.graphql(`mutation { cancelDownload(id: "999999") { id } }`);
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const malformed = await server.graphql(`mutation { cancelDownload(id: "1 OR 1") { id } }`);
    expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('lists jobs newest first, by state, in pages', async () => {
    const page = await data<{
      downloads: { totalCount: number; nodes: Job[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    }>('{ downloads(first: 2) { totalCount nodes { id state } pageInfo { hasNextPage endCursor } } }');
    expect(page.downloads.nodes).toHaveLength(2);
    expect(page.downloads.pageInfo.hasNextPage).toBe(true);
    expect(Number(page.downloads.nodes[0]!.id)).toBeGreaterThan(Number(page.downloads.nodes[1]!.id));
    const next = await data<{ downloads: { nodes: Job[] } }>(
      'query($after: String) { downloads(first: 2, after: $after) { nodes { id } } }',
      { after: page.downloads.pageInfo.endCursor },
    );
    expect(Number(next.downloads.nodes[0]!.id)).toBeLessThan(Number(page.downloads.nodes[1]!.id));
    const failed = await data<{ downloads: { nodes: Job[] } }>('{ downloads(state: FAILED) { nodes { state } } }');
    expect(failed.downloads.nodes.every((j) => j.state === 'FAILED')).toBe(true);
    expect(failed.downloads.nodes.length).toBeGreaterThan(0);
  });
});

describe('downloadUpdates', () => {
  it('fetches the newest version of each outdated model into the folder of its current file', async () => {
    const models = [0, 1].map((i) =>
      publish(
        [
          { bytes: modelBytes(64 * 1024, 50 + i), createdAt: '2026-01-01T00:00:00.000Z' },
          { bytes: modelBytes(64 * 1024, 60 + i), createdAt: '2026-03-01T00:00:00.000Z' },
        ],
        `Outdated ${i}`,
      ),
    );
    // Each model's old version is in the library (downloaded), so each has an update.
    const dirs = [folder('updates/a'), folder('updates/b')];
    for (const [i, model] of models.entries())
      expect((await waitFor((await start(model.versionIds[0]!, dirs[i]!)).id)).state).toBe('DONE');
    const { downloadUpdates } = await data<{
      downloadUpdates: { downloads: Job[]; skipped: { modelDatabaseId: number; reason: string }[] };
    }>(`mutation { downloadUpdates { downloads { ${JOB} } skipped { modelDatabaseId reason } } }`);
    expect(downloadUpdates.skipped).toEqual([]);
    expect(downloadUpdates.downloads).toHaveLength(2);
    const done = await Promise.all(downloadUpdates.downloads.map((j) => waitFor(j.id)));
    for (const [i, model] of models.entries()) {
      const file = path.join(dirs[i]!, `file_${model.versionIds[1]}.safetensors`);
      expect(done.map((j) => j.localPath)).toContain(file);
      expect(existsSync(file)).toBe(true);
    }
    const after = await data<{ downloadUpdates: { downloads: Job[] } }>(
      'mutation { downloadUpdates { downloads { id } } }',
    );
    expect(after.downloadUpdates.downloads).toEqual([]);
  });

  it('says why each model it is asked for has no update to queue, and queues the one that has', async () => {
    const twoVersions = (seed: number, name: string) =>
      publish(
        [
          { bytes: modelBytes(32 * 1024, seed), createdAt: '2026-01-01T00:00:00.000Z' },
          { bytes: modelBytes(32 * 1024, seed + 1), createdAt: '2026-03-01T00:00:00.000Z' },
        ],
        name,
      );
    const current = publish([{ bytes: modelBytes(32 * 1024, 80), createdAt: '2026-01-01T00:00:00.000Z' }], 'Current');
    const newerGone = twoVersions(81, 'Newer gone');
    const ignored = twoVersions(83, 'Ignored');
    const archived = twoVersions(85, 'Archived');
    const outdated = twoVersions(87, 'Outdated');
    const dir = folder('updates/why');
    const all = [current, newerGone, ignored, archived, outdated];
    for (const model of all) expect((await waitFor((await start(model.versionIds[0]!, dir)).id)).state).toBe('DONE');
    const idOf = async (model: { modelId: number }) =>
      Number(await catalog.value(sql`SELECT "Id" FROM "Models" WHERE "CivitaiId" = ${model.modelId}`));
    const [currentId, newerGoneId, ignoredId, archivedId, outdatedId] = await Promise.all(all.map(idOf));
    await catalog.db
      .updateTable('ModelVersions')
      .set({ RemovedFromCivitaiAt: sql`CURRENT_TIMESTAMP` as never })
      .where('CivitaiId', '=', newerGone.versionIds[1]!)
      .execute();
    await catalog.db.updateTable('Models').set({ Mode: 'Archived' }).where('Id', '=', archivedId!).execute();
    await data(`mutation { setIgnoreUpdates(id: "${encodeNodeId('Model', ignoredId!)}", ignore: true) { id } }`);
    const asked = [currentId, newerGoneId, ignoredId, archivedId, 999_999, outdatedId];
    const { downloadUpdates } = await data<{
      downloadUpdates: { downloads: Job[]; skipped: { modelDatabaseId: number; reason: string }[] };
    }>(
      `mutation($ids: [ID!]) { downloadUpdates(modelIds: $ids) { downloads { ${JOB} } skipped { modelDatabaseId reason } } }`,
      {
        ids: asked.map((id) => encodeNodeId('Model', id!)),
      },
    );
    expect(downloadUpdates.skipped).toEqual([
      { modelDatabaseId: currentId, reason: 'It is up to date: Civitai has no version newer than its local file.' },
      { modelDatabaseId: newerGoneId, reason: 'Its versions newer than the local file are gone from Civitai.' },
      { modelDatabaseId: ignoredId, reason: 'Its updates are ignored (setIgnoreUpdates).' },
      { modelDatabaseId: archivedId, reason: 'It is gone from Civitai: there is nothing to download.' },
      { modelDatabaseId: 999_999, reason: 'There is no model with this id.' },
    ]);
    expect(downloadUpdates.downloads).toHaveLength(1);
    const done = await waitFor(downloadUpdates.downloads[0]!.id);
    expect(done.localPath).toBe(path.join(dir, `file_${outdated.versionIds[1]}.safetensors`));
  });
});

describe('names', () => {
  it('sanitises file names from servers', () => {
    expect(fileNameFromContentDisposition('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(fileNameFromContentDisposition('attachment; filename="..\\..\\win.ini"')).toBe('win.ini');
    expect(fileNameFromContentDisposition('attachment; filename=".."')).toBeNull();
    expect(fileNameFromContentDisposition('attachment; filename="CON.safetensors"')).toBe('_CON.safetensors');
    expect(fileNameFromContentDisposition("attachment; filename*=UTF-8''%E2%9C%93%20ok.safetensors")).toBe(
      '✓ ok.safetensors',
    );
    expect(fileNameFromContentDisposition(`attachment; filename="${'x'.repeat(3000)}"`)).toBeNull();
    expect(fileNameFromContentDisposition('inline')).toBeNull();
    expect(sanitizeFileName('.hidden.safetensors')).toBe('hidden.safetensors');
    expect(fileNameFromContentDisposition("attachment; filename*=UTF-8''%E2%80%AEfdp.exe")).toBe('fdp.exe');
    expect(sanitizeFileName('a\u200b\u2066b\ufeff\u00ad.safetensors')).toBe('ab.safetensors');
    expect(chooseFileName('fdp.exe', 'model.safetensors', 'x.bin')).toBe('model.safetensors');
    expect(chooseFileName('x', 'model.safetensors', 'x.bin')).toBe('model.safetensors');
    expect(chooseFileName('bashrc', 'model.safetensors', 'x.bin')).toBe('model.safetensors');
    expect(chooseFileName('other.SAFETENSORS', 'model.safetensors', 'x.bin')).toBe('other.SAFETENSORS');
    expect(chooseFileName(null, '\u202emodel.safetensors', 'x.bin')).toBe('model.safetensors');
    expect(chooseFileName('y.safetensors', null, 'x.bin')).toBe('x.bin');
    expect(Buffer.byteLength(sanitizeFileName(`${'é'.repeat(300)}.safetensors`)!)).toBeLessThanOrEqual(200);
  });

  it('reads version ids and civitai.com URLs, refusing anything else with a coded error', () => {
    expect(parseDownloadTarget('1255556')).toEqual({ kind: 'version', versionId: 1255556 });
    expect(parseDownloadTarget('https://civitai.com/models/215485?modelVersionId=242807')).toEqual({
      kind: 'version',
      versionId: 242807,
    });
    expect(parseDownloadTarget('https://civitai.com/api/download/models/242807')).toEqual({
      kind: 'version',
      versionId: 242807,
    });
    expect(parseDownloadTarget('https://civitai.com/models/215485/some-name')).toEqual({
      kind: 'model',
      modelId: 215485,
    });
    expect(parseDownloadTarget('https://www.civitai.com/models/5')).toEqual({ kind: 'model', modelId: 5 });
    expect(parseDownloadTarget('https://civitai.red/models/5')).toEqual({ kind: 'model', modelId: 5 });
    expect(parseDownloadTarget('http://127.0.0.1:4321/models/5', 'http://127.0.0.1:4321')).toEqual({
      kind: 'model',
      modelId: 5,
    });
    expect(() => parseDownloadTarget('https://example.com/models/1')).toThrow(/example\.com.*not a Civitai URL/);
    for (const bad of [
      'https://example.com/models/1',
      'https://civitai.com.example.com/models/1',
      'https://evilcivitai.com/models/1',
      'http://127.0.0.1:9/models/5',
      '0',
      '99999999999',
      'file:///etc/passwd',
      'https://civitai.com/images/5',
      `https://x/${'a'.repeat(3000)}`,
      'abc',
    ])
      expect(() => parseDownloadTarget(bad), bad).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/BAD_USER_INPUT|LIMIT_EXCEEDED/) }),
      );
  });
});
