/**
 * The download queue with several servers taking jobs: real server processes on one PostgreSQL catalog, a local API
 * and storage host whose transfers stall half-way until released. A server queues a dozen downloads and is killed in
 * the middle of the first; two servers then take over its jobs (a job whose owner process is gone is anyone's) until
 * each runs two stalled transfers; all are released at once, so both servers reach for the remaining jobs at the same
 * moments. Every job must run exactly once: one transfer per file (the interrupted one resumed once with Range), one
 * file in the library each, nothing left leased.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { createCivitaiClient } from '../src/civitai/client.ts';
import { migrateCatalog, openCatalog } from '../src/db/open-catalog.ts';
import { insertDownload } from '../src/db/tables/downloads.ts';
import { DownloadQueue } from '../src/downloads/queue.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { type DownloadHosts, startDownloadHosts } from './helpers/download-hosts.ts';
import { type ChildServer, startChildServer } from './helpers/hostile.ts';
import { randomBytes, safetensorsBytes, sha256Hex } from './helpers/library.ts';
import { freshPostgresDatabase, type PostgresTarget } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

const KEY = 'queue-test-key';
const JOBS = 12;

let hosts: DownloadHosts;
let target: PostgresTarget;
let library: string;

/** A server on the shared catalog, running `concurrency` downloads at once. */
function server(concurrency: number): Promise<ChildServer> {
  return startChildServer(path.join(tempDir('dn-queue-'), 'data'), {
    DIFFUSION_NEXUS_DATABASE_URL: target.url,
    CIVITAI_BASE_URL: hosts.apiUrl,
    CIVITAI_API_KEY: KEY,
    DIFFUSION_NEXUS_LIBRARY_ROOTS: library,
    DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY: String(concurrency),
  });
}

