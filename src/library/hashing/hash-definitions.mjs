// What the six hash kinds are, stated once for every way of hashing a file: the scanner's two-thread read
// (hash-reader/hash-companion) and a download's hashing while it is written (stream-hash.worker.mjs).
//   SHA256 (whole file; AutoV2 = its first 10 hex), CRC32 (Civitai's byte order), BLAKE3 (whole file),
//   AutoV1 = first 8 hex of SHA-256 over the 0x10000 bytes at offset 0x100000 (null below 2 MiB),
//   AutoV3 = SHA-256 of a safetensors file after its header: bytes 8 + N … EOF (all 64 hex; Civitai shows 12).
// Plain JavaScript so the workers load it under any loader (tsx, vitest, node).
import { createHash } from 'node:crypto';

export const AUTOV1_OFFSET = 0x100000;
export const AUTOV1_LENGTH = 0x10000;
export const AUTOV1_MIN_SIZE = 2 * 1024 * 1024;
/** A longer safetensors header is not believed (the file is then hashed as an ordinary file: no AutoV3). */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** The safetensors header length from a file's first 9 bytes (u64 LE, then `{`), or null when it is not one. */
export function safetensorsHeaderLength(first9, size) {
  if (first9.length < 9) return null;
  const n = first9.readBigUInt64LE(0);
  if (n > 0n && n <= BigInt(MAX_HEADER_BYTES) && 8n + n <= BigInt(size) && first9[8] === 0x7b) return Number(n);
  return null;
}

/** Copies the part of `chunk` (which starts at file offset `chunkOffset`) that lies in [from, to) into `target`. */
export function copyRange(target, targetStart, chunk, chunkOffset, from, to) {
  const start = Math.max(from, chunkOffset);
  const end = Math.min(to, chunkOffset + chunk.length);
  if (start < end) chunk.copy(target, targetStart + (start - from), start - chunkOffset, end - chunkOffset);
}

/** Civitai prints CRC32 byte-reversed compared with zlib (its "hello world" is 85114A0D, zlib's 0D4A1185). */
export function civitaiCrc32(zlibHex) {
  return zlibHex.toUpperCase().match(/../g).reverse().join('');
}

/** AutoV1 from its 64 KiB window (null when the file is too small to have one). */
export function autoV1Of(window, sha256) {
  return window ? sha256(window).slice(0, 8).toUpperCase() : null;
}

/**
 * The second lane of a file hash: BLAKE3 of the whole file and AutoV3, fed the file's chunks in order. `blake3` is a
 * hash-wasm BLAKE3 instance (created once per thread: it is a WebAssembly module).
 */
export function secondLane(blake3) {
  let autoV3 = null;
  return {
    start() {
      blake3.init();
      autoV3 = null;
    },
    update(data, offset, headerLength) {
      blake3.update(data);
      if (headerLength === null) return;
      autoV3 ??= createHash('sha256');
      const payloadStart = 8 + headerLength;
      if (offset + data.length > payloadStart) autoV3.update(data.subarray(Math.max(0, payloadStart - offset)));
    },
    digest(headerLength) {
      return {
        blake3: blake3.digest('hex').toUpperCase(),
        autoV3: headerLength !== null && autoV3 ? autoV3.digest('hex').toUpperCase() : null,
      };
    },
  };
}
