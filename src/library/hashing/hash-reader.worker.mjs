// Worker: reads one file at a time, sequentially, in large chunks; computes SHA-256 (whole file), CRC32 and the
// AutoV1 window itself, and hands every chunk (transferred, not copied) to the companion worker, which computes
// BLAKE3 and AutoV3. Two threads, one read. A file of one chunk is hashed here whole: for small files the hand-over
// between threads costs more than the second lane's work. Plain JavaScript so it runs under any loader (tsx,
// vitest, node).
//
// Only regular files are read (opened without blocking, then checked: a FIFO would otherwise hold the thread
// forever), and a file whose size, modification time or identity changed while it was read is reported as
// FILE_CHANGED instead of being given the hashes of a partial read. A safetensors header's `__metadata__` is
// parsed here, off the server's event loop, and only after its shape was checked (a header is at most a few levels
// deep; a 64 MiB nested one would otherwise take seconds and gigabytes to parse).
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { createBLAKE3, createCRC32 } from 'hash-wasm';
import {
  AUTOV1_LENGTH,
  AUTOV1_MIN_SIZE,
  AUTOV1_OFFSET,
  autoV1Of,
  civitaiCrc32,
  copyRange,
  safetensorsHeaderLength,
  secondLane,
} from './hash-definitions.mjs';

const CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_IN_FLIGHT = 6;
/** A safetensors header: { "__metadata__": { key: "text" }, "tensor": { "dtype": …, "shape": [..], "data_offsets": [..] } }. */
const MAX_HEADER_DEPTH = 4;
const MAX_HEADER_VALUES = 2_000_000;
/** Metadata texts kept for the catalog (ss_tag_frequency can be long; nothing needs more). */
const MAX_METADATA_VALUE_CHARS = 1024 * 1024;

const crc = await createCRC32();
/** The second lane, for files of one chunk. */
const ownLane = secondLane(await createBLAKE3());
let companion = null;
let inFlight = 0;
/** Resolves when a chunk slot frees up (backpressure). */
let resumeReading = null;
/** Resolves with the companion's digests at the end of a file. */
let companionDone = null;

function onCompanionMessage(message) {
  if (message.type === 'ack') {
    inFlight--;
    if (resumeReading && inFlight < MAX_IN_FLIGHT) {
      const resume = resumeReading;
      resumeReading = null;
      resume();
    }
  } else if (message.type === 'done' && companionDone) {
    const done = companionDone;
    companionDone = null;
    done(message);
  }
}

function failure(code, message) {
  return Object.assign(new Error(message), { code });
}

/** Whether JSON text is at most `maxDepth` deep and holds at most `maxValues` values (one pass over the bytes). */
function shapeWithin(bytes, maxDepth, maxValues) {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c) i++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maxDepth || ++values > maxValues) return false;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
    else if (byte === 0x2c && ++values > maxValues) return false;
  }
  return true;
}

/** The header's `__metadata__` texts, or null (no metadata, not JSON, or not shaped like a safetensors header). */
function metadataOf(header) {
  if (!header || !shapeWithin(header, MAX_HEADER_DEPTH, MAX_HEADER_VALUES)) return null;
  let parsed;
  try {
    parsed = JSON.parse(header.toString('utf8'));
  } catch {
    return null;
  }
  const metadata = parsed?.__metadata__;
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) return null;
  const texts = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string' && value.length <= MAX_METADATA_VALUE_CHARS) texts[key] = value;
  }
  return texts;
}

function sameFile(a, b) {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

// The file system is used synchronously: this thread does nothing else meanwhile, and a small file is then read
// without a hop to libuv's thread pool for each of its five calls.
async function hashFile({ path, id }) {
  // O_NONBLOCK: opening a FIFO with no writer returns at once (and is then refused below) instead of waiting.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) throw failure('NOT_REGULAR_FILE', `${path} is not a regular file.`);
    const { size } = before;
    const sha256 = createHash('sha256');
    crc.init();
    const autoV1Window = size >= AUTOV1_MIN_SIZE ? Buffer.alloc(AUTOV1_LENGTH) : null;
    let headerLength = null; // safetensors: u64 little-endian at bytes 0-8
    let header = null;
    const whole = size <= CHUNK_BYTES;
    if (whole) ownLane.start();
    else companion.postMessage({ type: 'start', id });
    let offset = 0;
    // The size read at the start: a file that grows or shrinks meanwhile is refused below (FILE_CHANGED).
    while (offset < size) {
      if (inFlight >= MAX_IN_FLIGHT)
        await new Promise((resolve) => {
          resumeReading = resolve;
        });
      const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK_BYTES, size - offset));
      const bytesRead = readSync(fd, chunk, 0, chunk.length, offset);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      if (offset === 0) {
        headerLength = safetensorsHeaderLength(data.subarray(0, 9), size);
        if (headerLength !== null) header = Buffer.alloc(headerLength);
      }
      sha256.update(data);
      crc.update(data);
      if (autoV1Window) copyRange(autoV1Window, 0, data, offset, AUTOV1_OFFSET, AUTOV1_OFFSET + AUTOV1_LENGTH);
      if (header) copyRange(header, 0, data, offset, 8, 8 + headerLength);
      if (whole) ownLane.update(data, offset, headerLength);
      else {
        inFlight++;
        companion.postMessage({ type: 'chunk', offset, length: bytesRead, headerLength, buffer: chunk.buffer }, [
          chunk.buffer,
        ]);
      }
      offset += bytesRead;
    }
    const companionResult = whole
      ? ownLane.digest(headerLength)
      : await new Promise((resolve) => {
          companionDone = resolve;
          companion.postMessage({ type: 'end', size: offset, headerLength });
        });
    // The bytes read are the file only if it is still the same file, unchanged, at the same path.
    const after = fstatSync(fd);
    let atPath = null;
    try {
      atPath = statSync(path);
    } catch {
      // Gone or unreadable: reported below as changed.
    }
    if (offset !== size || !sameFile(before, after) || !atPath || !sameFile(before, atPath)) {
      throw failure(
        'FILE_CHANGED',
        `${path} changed while it was read (${atPath ? 'size, modification time or identity differ' : 'it is gone'}).`,
      );
    }
    const sha = sha256.digest('hex').toUpperCase();
    return {
      id,
      size: offset,
      mtimeMs: before.mtimeMs,
      sha256: sha,
      autoV2: sha.slice(0, 10),
      autoV1: autoV1Of(autoV1Window, (bytes) => createHash('sha256').update(bytes).digest('hex')),
      crc32: civitaiCrc32(crc.digest('hex')),
      blake3: companionResult.blake3,
      autoV3: companionResult.autoV3,
      safetensorsMetadata: metadataOf(header),
    };
  } finally {
    closeSync(fd);
  }
}

parentPort.on('message', async (message) => {
  if (message.type === 'companion') {
    companion = message.port;
    companion.on('message', onCompanionMessage);
    return;
  }
  if (message.type === 'hash') {
    try {
      parentPort.postMessage({ type: 'result', result: await hashFile(message) });
    } catch (error) {
      parentPort.postMessage({ type: 'error', id: message.id, message: error.message, code: error.code ?? null });
    }
  }
});
