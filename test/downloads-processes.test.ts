/**
 * Downloads across real processes: the CLI's `download` command (its own queue on the same kind of catalog), and a
 * server killed with SIGKILL in the middle of a transfer whose job the next server resumes from the .part file.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliCatalog, cliCatalog } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { cli, outcome, spawnCli } from './helpers/cli.ts';
import { startDownloadHosts, type DownloadHosts } from './helpers/download-hosts.ts';
import { randomBytes, safetensorsBytes, sha256Hex } from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';

const KEY = 'download-process-key';
let hosts: DownloadHosts;
let nextId = 9100;

function publish(bytes: Buffer, host: { stallAt?: number } = {}) {
  const modelId = nextId++;
  const versionId = nextId++;
  const version = {
    id: versionId,
    modelId,
    name: `v${versionId}`,
    baseModel: 'SDXL 1.0',
    files: [
      {
        id: nextId++,
        name: `proc_${versionId}.safetensors`,
        sizeKB: bytes.length / 1024,
        type: 'Model',
        primary: true,
        metadata: { format: 'SafeTensor' },
        hashes: { SHA256: sha256Hex(bytes) },
      },
    ],
    images: [],
  };
  hosts.payload(`models/${modelId}`, {
    id: modelId,
    name: `Process ${modelId}`,
    type: 'LORA',
    nsfw: false,
    poi: false,
    tags: [],
    creator: { username: 'process-test' },
    modelVersions: [version],
  });
  hosts.payload(`model-versions/${versionId}`, { ...version, model: { name: `Process ${modelId}`, type: 'LORA' } });
  hosts.file(versionId, { bytes, name: `proc_${versionId}.safetensors`, ...host });
  return { modelId, versionId };
}

function env(libraryRoots: string): NodeJS.ProcessEnv {
  return {
    CIVITAI_BASE_URL: hosts.apiUrl,
    CIVITAI_API_KEY: KEY,
    DIFFUSION_NEXUS_LIBRARY_ROOTS: libraryRoots,
    DIFFUSION_NEXUS_LOG_FORMAT: 'json',
  };
}

beforeAll(async () => {
  hosts = await startDownloadHosts(KEY);
});

async function downloadRows(catalog: CliCatalog): Promise<{ Id: number; State: string; LeaseOwner: string | null }[]> {
  const db = catalogHandle(catalog.location);
  try {
    return await db.all(sql`SELECT "Id", "State", "LeaseOwner" FROM "Downloads" ORDER BY "Id"`);
  } finally {
    await db.close();
  }
}

/** Waits until `dir` holds a .part file of `bytes` bytes. */
async function waitForPart(dir: string, bytes: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const part = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.part')) : undefined;
    if (part && statSync(path.join(dir, part)).size === bytes) return path.join(dir, part);
    if (Date.now() > deadline) throw new Error(`no .part file of ${bytes} bytes in ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the download command', () => {
  it('downloads versions named by id and by URL, prints a summary, and finds them present the second time', async () => {
    const dir = tempDir('dn-cli-download-');
    const to = path.join(dir, 'models');
    mkdirSync(to);
    const catalog = await cliCatalog();
    const a = safetensorsBytes({}, randomBytes(200_000, 1));
    const b = safetensorsBytes({}, randomBytes(300_000, 2));
    const first = publish(a);
    const second = publish(b);
    const args = [
      'download',
      String(first.versionId),
      `https://civitai.com/models/${second.modelId}?modelVersionId=${second.versionId}`,
      '--to',
      to,
      ...catalog.args,
    ];
    const run = await cli(args, undefined, env(''));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^2 downloaded \(0\.5 MB\), 0 already present, 0 failed\.$/m);
    expect(readFileSync(path.join(to, `proc_${first.versionId}.safetensors`)).equals(a)).toBe(true);
    expect(readFileSync(path.join(to, `proc_${second.versionId}.safetensors`)).equals(b)).toBe(true);

    const again = await cli(args, undefined, env(''));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^0 downloaded \(0\.0 MB\), 2 already present, 0 failed\.$/m);
    expect(readdirSync(to)).toHaveLength(2);
  }, 120_000);

  it('usage errors exit 2 and change nothing', async () => {
    const dir = tempDir('dn-cli-download-');
    const catalog = await cliCatalog();
    const noTo = await cli(['download', '123', ...catalog.args], undefined, env(''));
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/^error \[BAD_USER_INPUT\]: Say where to download with --to DIR\./);
    const badTarget = await cli(['download', 'file:///etc/passwd', '--to', dir, ...catalog.args], undefined, env(''));
    expect(badTarget.code).toBe(2);
    const outside = await cli(['download', '123', '--to', dir, ...catalog.args], undefined, env(tempDir()));
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/^error \[FORBIDDEN\]: .* is outside the library roots/m);
    const otherHost = await cli(
      ['download', 'https://example.com/models/1', '--to', dir, ...catalog.args],
      undefined,
      env(''),
    );
    expect(otherHost.code).toBe(2);
    expect(otherHost.stderr).toMatch(
      /^error \[BAD_USER_INPUT\]: "https:\/\/example\.com\/models\/1" is not a Civitai URL/m,
    );
    expect(existsSync(catalog.dataDir)).toBe(false);
    // On PostgreSQL, the database is as it was: not even migrated.
    if (catalog.location.database.engine === 'postgres')
      expect(
        await catalogHandle(catalog.location).value(
          sql`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'`,
        ),
      ).toBe(0);
  }, 120_000);

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    it(`${signal} pauses the running download (exit ${code}); the same command again resumes it with Range`, async () => {
      const dir = tempDir('dn-cli-signal-');
      const to = path.join(dir, 'models');
      mkdirSync(to);
      const catalog = await cliCatalog();
      const bytes = safetensorsBytes({}, randomBytes(2 * 1024 * 1024, 4));
      const half = 1024 * 1024 + 777;
      const { versionId } = publish(bytes, { stallAt: half });
      const args = ['download', String(versionId), '--to', to, ...catalog.args];
      const child = spawnCli(args, env(''));
      const run = outcome(child);
      child.stdin.end();
      const part = await waitForPart(to, half);
      child.kill(signal);
      const stopped = await run;
      expect(stopped.signal).toBeNull();
      expect(stopped.code, stopped.stderr).toBe(code);
      expect(stopped.stderr).toMatch(
        new RegExp(`^download stopped: ${signal} received \\(run the same command again to resume\\)\\.$`, 'm'),
      );
      expect(stopped.stderr).toMatch(new RegExp(`^paused: version ${versionId} \\(download \\d+\\)$`, 'm'));
      expect(stopped.stdout).toMatch(/^0 downloaded \(0\.0 MB\), 0 already present, 0 failed, 1 stopped\.$/m);
      expect(await downloadRows(catalog)).toEqual([expect.objectContaining({ State: 'PAUSED', LeaseOwner: null })]);
      expect(statSync(part).size).toBe(half);

      hosts.release(versionId);
      const again = await cli(args, undefined, env(''));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^1 downloaded \(2\.0 MB\), 0 already present, 0 failed\.$/m);
      expect(readFileSync(path.join(to, `proc_${versionId}.safetensors`)).equals(bytes)).toBe(true);
      expect(hosts.fileRequests(versionId).map((r) => r.range)).toEqual([undefined, `bytes=${half}-`]);
      expect(readdirSync(to)).toEqual([`proc_${versionId}.safetensors`]);
      expect(await downloadRows(catalog)).toEqual([expect.objectContaining({ State: 'DONE' })]);
    }, 180_000);
});

