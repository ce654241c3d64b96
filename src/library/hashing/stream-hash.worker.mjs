// Worker: hashes a file as it is being written (a download), from chunks handed over in order — all six kinds in
// one pass (see hash-definitions.mjs), off the event loop that receives and writes the bytes. A resumed download
// first hashes the bytes already in its .part file (`prefix`), read here, not on the server's thread.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { createBLAKE3, createCRC32 } from 'hash-wasm';
import {
  AUTOV1_LENGTH,
  AUTOV1_MIN_SIZE,
  AUTOV1_OFFSET,
  autoV1Of,
  civitaiCrc32,
  copyRange,
  MAX_HEADER_BYTES,
  secondLane,
} from './hash-definitions.mjs';

const PREFIX_CHUNK_BYTES = 4 * 1024 * 1024;
const crc = await createCRC32();
const lane = secondLane(await createBLAKE3());
let sha256 = null;
let offset = 0;
/** The first 9 bytes (safetensors header length and its `{`), gathered across chunks. */
let head = Buffer.alloc(0);
let headerLength = null;
const autoV1Window = Buffer.alloc(AUTOV1_LENGTH);

function reset() {
  sha256 = createHash('sha256');
  crc.init();
  lane.start();
  offset = 0;
  head = Buffer.alloc(0);
  headerLength = null;
}

function update(data) {
  sha256.update(data);
  crc.update(data);
  copyRange(autoV1Window, 0, data, offset, AUTOV1_OFFSET, AUTOV1_OFFSET + AUTOV1_LENGTH);
  if (head.length < 9) {
    head = Buffer.concat([head, data.subarray(0, 9 - head.length)]);
    if (head.length === 9) {
      // The size is not known yet: whether the header fits in the file is checked at the end.
      const n = head.readBigUInt64LE(0);
      if (n > 0n && n <= BigInt(MAX_HEADER_BYTES) && head[8] === 0x7b) headerLength = Number(n);
    }
  }
  // The header ends at least 9 bytes in: known before any byte AutoV3 covers.
  lane.update(data, offset, headerLength);
  offset += data.length;
}

async function hashPrefix(path, length) {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(PREFIX_CHUNK_BYTES);
    while (offset < length) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - offset), offset);
      if (bytesRead === 0) throw new Error(`${path} is shorter than the ${length} bytes already received.`);
      update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

function digest() {
  const sha = sha256.digest('hex').toUpperCase();
  const size = offset;
  return {
    size,
    sha256: sha,
    autoV2: sha.slice(0, 10),
    autoV1: autoV1Of(size >= AUTOV1_MIN_SIZE ? autoV1Window : null, (bytes) =>
      createHash('sha256').update(bytes).digest('hex'),
    ),
    crc32: civitaiCrc32(crc.digest('hex')),
    ...lane.digest(headerLength !== null && 8 + headerLength <= size ? headerLength : null),
  };
}

parentPort.on('message', async (message) => {
  try {
    if (message.type === 'start') {
      reset();
      if (message.prefixPath) await hashPrefix(message.prefixPath, message.prefixLength);
      parentPort.postMessage({ type: 'started' });
    } else if (message.type === 'chunk') {
      update(Buffer.from(message.buffer, 0, message.length));
      parentPort.postMessage({ type: 'ack' });
    } else if (message.type === 'end') {
      parentPort.postMessage({ type: 'done', hashes: digest() });
    }
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: error.message });
  }
});
