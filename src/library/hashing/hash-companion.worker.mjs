// Worker: the second lane of a file hash. Receives the reader's chunks in order and computes BLAKE3 (whole file)
// and AutoV3 (SHA-256 of a safetensors file after its header: bytes 8 + N … EOF).
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { createBLAKE3 } from 'hash-wasm';

const blake3 = await createBLAKE3();
let reader = null;
let autoV3 = null;

parentPort.on('message', (message) => {
  if (message.type !== 'companion') return;
  reader = message.port;
  reader.on('message', (m) => {
    if (m.type === 'start') {
      blake3.init();
      autoV3 = null;
    } else if (m.type === 'chunk') {
      const data = new Uint8Array(m.buffer, 0, m.length);
      blake3.update(data);
      if (m.headerLength !== null) {
        autoV3 ??= createHash('sha256');
        const payloadStart = 8 + m.headerLength;
        if (m.offset + m.length > payloadStart) autoV3.update(data.subarray(Math.max(0, payloadStart - m.offset)));
      }
      reader.postMessage({ type: 'ack' });
    } else if (m.type === 'end') {
      reader.postMessage({
        type: 'done',
        blake3: blake3.digest('hex').toUpperCase(),
        autoV3: m.headerLength !== null && autoV3 ? autoV3.digest('hex').toUpperCase() : null,
      });
    }
  });
});
