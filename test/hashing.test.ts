/**
 * File hashes against the reference tools (sha256sum, b3sum, crc32 from Debian's b3sum and libarchive-zip-perl):
 * small files, exactly 2 MiB, a multi-GB sparse file, a safetensors file and a non-safetensors file.
 */
import { execFileSync, execSync } from 'node:child_process';
import { closeSync, openSync, readSync, ftruncateSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../src/library/hashing/file-hasher.ts';
import { randomBytes, safetensorsBytes, writeFile } from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';

const TOOLS = ['sha256sum', 'b3sum', 'crc32'];
const missingTools = TOOLS.filter((tool) => {
  try {
    execSync(`command -v ${tool}`);
    return false;
  } catch {
    return true;
  }
});

function reference(file: string) {
  const first = (tool: string) =>
    execFileSync(tool, [file], { encoding: 'utf8', maxBuffer: 1 << 20 })
      .trim()
      .split(/\s+/)[0]!
      .toUpperCase();
  return { sha256: first('sha256sum'), blake3: first('b3sum'), zlibCrc32: first('crc32') };
}

/** AutoV1 computed here independently: SHA-256 of the 0x10000 bytes at 0x100000. */
function referenceAutoV1(file: string): string {
  const fd = openSync(file, 'r');
  const window = Buffer.alloc(0x10000);
  const read = readSync(fd, window, 0, 0x10000, 0x100000);
  closeSync(fd);
  return createHash('sha256').update(window.subarray(0, read)).digest('hex').slice(0, 8).toUpperCase();
}

/** AutoV3 with the shell: skip 8 + N bytes, sha256sum the rest. */
function referenceAutoV3(file: string, headerLength: number): string {
  return execSync(`tail -c +${8 + headerLength + 1} ${JSON.stringify(file)} | sha256sum`, { encoding: 'utf8' })
    .split(/\s+/)[0]!
    .toUpperCase();
}

const reversed = (hex: string) => hex.match(/../g)!.reverse().join('');

describe('file hashes', () => {
  let dir: string;
  let hasher: FileHasher;
  beforeAll(() => {
    if (missingTools.length)
      throw new Error(
        `Reference tools missing: ${missingTools.join(', ')} (apt-get install b3sum libarchive-zip-perl)`,
      );
    dir = tempDir('dn-hash-');
    hasher = new FileHasher();
    return () => hasher.close();
  });

  it('matches the tools on "hello world" (Civitai\'s CRC32 is zlib\'s byte-reversed)', async () => {
    const file = writeFile(path.join(dir, 'hello.txt'), 'hello world');
    const hashes = await hasher.hash(file);
    const ref = reference(file);
    expect(hashes).toMatchObject({
      size: 11,
      sha256: ref.sha256,
      autoV2: ref.sha256.slice(0, 10),
      blake3: ref.blake3,
      autoV1: null,
      autoV3: null,
    });
    expect(ref.zlibCrc32).toBe('0D4A1185');
    expect(hashes.crc32).toBe('85114A0D');
  });

  it.each([
    ['below 2 MiB', 2 * 1024 * 1024 - 1],
    ['exactly 2 MiB', 2 * 1024 * 1024],
    ['odd size across chunks', 9 * 1024 * 1024 + 12345],
  ])('matches the tools on a file %s', async (_label, size) => {
    const file = writeFile(path.join(dir, `random-${size}.bin`), randomBytes(size, size));
    const hashes = await hasher.hash(file);
    const ref = reference(file);
    expect(hashes).toMatchObject({
      size,
      sha256: ref.sha256,
      autoV2: ref.sha256.slice(0, 10),
      blake3: ref.blake3,
      crc32: reversed(ref.zlibCrc32),
      autoV3: null,
    });
    expect(hashes.autoV1).toBe(size < 2 * 1024 * 1024 ? null : referenceAutoV1(file));
  });

  it("computes AutoV3 over a safetensors file's payload and returns its header", async () => {
    const metadata = { ss_output_name: 'hash test', ss_base_model_version: 'sdxl_base_v1-0' };
    const bytes = safetensorsBytes(metadata, randomBytes(3 * 1024 * 1024 + 7, 42));
    const file = writeFile(path.join(dir, 'model.safetensors'), bytes);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const hashes = await hasher.hash(file);
    const ref = reference(file);
    expect(hashes).toMatchObject({
      sha256: ref.sha256,
      blake3: ref.blake3,
      crc32: reversed(ref.zlibCrc32),
      autoV1: referenceAutoV1(file),
    });
    expect(hashes.autoV3).toBe(referenceAutoV3(file, headerLength));
    expect(hashes.safetensorsMetadata).toEqual(metadata);
  });

  it('gives no AutoV3 for a file that only looks like safetensors at first glance', async () => {
    const bytes = randomBytes(4096, 7);
    bytes.writeBigUInt64LE(10n ** 12n, 0); // a header longer than the file
    const file = writeFile(path.join(dir, 'fake.safetensors'), bytes);
    expect((await hasher.hash(file)).autoV3).toBeNull();
  });

  it('hashes a multi-GB sparse file exactly, in bounded memory', { timeout: 180_000 }, async () => {
    const file = path.join(dir, 'sparse.ckpt');
    const fd = openSync(file, 'w');
    writeSync(fd, Buffer.from('start'), 0, 5, 0);
    ftruncateSync(fd, 2 * 1024 ** 3 + 4099);
    writeSync(fd, Buffer.from('end'), 0, 3, 2 * 1024 ** 3 + 4096);
    closeSync(fd);
    const rssBefore = process.memoryUsage().rss;
    const hashes = await hasher.hash(file);
    const ref = reference(file);
    expect(hashes).toMatchObject({
      size: 2 * 1024 ** 3 + 4099,
      sha256: ref.sha256,
      blake3: ref.blake3,
      crc32: reversed(ref.zlibCrc32),
      autoV1: referenceAutoV1(file),
      autoV3: null,
    });
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it('reports a missing file as NOT_FOUND', async () => {
    await expect(hasher.hash(path.join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('a hasher whose threads are gone', () => {
  it('fails each hash at once instead of waiting forever (a scan job then finishes)', async () => {
    const file = path.join(tempDir(), 'small.bin');
    writeFile(file, randomBytes(1000, 1));
    const hasher = new FileHasher();
    expect((await hasher.hash(file)).size).toBe(1000);
    await hasher.close();
    const outcome = await Promise.race([
      hasher.hash(file).then(
        () => 'hashed',
        (error: Error) => error.message,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
    ]);
    expect(outcome).toMatch(/stopped/);
  });
});