async function post<T>(server: ChildServer, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/** A model with one version whose one file is `bytes`, on the hosts. */
function publish(n: number, bytes: Buffer, stallAt?: number): number {
  return publishModel(n, bytes, stallAt).versionId;
}

/** `publish`, with the model payload as the hosts serve it. */
function publishModel(n: number, bytes: Buffer, stallAt?: number): { versionId: number; payload: unknown } {
  const modelId = 50_000 + n * 10;
  const versionId = modelId + 1;
  const version = {
    id: versionId,
    modelId,
    name: `v${versionId}`,
    baseModel: 'SDXL 1.0',
    files: [
      {
        id: modelId + 2,
        name: `queued_${n}.safetensors`,
        sizeKB: bytes.length / 1024,
        type: 'Model',
        primary: true,
        metadata: { format: 'SafeTensor' },
        hashes: { SHA256: sha256Hex(bytes) },
      },
    ],
    images: [],
  };
  const model = { name: `Queued ${n}`, type: 'LORA', nsfw: false, poi: false };
  const payload = { id: modelId, ...model, tags: [], creator: { username: 'queue' }, modelVersions: [version] };
  hosts.payload(`models/${modelId}`, payload);
  hosts.payload(`model-versions/${versionId}`, { ...version, model });
  hosts.file(versionId, { bytes, name: `queued_${n}.safetensors`, ...(stallAt ? { stallAt } : {}) });
  return { versionId, payload };
}

beforeAll(async () => {
  hosts = await startDownloadHosts(KEY);
  target = await freshPostgresDatabase();
  await migrateCatalog(target);
  library = tempDir('dn-queue-lib-');
});

const QUEUE = 'mutation($v: Int!, $root: String!) { downloadModelVersion(civitaiVersionId: $v, root: $root) { id } }';
type Job = { state: string; attempts: number; localPath: string | null; message: string | null };
const JOB = 'query($id: ID!) { download(id: $id) { state attempts localPath message } }';

/** Waits until the library holds `count` .part files of `bytes` bytes each. */
async function waitForParts(count: number, bytes: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const parts = readdirSync(library).filter(
      (name) => name.endsWith('.part') && statSync(path.join(library, name)).size === bytes,
    );
    if (parts.length === count) return;
    if (Date.now() > deadline) throw new Error(`${parts.length} .part files of ${bytes} bytes, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('two servers taking over the download queue of a killed one', () => {
  it('runs each job exactly once', async () => {
    const files = Array.from({ length: JOBS }, (_, n) => safetensorsBytes({}, randomBytes(256 * 1024 + n, 700 + n)));
    const half = 128 * 1024;
    const versions = files.map((bytes, n) => publish(n, bytes, half));

    // One download at a time: the first stalls half-way, the others wait in the queue, leased by this server.
    const first = await server(1);
    const queued: string[] = [];
    for (const v of versions)
      queued.push(
        (await post<{ downloadModelVersion: { id: string } }>(first, QUEUE, { v, root: library })).downloadModelVersion
          .id,
      );
    await waitForParts(1, half);
    expect((await post<{ download: Job }>(first, JOB, { id: queued[1] })).download.state).toBe('QUEUED');
    process.kill(first.pid, 'SIGKILL');
    await first.stop();
    hosts.release(versions[0]!);

    // Both take over the dead server's jobs until each runs two stalled transfers; then all go on at once.
    const servers = await Promise.all([server(2), server(2)]);
    await waitForParts(4, half);
    for (const v of versions) hosts.release(v);
    const deadline = Date.now() + 90_000;
    let jobs: Job[] = [];
    for (;;) {
      jobs = await Promise.all(
        queued.map(async (id, n) => (await post<{ download: Job }>(servers[n % 2]!, JOB, { id })).download),
      );
      if (jobs.every((job) => ['DONE', 'FAILED', 'CANCELLED'].includes(job.state)) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [n, job] of jobs.entries()) {
      expect(job, `job ${n}`).toMatchObject({ state: 'DONE', attempts: n === 0 ? 2 : 1 });
      expect(readFileSync(job.localPath!).equals(files[n]!), `job ${n}`).toBe(true);
      // The interrupted transfer resumed once from its .part file; every other file was fetched once.
      expect(
        hosts.fileRequests(versions[n]!).map((r) => r.range),
        `transfers of job ${n}`,
      ).toEqual(n === 0 ? [undefined, `bytes=${half}-`] : [undefined]);
    }
    // One file each in the library: no second copy, no .part left by a second runner.
    expect(readdirSync(library).sort()).toEqual(files.map((_, n) => `queued_${n}.safetensors`).sort());
    const rows = catalogHandle({ databasePath: '', database: target });
    expect(await rows.value(sql`SELECT COUNT(*) FROM "Downloads" WHERE "State" = 'DONE'`)).toBe(JOBS);
    expect(await rows.value(sql`SELECT COUNT(*) FROM "Downloads" WHERE "LeaseOwner" IS NOT NULL`)).toBe(0);
  });
});

describe('two queues claiming at the same moment', () => {
  it('resumes each interrupted job once', async () => {
    // Two queues in this process, each with its own connections as two servers' are, reach at the same moment for
    // jobs a dead process was downloading (its .part files half full on disk). Each must be taken over by one.
    const own = tempDir('dn-queue-race-');
    const dead = spawnSync('true').pid!;
    const setup = await openCatalog(target);
    const files = Array.from({ length: JOBS }, (_, n) => safetensorsBytes({}, randomBytes(64 * 1024 + n, 900 + n)));
    const half = 32 * 1024;
    const published = files.map((bytes, n) => publishModel(100 + n, bytes));
    const ids: number[] = [];
    try {
      for (const { payload } of published) await importPayload(setup, payload, 'race');
      for (const [n, { versionId }] of published.entries()) {
        const file = await setup.kysely
          .selectFrom('ModelFiles as f')
          .innerJoin('ModelVersions as v', 'v.Id', 'f.ModelVersionId')
          .select(['f.Id', 'f.CivitaiId', 'f.HashSHA256'])
          .where('v.CivitaiId', '=', versionId)
          .executeTakeFirstOrThrow();
        const partPath = path.join(own, `queued_${100 + n}.safetensors.part`);
        writeFileSync(partPath, files[n]!.subarray(0, half));
        const now = new Date();
        ids.push(
          await setup.write((trx) =>
            insertDownload(trx, {
              VersionCivitaiId: versionId,
              FileCivitaiId: file.CivitaiId,
              ModelFileId: file.Id,
              TargetDir: own,
              Sidecars: false,
              ExpectedSHA256: file.HashSHA256,
              State: 'DOWNLOADING',
              AlreadyPresent: false,
              PartPath: partPath,
              // The storage host's ETag of these bytes (see download-hosts.ts), so the .part file is continued.
              ETag: `"${createHash('sha256').update(files[n]!).digest('hex').slice(0, 16)}"`,
              TotalBytes: BigInt(files[n]!.length),
              ReceivedBytes: BigInt(half),
              Attempts: 1,
              LeaseOwner: `${os.hostname()}:${dead}:gone`,
              LeaseUntil: new Date(now.getTime() + 60_000),
              CreatedAt: now,
              UpdatedAt: now,
              StartedAt: now,
            }),
          ),
        );
      }
    } finally {
      await setup.close();
    }
    const settings = { baseUrl: hosts.apiUrl, apiKey: KEY, timeoutMs: 5000 };
    const queues = await Promise.all(
      [1, 2].map(async () => {
        const db = await openCatalog(target);
        // Connections open and warm, so both queues' first claims start together.
        await db.write((trx) => trx.selectFrom('Downloads').select('Id').limit(1).execute());
        await db.kysely.selectFrom('Downloads').select('Id').limit(1).execute();
        const queue = new DownloadQueue({
          db,
          civitai: createCivitaiClient(settings),
          civitaiSettings: settings,
          libraryRoots: [own],
          thumbnailSide: 320,
          concurrency: 2,
          scope: 'all',
        });
        return { db, queue };
      }),
    );
    const rows = catalogHandle({ databasePath: '', database: target });
    try {
      await Promise.all(queues.map(({ queue }) => queue.start()));
      const deadline = Date.now() + 60_000;
      while (
        Number(await rows.value(sql`SELECT COUNT(*) FROM "Downloads" WHERE "Id" = ANY(${ids}) AND "State" = 'DONE'`)) <
          JOBS &&
        Date.now() < deadline
      )
        await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      for (const { db, queue } of queues) {
        await queue.stopAll();
        await db.close();
      }
    }
    const jobs = await rows.all<{ State: string; Attempts: number }>(
      sql`SELECT "State", "Attempts" FROM "Downloads" WHERE "Id" = ANY(${ids}) ORDER BY "Id"`,
    );
    expect(jobs).toEqual(ids.map(() => ({ State: 'DONE', Attempts: 2 })));
    for (const [n, { versionId }] of published.entries()) {
      expect(
        hosts.fileRequests(versionId).map((r) => r.range),
        `transfers of job ${n}`,
      ).toEqual([`bytes=${half}-`]);
      expect(readFileSync(path.join(own, `queued_${100 + n}.safetensors`)).equals(files[n]!)).toBe(true);
    }
    expect(readdirSync(own).sort()).toEqual(files.map((_, n) => `queued_${100 + n}.safetensors`).sort());
  });
});
