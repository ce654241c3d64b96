/**
 * Download throughput: a file served by a local HTTP server (127.0.0.1, the API host redirecting to it as Civitai's
 * does), fetched by our transfer — streamed to a .part file while all six hashes are computed, the SHA-256 compared,
 * then synced and moved into place — against `curl` writing the same file followed by `sha256sum` of it (ratio of
 * MiB/s). Both write into the same folder; runs alternate, the best of each counts.
 * Alone: `node --import tsx bench/download-bench.ts [--mib N] [--rounds N] [--cache-dir DIR]`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { placeFile } from '../src/downloads/placement.ts';
import { DEFAULT_RETRY_POLICY, transferFile } from '../src/downloads/transfer.ts';
import { StreamHasher } from '../src/library/hashing/stream-hasher.ts';
import { DEFAULT_CACHE_DIR } from './catalog.ts';
import { benchFile } from './hashing-bench.ts';

export interface DownloadBenchResult {
  fileMiB: number;
  /** MiB/s of our transfer with verification (six hashes, compared, synced, placed). */
  oursMiBPerSecond: number;
  /** MiB/s of `curl -o` then `sha256sum`, or null where either is not installed. */
  curlMiBPerSecond: number | null;
  ratio: number | null;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').toUpperCase();
}

/** Asynchronous: the server curl talks to runs on this process's event loop. */
async function curlAndSha256sum(url: string, out: string): Promise<{ seconds: number; hash: string } | null> {
  const run = promisify(execFile);
  const started = performance.now();
  try {
    await run('curl', ['-s', '-f', '-L', '-o', out, url]);
    const { stdout } = await run('sha256sum', [out], { encoding: 'utf8' });
    return { seconds: (performance.now() - started) / 1000, hash: stdout.split(/\s+/)[0]!.toUpperCase() };
  } catch {
    return null;
  }
}

export async function runDownloadBench(
  cacheDir: string,
  mib: number,
  rounds: number,
  log: (line: string) => void,
): Promise<DownloadBenchResult> {
  const source = await benchFile(cacheDir, mib);
  const size = statSync(source).size;
  const expected = await sha256Of(source);
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/api/download/models/')) {
      res.writeHead(302, { location: '/file' }).end();
      return;
    }
    res.writeHead(200, {
      'content-length': String(size),
      'content-type': 'application/octet-stream',
      etag: '"bench"',
      'content-disposition': 'attachment; filename="bench.safetensors"',
    });
    createReadStream(source).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const outDir = path.join(cacheDir, 'download-bench-out');
  const hasher = new StreamHasher();
  const ours: number[] = [];
  const curl: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      rmSync(outDir, { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
      const started = performance.now();
      const result = await transferFile({
        url: `${origin}/api/download/models/1`,
        apiKey: null,
        partPath: path.join(outDir, 'bench.safetensors.part'),
        etag: null,
        expectedBytes: size,
        signal: new AbortController().signal,
        hasher,
        idleTimeoutMs: 30_000,
        retry: DEFAULT_RETRY_POLICY,
        onResponse: async () => undefined,
        onProgress: () => undefined,
        log: () => undefined,
      });
      if (result.hashes.sha256 !== expected) throw new Error(`SHA256 differs: ${result.hashes.sha256} vs ${expected}`);
      await placeFile(path.join(outDir, 'bench.safetensors.part'), outDir, result.suggestedName ?? 'bench.bin');
      ours.push((performance.now() - started) / 1000);

      rmSync(outDir, { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
      const reference = await curlAndSha256sum(`${origin}/api/download/models/1`, path.join(outDir, 'curl.bin'));
      if (reference) {
        if (reference.hash !== expected) throw new Error(`curl's file hashes to ${reference.hash}, not ${expected}`);
        curl.push(reference.seconds);
      }
    }
  } finally {
    await hasher.close();
    server.closeAllConnections();
    server.close();
    rmSync(outDir, { recursive: true, force: true });
  }
  const best = (list: number[]) => Math.min(...list);
  const oursMiBPerSecond = mib / best(ours);
  const curlMiBPerSecond = curl.length ? mib / best(curl) : null;
  const result = {
    fileMiB: mib,
    oursMiBPerSecond,
    curlMiBPerSecond,
    ratio: curlMiBPerSecond ? oursMiBPerSecond / curlMiBPerSecond : null,
  };
  log(
    `  download   ours ${oursMiBPerSecond.toFixed(0)} MiB/s (transfer + 6 hashes + verify + sync + place) | curl + sha256sum ${curlMiBPerSecond?.toFixed(0) ?? 'n/a'} MiB/s | ratio ${result.ratio?.toFixed(2) ?? 'n/a'}`,
  );
  return result;
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  const { values } = parseArgs({
    options: {
      mib: { type: 'string', default: '1024' },
      rounds: { type: 'string', default: '3' },
      'cache-dir': { type: 'string' },
    },
  });
  await runDownloadBench(
    path.resolve(values['cache-dir'] ?? DEFAULT_CACHE_DIR),
    Number(values.mib),
    Number(values.rounds),
    (line) => console.log(line),
  );
}
