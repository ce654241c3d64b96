/**
 * File hashes against independent implementations: @noble/hashes (SHA-256, BLAKE3) and buffer-crc32 — pure
 * JavaScript by other authors, where the product uses node:crypto and hash-wasm — on small files, exactly 2 MiB, a
 * multi-GB sparse file, a safetensors file and a non-safetensors file. The system tools (sha256sum; b3sum; crc32 from
 * libarchive-zip-perl) are an extra check where they are installed, so `npm install && npm test` needs nothing else;
 * for the multi-GB file, where all three are installed, they are the reference.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { accessSync, closeSync, constants, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../src/library/hashing/file-hasher.ts';
import { randomBytes, safetensorsBytes, writeFile } from './helpers/library.ts';
import { tempDir } from './helpers/temp.ts';

// buffer-crc32's ESM type declarations say `export =`, which TypeScript refuses in an ES module; its CommonJS
// build is the same code and its declarations fit `require`.
const crc32 = createRequire(import.meta.url)('buffer-crc32') as {
  unsigned(data: Buffer, previous?: number): number;
};

/** AutoV1's window (the 64 KiB at 1 MiB), and the size below which a file has no AutoV1. */
const AUTOV1_OFFSET = 0x100000;
const AUTOV1_LENGTH = 0x10000;
const AUTOV1_MIN_SIZE = 2 * 1024 * 1024;

interface Reference {
  sha256: string;
  blake3: string;
  /** CRC32 as zlib and the crc32 tool print it; Civitai's is byte-reversed. */
  zlibCrc32: string;
  autoV1: string | null;
  /** SHA-256 of the bytes after a safetensors header (null unless the header length is given). */
  autoV3: string | null;
}

const upperHex = (bytes: Uint8Array) => bytesToHex(bytes).toUpperCase();

/** Every reference hash in one sequential pass over the file, with the npm implementations only. */
function reference(file: string, safetensorsHeaderLength: number | null = null): Reference {
  const whole = sha256.create();
  const b3 = blake3.create();
  const autoV3 = safetensorsHeaderLength === null ? null : sha256.create();
  const payloadStart = 8 + (safetensorsHeaderLength ?? 0);
  const window = Buffer.alloc(AUTOV1_LENGTH);
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  let crc = 0;
  let size = 0;
  const fd = openSync(file, 'r');
  try {
    for (
      let read = readSync(fd, chunk, 0, chunk.length, 0);
      read > 0;
      read = readSync(fd, chunk, 0, chunk.length, size)
    ) {
      const data = chunk.subarray(0, read);
      whole.update(data);
      b3.update(data);
      crc = crc32.unsigned(data, crc);
      if (autoV3 && size + read > payloadStart) autoV3.update(data.subarray(Math.max(0, payloadStart - size)));
      const from = Math.max(size, AUTOV1_OFFSET);
      const to = Math.min(size + read, AUTOV1_OFFSET + AUTOV1_LENGTH);
      if (from < to) data.copy(window, from - AUTOV1_OFFSET, from - size, to - size);
      size += read;
    }
  } finally {
    closeSync(fd);
  }
  return {
    sha256: upperHex(whole.digest()),
    blake3: upperHex(b3.digest()),
    zlibCrc32: crc.toString(16).toUpperCase().padStart(8, '0'),
    autoV1: size < AUTOV1_MIN_SIZE ? null : upperHex(sha256(window)).slice(0, 8),
    autoV3: autoV3 ? upperHex(autoV3.digest()) : null,
  };
}

/** The system tools and the reference hash each prints; used only where installed. */
const SYSTEM_TOOLS = { sha256sum: 'sha256', b3sum: 'blake3', crc32: 'zlibCrc32' } as const;

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const installedTools = (Object.keys(SYSTEM_TOOLS) as (keyof typeof SYSTEM_TOOLS)[]).filter(onPath);

/** The extra check: each installed tool prints what the npm reference computed. */
function expectSystemToolsAgree(file: string, ref: Reference): void {
  for (const tool of installedTools) {
    const printed = execFileSync(tool, [file], { encoding: 'utf8', maxBuffer: 1 << 20 })
      .trim()
      .split(/\s+/)[0]!
      .toUpperCase();
    expect(printed, `${tool} ${file}`).toBe(ref[SYSTEM_TOOLS[tool]]);
  }
}

const reversed = (hex: string) => hex.match(/../g)!.reverse().join('');

/**
 * The references from the system tools alone (AutoV1's 64 KiB window by @noble/hashes), where all three are
 * installed: for gigabytes, the pure-JavaScript BLAKE3 would take a minute where b3sum takes a second.
 */
function systemReference(file: string): Reference | null {
  if (installedTools.length < Object.keys(SYSTEM_TOOLS).length) return null;
  const printed = (tool: string) =>
    execFileSync(tool, [file], { encoding: 'utf8', maxBuffer: 1 << 20 })
      .trim()
      .split(/\s+/)[0]!
      .toUpperCase();
  const window = Buffer.alloc(AUTOV1_LENGTH);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, window, 0, AUTOV1_LENGTH, AUTOV1_OFFSET);
  } finally {
    closeSync(fd);
  }
  return {
    sha256: printed('sha256sum'),
    blake3: printed('b3sum'),
    zlibCrc32: printed('crc32'),
    autoV1: upperHex(sha256(window)).slice(0, 8),
    autoV3: null,
  };
}

