// Worker: what archiving a large payload costs besides serialising it — its content hash without Civitai's `stats`
// objects (counts change on every read, so they do not make a payload new; the same rule as `preparePayload`'s) and
// its gzip — done here, off the event loop: a payload may be tens of megabytes (a long description), and hashing it
// twice there stalled /health.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';

const withoutStatistics = (key, value) => (key === 'stats' ? undefined : value);

parentPort.on('message', ({ id, pieces, level }) => {
  try {
    const utf8 = Buffer.concat(pieces);
    const contentHash = createHash('sha256')
      .update(JSON.stringify(JSON.parse(utf8.toString('utf8')), withoutStatistics))
      .digest('hex');
    // A copy with its own memory: a small result may sit in Node's shared buffer pool, which must not be moved.
    const body = new Uint8Array(gzipSync(utf8, { level }));
    parentPort.postMessage({ id, contentHash, body, byteSize: utf8.length }, [body.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
