/**
 * Hashing bytes while they are written (a download): the six hash kinds of `file-hasher.ts`, computed on a worker
 * thread from the same bytes the writer receives, so the file is never read a second time and the event loop only
 * copies chunks into batches. Memory is bounded: at most MAX_IN_FLIGHT batches of BATCH_BYTES wait for the worker.
 */
import { Worker } from 'node:worker_threads';
import type { FileHashes } from './file-hasher.ts';

export type StreamHashes = Omit<FileHashes, 'mtimeMs' | 'safetensorsMetadata'>;

const BATCH_BYTES = 4 * 1024 * 1024;
const MAX_IN_FLIGHT = 4;

type Reply =
  | { type: 'started' }
  | { type: 'ack' }
  | { type: 'done'; hashes: StreamHashes }
  | { type: 'error'; message: string };

/** One hash at a time: `start`, `update`… in order, then `finish`; `close` ends the thread. */
export class StreamHasher {
  readonly #worker: Worker;
  /** The worker answers every message once, in order. */
  readonly #waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  #batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  #batchLength = 0;
  #inFlight: Promise<Reply>[] = [];
  #broken: Error | null = null;

  constructor() {
    this.#worker = new Worker(new URL('./stream-hash.worker.mjs', import.meta.url));
    this.#worker.on('message', (reply: Reply) => {
      const waiting = this.#waiting.shift();
      if (!waiting) return;
      if (reply.type === 'error') waiting.reject(new Error(reply.message));
      else waiting.resolve(reply);
    });
    const fail = (error: Error) => {
      this.#broken ??= error;
      for (const waiting of this.#waiting.splice(0)) waiting.reject(this.#broken);
    };
    this.#worker.on('error', (error) => fail(new Error(`The hashing thread failed: ${error.message}`)));
    this.#worker.on('exit', () => fail(new Error('The hashing thread stopped.')));
  }

  #send(message: object, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise<Reply>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#worker.postMessage(message, transfer);
    });
  }

  /** Starts a new hash; with `prefix`, the first `length` bytes of that file come first (a resumed download). */
  async start(prefix?: { path: string; length: number }): Promise<void> {
    this.#batchLength = 0;
    this.#inFlight = [];
    await this.#send({ type: 'start', prefixPath: prefix?.path ?? null, prefixLength: prefix?.length ?? 0 });
  }

  /** Adds bytes (copied: the caller may reuse `data`); waits only when the worker is behind. */
  async update(data: Uint8Array): Promise<void> {
    let position = 0;
    while (position < data.length) {
      const take = Math.min(data.length - position, BATCH_BYTES - this.#batchLength);
      this.#batch.set(data.subarray(position, position + take), this.#batchLength);
      this.#batchLength += take;
      position += take;
      if (this.#batchLength === BATCH_BYTES) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#batchLength === 0) return;
    const buffer = this.#batch.buffer as ArrayBuffer;
    const sent = this.#send({ type: 'chunk', buffer, length: this.#batchLength }, [buffer]);
    // Observed later (by the wait below or `finish`); a hash abandoned half-way must not report it as unhandled.
    sent.catch(() => undefined);
    this.#inFlight.push(sent);
    this.#batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.#batchLength = 0;
    if (this.#inFlight.length >= MAX_IN_FLIGHT) await this.#inFlight.shift();
  }

  async finish(): Promise<StreamHashes> {
    await this.#flush();
    await Promise.all(this.#inFlight.splice(0));
    const reply = await this.#send({ type: 'end' });
    if (reply.type !== 'done') throw new Error('The hashing thread answered out of order.');
    return reply.hashes;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
