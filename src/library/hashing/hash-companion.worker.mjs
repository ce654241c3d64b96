// Worker: the second lane of a file hash. Receives the reader's chunks in order and computes BLAKE3 (whole file)
// and AutoV3 (SHA-256 of a safetensors file after its header: bytes 8 + N … EOF).
import { parentPort } from 'node:worker_threads';
import { createBLAKE3 } from 'hash-wasm';
import { secondLane } from './hash-definitions.mjs';

const lane = secondLane(await createBLAKE3());
let reader = null;

parentPort.on('message', (message) => {
  if (message.type !== 'companion') return;
  reader = message.port;
  reader.on('message', (m) => {
    if (m.type === 'start') lane.start();
    else if (m.type === 'chunk') {
      lane.update(new Uint8Array(m.buffer, 0, m.length), m.offset, m.headerLength);
      reader.postMessage({ type: 'ack' });
    } else if (m.type === 'end') reader.postMessage({ type: 'done', ...lane.digest(m.headerLength) });
  });
});
