/**
 * Exact hashes of model files in one sequential read with bounded memory (at most six 4 MiB chunks in flight),
 * split over two worker threads so hashing keeps pace with the disk and never blocks the server's event loop:
 *   reader:    SHA-256 (→ AutoV2 = first 10 hex), CRC32 (stored in Civitai's byte order), AutoV1 window
 *   companion: BLAKE3, AutoV3 (SHA-256 after the safetensors header; full 64 hex, Civitai shows 12)
 * AutoV1 = first 8 hex of SHA-256 over the 0x10000 bytes at offset 0x100000; null below 2 MiB.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { AppError } from '../../errors.ts';

export interface FileHashes {
  /** Size and modification time of the file whose bytes were hashed (checked unchanged after the read). */
  size: number;
  mtimeMs: number;
  sha256: string;
  autoV1: string | null;
  autoV2: string;
  autoV3: string | null;
  crc32: string;
  blake3: string;
  /** The text values of a safetensors header's `__metadata__` (null for other formats or unreadable headers). */
  safetensorsMetadata: Record<string, string> | null;
}

interface WorkerResult extends FileHashes {
  id: number;
}

type WorkerMessage =
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; id: number; message: string; code: string | null };

function workerError(code: string | null, message: string): Error {
  if (code === 'ENOENT') return new AppError('NOT_FOUND', message);
  if (code === 'FILE_CHANGED') return new AppError('FILE_CHANGED', message);
  if (code === 'NOT_REGULAR_FILE') return new AppError('BAD_USER_INPUT', message, { specialFile: true });
  return new Error(message);
}

/** A pair of hashing threads that hashes one file at a time; create one per concurrent hash, `close()` after. */
export class FileHasher {
  readonly #reader: Worker;
  readonly #companion: Worker;
  readonly #pending = new Map<number, { resolve: (hashes: FileHashes) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();
  /** Set once a thread failed or ended: every hash after that fails at once instead of waiting forever. */
  #broken: Error | null = null;

  constructor() {
    this.#reader = new Worker(new URL('./hash-reader.worker.mjs', import.meta.url));
    this.#companion = new Worker(new URL('./hash-companion.worker.mjs', import.meta.url));
    const { port1, port2 } = new MessageChannel();
    this.#reader.postMessage({ type: 'companion', port: port1 }, [port1]);
    this.#companion.postMessage({ type: 'companion', port: port2 }, [port2]);
    this.#reader.on('message', (message: WorkerMessage) => {
      const id = message.type === 'result' ? message.result.id : message.id;
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (!pending) return;
      if (message.type === 'result') {
        const { id: _id, ...hashes } = message.result;
        pending.resolve(hashes);
      } else {
        pending.reject(workerError(message.code, message.message));
      }
    });
    const failAll = (error: Error) => {
      this.#broken ??= error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    // A thread that cannot start (its module missing) or crashes: nothing it was given will finish.
    const failed = (error: Error) => failAll(new Error(`A hashing thread failed: ${error.message}`));
    this.#reader.on('error', failed);
    this.#companion.on('error', failed);
    // Closed (or crashed) while hashing: the pending hash will never finish.
    this.#reader.on('exit', () => failAll(new AppError('CLIENT_GONE', 'Hashing was stopped.')));
    this.#companion.on('exit', () => failAll(new AppError('CLIENT_GONE', 'Hashing was stopped.')));
  }

  /** Hashes a file (queued behind any hash already running on this hasher). */
  hash(path: string): Promise<FileHashes> {
    const run = () =>
      new Promise<FileHashes>((resolve, reject) => {
        if (this.#broken) {
          reject(this.#broken);
          return;
        }
        const id = this.#nextId++;
        this.#pending.set(id, { resolve, reject });
        this.#reader.postMessage({ type: 'hash', path, id });
      });
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await Promise.all([this.#reader.terminate(), this.#companion.terminate()]);
  }
}