describe('file hashes', () => {
  let dir: string;
  let hasher: FileHasher;
  beforeAll(() => {
    const missing = Object.keys(SYSTEM_TOOLS).filter((tool) => !installedTools.includes(tool as never));
    if (missing.length)
      console.info(
        `hashing: ${missing.join(', ')} not installed — compared with the npm implementations only ` +
          '(apt-get install b3sum libarchive-zip-perl adds the system tools as a second check).',
      );
    dir = tempDir('dn-hash-');
    hasher = new FileHasher();
    return () => hasher.close();
  });

  it('agrees with the references on "hello world" (Civitai\'s CRC32 is zlib\'s byte-reversed)', async () => {
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
    expectSystemToolsAgree(file, ref);
  });

  it.each([
    ['below 2 MiB', 2 * 1024 * 1024 - 1],
    ['exactly 2 MiB', 2 * 1024 * 1024],
    // A file of one 4 MiB read is hashed by one thread; a longer one by two, in chunks.
    ['of exactly one read', 4 * 1024 * 1024],
    ['one byte longer than one read', 4 * 1024 * 1024 + 1],
    ['odd size across chunks', 9 * 1024 * 1024 + 12345],
  ])('agrees with the references on a file %s', async (_label, size) => {
    const file = writeFile(path.join(dir, `random-${size}.bin`), randomBytes(size, size));
    const hashes = await hasher.hash(file);
    const ref = reference(file);
    expect(hashes).toMatchObject({
      size,
      sha256: ref.sha256,
      autoV2: ref.sha256.slice(0, 10),
      blake3: ref.blake3,
      crc32: reversed(ref.zlibCrc32),
      autoV1: ref.autoV1,
      autoV3: null,
    });
    expect(hashes.autoV1 === null).toBe(size < AUTOV1_MIN_SIZE);
    expectSystemToolsAgree(file, ref);
  });

  it.each([
    ['read at once', 3 * 1024 * 1024 + 7],
    ['read in chunks', 6 * 1024 * 1024 + 7],
  ])("computes AutoV3 over a safetensors file's payload and returns its header (%s)", async (_label, payload) => {
    const metadata = { ss_output_name: 'hash test', ss_base_model_version: 'sdxl_base_v1-0' };
    const bytes = safetensorsBytes(metadata, randomBytes(payload, 42));
    const file = writeFile(path.join(dir, `model-${payload}.safetensors`), bytes);
    const hashes = await hasher.hash(file);
    const ref = reference(file, Number(bytes.readBigUInt64LE(0)));
    expect(hashes).toMatchObject({
      sha256: ref.sha256,
      blake3: ref.blake3,
      crc32: reversed(ref.zlibCrc32),
      autoV1: ref.autoV1,
      autoV3: ref.autoV3,
    });
    expect(hashes.autoV1).not.toBeNull();
    expect(hashes.safetensorsMetadata).toEqual(metadata);
    expectSystemToolsAgree(file, ref);
  });

  it('gives no AutoV3 for a file that only looks like safetensors at first glance', async () => {
    const bytes = randomBytes(4096, 7);
    bytes.writeBigUInt64LE(10n ** 12n, 0); // a header longer than the file
    const file = writeFile(path.join(dir, 'fake.safetensors'), bytes);
    expect((await hasher.hash(file)).autoV3).toBeNull();
  });

  // Past 2 GiB, where a 32-bit offset would wrap. The pure-JavaScript references (BLAKE3 at about 50 MiB/s) take a
  // minute or two over it on a busy machine: the system tools are the reference where all are installed (as in CI).
  it('hashes a multi-GB sparse file exactly, in bounded memory', { timeout: 400_000 }, async () => {
    const file = path.join(dir, 'sparse.ckpt');
    const fd = openSync(file, 'w');
    writeSync(fd, Buffer.from('start'), 0, 5, 0);
    ftruncateSync(fd, 2 * 1024 ** 3 + 4099);
    writeSync(fd, Buffer.from('end'), 0, 3, 2 * 1024 ** 3 + 4096);
    closeSync(fd);
    const rssBefore = process.memoryUsage().rss;
    const hashes = await hasher.hash(file);
    // Measured before the reference pass, which allocates its own buffers.
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    const system = systemReference(file);
    const ref = system ?? reference(file);
    expect(hashes).toMatchObject({
      size: 2 * 1024 ** 3 + 4099,
      sha256: ref.sha256,
      blake3: ref.blake3,
      crc32: reversed(ref.zlibCrc32),
      autoV1: ref.autoV1,
      autoV3: null,
    });
    expect(rssGrowth).toBeLessThan(256 * 1024 * 1024);
    if (!system) expectSystemToolsAgree(file, ref);
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
