/**
 * SIGTERM ends the server and the CLI within a few seconds whatever a job is doing (hardening round 2): a scan that
 * met a FIFO beside a model file (which once held a thread forever, and with it the process), and a scan in the
 * middle of hashing a 16 GiB file (sparse, so it costs no disk).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, ftruncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededCatalog } from './helpers/catalog.ts';
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
    const dataDir = path.join(tempDir('dn-shutdown-cli-'), 'data');
    const child = spawnCli(['scan', root, '--data-dir', dataDir], { DIFFUSION_NEXUS_LIBRARY_ROOTS: '' });
    const done = outcome(child);
    // Start-up and migration take a few seconds; hashing 16 GiB takes far longer than that.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const signalled = performance.now();
    child.kill('SIGTERM');
    const run = await done;
    expect(performance.now() - signalled).toBeLessThan(5000);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/SIGTERM/);
  });
});