/** Starts `serve` in a child process; resolves with its URL once it listens. */
async function startServe(
  catalog: CliCatalog,
  library: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawnCli(['serve', '--port', '0', ...catalog.args], env(library));
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${output}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(`${match[1]}/graphql`);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', () => reject(new Error(`serve exited: ${output}`)));
  });
  return { child, url };
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

describe('the download command and a server downloading the same version', () => {
  it("joins the server's job, says so, waits for it and prints the summary", async () => {
    const dir = tempDir('dn-cli-join-');
    const library = path.join(dir, 'library');
    mkdirSync(library);
    const catalog = await cliCatalog();
    const bytes = safetensorsBytes({}, randomBytes(2 * 1024 * 1024, 5));
    const half = 1024 * 1024 + 99;
    const { versionId } = publish(bytes, { stallAt: half });
    const server = await startServe(catalog, library);
    try {
      const { downloadModelVersion } = await graphql<{ downloadModelVersion: { id: string } }>(
        server.url,
        'mutation($v: Int!, $root: String!) { downloadModelVersion(civitaiVersionId: $v, root: $root) { id } }',
        { v: versionId, root: library },
      );
      await waitForPart(library, half);
      const child = spawnCli(['download', String(versionId), '--to', library, ...catalog.args], env(library));
      const run = outcome(child);
      child.stdin.end();
      let printed = '';
      child.stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
      });
      const deadline = Date.now() + 60_000;
      while (!/joined download/.test(printed) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(printed).toMatch(
        new RegExp(`^joined download ${downloadModelVersion.id} of version ${versionId}: another process`, 'm'),
      );
      hosts.release(versionId);
      const joined = await run;
      expect(joined.code, joined.stderr).toBe(0);
      expect(joined.stdout).toMatch(new RegExp(`^downloaded: ${library}/proc_${versionId}\\.safetensors$`, 'm'));
      expect(joined.stdout).toMatch(/^1 downloaded \(2\.0 MB\), 0 already present, 0 failed\.$/m);
      expect(hosts.fileRequests(versionId)).toHaveLength(1);
      expect(readFileSync(path.join(library, `proc_${versionId}.safetensors`)).equals(bytes)).toBe(true);
    } finally {
      const stopped = new Promise((resolve) => server.child.on('exit', resolve));
      server.child.kill('SIGTERM');
      await stopped;
    }
  }, 180_000);
});

