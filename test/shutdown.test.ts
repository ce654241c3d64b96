/**
 * SIGTERM ends the server and the CLI within a few seconds whatever a job is doing (hardening round 2): a scan that
 * met a FIFO beside a model file (which once held a thread forever, and with it the process), and a scan in the
 * middle of hashing a 16 GiB file (sparse, so it costs no disk).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyCatalog, seededCatalog } from './helpers/catalog.ts';
import { outcome, spawnCli } from './helpers/cli.ts';
import { startChildServer } from './helpers/hostile.ts';
import { safetensorsBytes, writeFile } from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';

function hugeLibrary(): string {
  const root = path.join(tempDir('dn-shutdown-'), 'library');
  const file = writeFile(
    path.join(root, 'huge.safetensors'),
    safetensorsBytes({ ss_output_name: 'huge' }, Buffer.alloc(64)),
  );
  const fd = openSync(file, 'r+');
  ftruncateSync(fd, 16 * 1024 * 1024 * 1024);
  closeSync(fd);
  return root;
}

/** Waits (at most a minute) until process `pid` has `file` open. */
async function waitUntilOpen(pid: number, file: string): Promise<void> {
  const until = performance.now() + 60_000;
  for (;;) {
    let open = false;
    try {
      open = readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
        } catch {
          return false; // closed meanwhile
        }
      });
    } catch {
      // the process is gone: the wait below fails
    }
    if (open) return;
    if (performance.now() > until) throw new Error(`${file} was not opened within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe('SIGTERM during a long job', () => {
  it('ends the server within a few seconds after a scan met a FIFO sidecar', async () => {
    const root = path.join(tempDir('dn-shutdown-fifo-'), 'library');
    writeFile(path.join(root, 'small.safetensors'), safetensorsBytes({ ss_output_name: 'small' }, Buffer.alloc(64)));
    execFileSync('mkfifo', [path.join(root, 'small.civitai.info')]);
    const catalog = await seededCatalog({ models: 2, thumbnails: 'none' });
    const server = await startChildServer(catalog.dataDir, { DIFFUSION_NEXUS_LIBRARY_ROOTS: root });
    const post = (query: string) =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      }).then((r) => r.json() as Promise<any>);
    await post(`mutation { scanLibrary(roots: ["${root}"]) { id } }`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.kill(server.pid, 'SIGTERM');
    expect(await exitedWithin(server.pid, 5000)).toBe(true);
  });

  it('ends the server within a few seconds while a scan hashes a huge file', async () => {
    const root = hugeLibrary();
    const catalog = await seededCatalog({ models: 2, thumbnails: 'none' });
    const server = await startChildServer(catalog.dataDir, { DIFFUSION_NEXUS_LIBRARY_ROOTS: root });
    const post = (query: string) =>
      fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      }).then((r) => r.json() as Promise<any>);
    const job = await post(`mutation { scanLibrary(roots: ["${root}"]) { id } }`);
    const id = job.data.scanLibrary.id as string;
    for (let i = 0; i < 100; i++) {
      const state = await post(`{ scanJob(id: "${id}") { progress { phase bytesHashed } } }`);
      if (state.data.scanJob.progress.phase === 'HASHING' && Number(state.data.scanJob.progress.bytesHashed) === 0)
        break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalled = performance.now();
    process.kill(server.pid, 'SIGTERM');
    expect(await exitedWithin(server.pid, 5000)).toBe(true);
    expect(performance.now() - signalled).toBeLessThan(5000);
  });

  it('ends the CLI scan within a few seconds', async () => {
    const root = hugeLibrary();
    // On the suite's engine, migrated already: the CLI's start-up is only its own.
    const catalog = await emptyCatalog();
    const child = spawnCli(['scan', root, ...catalog.args], { DIFFUSION_NEXUS_LIBRARY_ROOTS: '' });
    const done = outcome(child);
    // Signalled once it hashes the huge file (its hashing threads hold it open), which takes far longer than this
    // test: before that, the signal would meet start-up, not a long job.
    await waitUntilOpen(child.pid!, path.join(root, 'huge.safetensors'));
    const signalled = performance.now();
    child.kill('SIGTERM');
    const run = await done;
    expect(performance.now() - signalled).toBeLessThan(5000);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/SIGTERM/);
  });
});
