/**
 * Statements that may run for hundreds of milliseconds — full-text search pages and counts, highlights, facets,
 * library statistics — run on a worker thread with its own read-only connection (`read-worker.mjs`): SQLite
 * computes synchronously, and on the event loop such a statement would hold up every other request and /health.
 * One statement at a time, first come first served; a request stopped while its statement waits never runs it.
 */
import { Worker } from 'node:worker_threads';
import type { CompiledQuery, QueryResult } from 'kysely';
import { type StatementRunner, toSqlite } from './driver.ts';

export interface ReadWorkerOptions {
  databasePath: string;
  busyTimeoutMs: number;
  /** Per-connection settings (read-only ones: the cache size). */
  pragmas: readonly string[];
  onStatement?: ((sqlText: string, parameters: readonly unknown[]) => void) | undefined;
}

interface Job {
  compiled: CompiledQuery;
  check: (() => void) | undefined;
  resolve: (result: QueryResult<unknown>) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; rows: unknown[] } | { id: number; error: { message: string; code: string | null } };

export class ReadWorker implements StatementRunner {
  readonly #options: ReadWorkerOptions;
  #worker: Worker | null = null;
  readonly #queue: Job[] = [];
  #running: { id: number; job: Job } | null = null;
  #nextId = 1;
  #closed = false;

  constructor(options: ReadWorkerOptions) {
    this.#options = options;
  }

  run<R>(compiled: CompiledQuery, check?: () => void): Promise<QueryResult<R>> {
    if (this.#closed) return Promise.reject(new Error('The catalog is closed.'));
    return new Promise<QueryResult<R>>((resolve, reject) => {
      this.#queue.push({ compiled, check, resolve: resolve as Job['resolve'], reject });
      this.#next();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const stopped = new Error('The catalog is closed.');
    for (const job of this.#queue.splice(0)) job.reject(stopped);
    await this.#worker?.terminate();
    this.#worker = null;
  }

  #start(): Worker {
    const worker = new Worker(new URL('./read-worker.mjs', import.meta.url), {
      workerData: {
        databasePath: this.#options.databasePath,
        busyTimeoutMs: this.#options.busyTimeoutMs,
        pragmas: this.#options.pragmas,
      },
    });
    // An idle worker does not keep the process alive (it is referenced while a statement runs).
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const running = this.#running;
      if (!running || running.id !== reply.id) return;
      this.#running = null;
      if (this.#queue.length === 0) worker.unref();
      if ('rows' in reply) running.job.resolve({ rows: reply.rows });
      else running.job.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      this.#next();
    });
    // A crash fails the statement it ran; the next statement starts a new worker.
    const failed = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      const running = this.#running;
      this.#running = null;
      running?.job.reject(error);
      if (!this.#closed) this.#next();
    };
    worker.on('error', failed);
    worker.on('exit', (code) => failed(new Error(`The read worker ended (exit code ${code}).`)));
    return worker;
  }

  #next(): void {
    while (!this.#running && this.#queue.length > 0 && !this.#closed) {
      const job = this.#queue.shift()!;
      try {
        job.check?.();
      } catch (error) {
        job.reject(error as Error);
        continue;
      }
      this.#worker ??= this.#start();
      this.#worker.ref();
      const id = this.#nextId++;
      this.#running = { id, job };
      this.#options.onStatement?.(job.compiled.sql, job.compiled.parameters);
      this.#worker.postMessage({ id, sql: job.compiled.sql, parameters: job.compiled.parameters.map(toSqlite) });
    }
  }
}