describe('a server killed in the middle of a download', () => {
  it('leaves the job to the next server, which resumes it from the .part file', async () => {
    const dir = tempDir('dn-restart-');
    const library = path.join(dir, 'library');
    mkdirSync(library);
    const catalog = await cliCatalog();
    const bytes = safetensorsBytes({}, randomBytes(3 * 1024 * 1024, 3));
    const half = 1024 * 1024 + 12_345;
    const { versionId } = publish(bytes, { stallAt: half });

    const first = await startServe(catalog, library);
    const { downloadModelVersion } = await graphql<{ downloadModelVersion: { id: string } }>(
      first.url,
      'mutation($v: Int!, $root: String!) { downloadModelVersion(civitaiVersionId: $v, root: $root) { id } }',
      { v: versionId, root: library },
    );
    // Half the bytes are on disk when the server dies without a chance to clean up.
    const deadline = Date.now() + 60_000;
    let part: string | undefined;
    while (Date.now() < deadline) {
      part = readdirSync(library).find((name) => name.endsWith('.part'));
      if (part && statSync(path.join(library, part)).size === half) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(part && statSync(path.join(library, part)).size).toBe(half);
    const exited = new Promise((resolve) => first.child.on('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    hosts.release(versionId);

    const second = await startServe(catalog, library);
    try {
      type Job = { state: string; localPath: string | null; attempts: number };
      let job: Job | null = null;
      while (Date.now() < deadline + 60_000) {
        job = (
          await graphql<{ download: Job | null }>(
            second.url,
            'query($id: ID!) { download(id: $id) { state localPath attempts } }',
            { id: downloadModelVersion.id },
          )
        ).download;
        if (job && ['DONE', 'FAILED'].includes(job.state)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(job).toMatchObject({ state: 'DONE', attempts: 2 });
      expect(readFileSync(job!.localPath!).equals(bytes)).toBe(true);
      expect(hosts.fileRequests(versionId).map((r) => r.range)).toEqual([undefined, `bytes=${half}-`]);
      expect(readdirSync(library)).toEqual([path.basename(job!.localPath!)]);
    } finally {
      const stopped = new Promise((resolve) => second.child.on('exit', resolve));
      second.child.kill('SIGTERM');
      await stopped;
    }
  }, 180_000);
});
