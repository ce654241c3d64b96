/**
 * Scan hashing throughput: the library scanner's one-pass hasher (SHA256, BLAKE3, CRC32, AutoV1/V2/V3 together)
 * against `sha256sum` (SHA256 alone, native code) on the same file, warm in the page cache, alternating runs.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FileHasher } from '../src/library/hashing/file-hasher.ts';

export interface HashingBenchResult {
  fileMiB: number;
  /** MiB/s of our all-hashes pass. */
  oursMiBPerSecond: number;
  /** MiB/s of `sha256sum`, or null where it is not installed. */
  sha256sumMiBPerSecond: number | null;
  ratio: number | null;
}

/** A deterministic, incompressible-looking file (xorshift bytes), made once per size. */
export async function benchFile(cacheDir: string, mib: number): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `hash-input-${mib}MiB.bin`);
  if (existsSync(file) && statSync(file).size === mib * 1024 * 1024) return file;
  const out = createWriteStream(file);
  let state = 0x2545f491;
  for (let chunk = 0; chunk < mib; chunk++) {
    const bytes = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes.writeInt32LE(state | 0, i);
    }
    if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return file;
}

function sha256sum(file: string): { seconds: number; hash: string } | null {
  const started = performance.now();
  const run = spawnSync('sha256sum', [file], { encoding: 'utf8' });
  if (run.error || run.status !== 0) return null;
  return { seconds: (performance.now() - started) / 1000, hash: run.stdout.split(/\s+/)[0]!.toUpperCase() };
}

export async function runHashingBench(
  cacheDir: string,
  mib: number,
  rounds: number,
  log: (line: string) => void,
): Promise<HashingBenchResult> {
  const file = await benchFile(cacheDir, mib);
  readFileSync(file); // into the page cache: both sides then measure hashing, not the disk
  const hasher = new FileHasher();
  const ours: number[] = [];
  const native: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      const hashes = await hasher.hash(file);
      ours.push((performance.now() - started) / 1000);
      const reference = sha256sum(file);
      if (reference) {
        native.push(reference.seconds);
        if (reference.hash !== hashes.sha256.toUpperCase())
          throw new Error(`SHA256 differs from sha256sum: ${hashes.sha256} vs ${reference.hash}`);
      }
    }
  } finally {
    await hasher.close();
  }
  const best = (list: number[]) => Math.min(...list);
  const oursMiBPerSecond = mib / best(ours);
  const sha256sumMiBPerSecond = native.length ? mib / best(native) : null;
  const result = {
    fileMiB: mib,
    oursMiBPerSecond,
    sha256sumMiBPerSecond,
    ratio: sha256sumMiBPerSecond ? oursMiBPerSecond / sha256sumMiBPerSecond : null,
  };
  log(
    `  hashing    ours ${oursMiBPerSecond.toFixed(0)} MiB/s (6 hashes) | sha256sum ${sha256sumMiBPerSecond?.toFixed(0) ?? 'n/a'} MiB/s | ratio ${result.ratio?.toFixed(2) ?? 'n/a'}`,
  );
  return result;
}
