/**
 * Scans started over GraphQL run in the background as jobs: one at a time (scans of overlapping folders would
 * fight over the same rows), observable by id, and streamed to subscribers as progress arrives. They run on the
 * catalog itself, not on the request that started them, and stop (keeping what they did) when the server does.
 */
import { randomUUID } from 'node:crypto';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { AppError } from '../errors.ts';
import { emptyProgress, scanLibrary, type ScanOptions, type ScanProgress } from './scan.ts';

export type ScanJobStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';

export interface ScanJob {
  id: string;
  status: ScanJobStatus;
  roots: readonly string[];
  startedAt: Date;
  finishedAt: Date | null;
  progress: ScanProgress;
  error: string | null;
}

type Listener = (job: ScanJob) => void;

const KEEP_FINISHED = 20;

export class ScanJobs {
  readonly #db: CatalogDatabase;
  readonly #jobs = new Map<string, ScanJob>();
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #stopping = new AbortController();
  readonly #running = new Set<Promise<unknown>>();

  constructor(db: CatalogDatabase) {
    this.#db = db;
  }

  get(id: string): ScanJob | null {
    return this.#jobs.get(id) ?? null;
  }

  running(): ScanJob | null {
    return [...this.#jobs.values()].find((job) => job.status === 'RUNNING') ?? null;
  }

  /** Starts a scan in the background; refuses while another runs. */
  start(options: Omit<ScanOptions, 'onProgress' | 'signal'>): ScanJob {
    if (this.#stopping.signal.aborted) throw new AppError('CONFLICT', 'The server is shutting down.');
    const running = this.running();
    if (running)
      throw new AppError(
        'CONFLICT',
        `A scan is already running (job ${running.id}); wait for it or follow it with scanJob/scanProgress.`,
        { jobId: running.id },
      );
    const job: ScanJob = {
      id: randomUUID(),
      status: 'RUNNING',
      roots: options.roots,
      startedAt: new Date(),
      finishedAt: null,
      progress: emptyProgress(),
      error: null,
    };
    this.#jobs.set(job.id, job);
    this.#forgetOld();
    const done = scanLibrary(this.#db, {
      ...options,
      jobId: job.id,
      signal: this.#stopping.signal,
      onProgress: (progress) => this.#update(job, { progress }),
    }).then(
      (progress) => this.#update(job, { progress, status: 'COMPLETED', finishedAt: new Date() }),
      (error: unknown) =>
        this.#update(job, {
          status: 'FAILED',
          finishedAt: new Date(),
          error: this.#stopping.signal.aborted
            ? 'Stopped: the server shut down.'
            : error instanceof Error
              ? error.message
              : String(error),
        }),
    );
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
    return job;
  }

  /** Stops running scans between files and waits for them to settle. */
  async stopAll(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#running);
  }

  /** The job's states from now on, ending with its final state (or at once, if it has finished). */
  async *follow(id: string, signal?: AbortSignal): AsyncGenerator<ScanJob> {
    const job = this.get(id);
    if (!job) throw new AppError('NOT_FOUND', `No scan job ${id}.`);
    yield job;
    if (job.status !== 'RUNNING') return;
    const queue: ScanJob[] = [];
    let wake: (() => void) | null = null;
    const listener: Listener = (state) => {
      queue.push(state);
      wake?.();
    };
    let listeners = this.#listeners.get(id);
    if (!listeners) this.#listeners.set(id, (listeners = new Set()));
    listeners.add(listener);
    const stop = () => wake?.();
    signal?.addEventListener('abort', stop);
    try {
      while (!signal?.aborted) {
        if (queue.length === 0)
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        wake = null;
        // Only the latest state matters to a progress display.
        const latest = queue.splice(0).at(-1);
        if (!latest) continue;
        yield latest;
        if (latest.status !== 'RUNNING') return;
      }
    } finally {
      listeners.delete(listener);
      signal?.removeEventListener('abort', stop);
    }
  }

  #update(job: ScanJob, changes: Partial<ScanJob>): void {
    Object.assign(job, changes);
    for (const listener of this.#listeners.get(job.id) ?? []) listener({ ...job });
  }

  #forgetOld(): void {
    const finished = [...this.#jobs.values()].filter((j) => j.status !== 'RUNNING');
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.#jobs.delete(job.id);
  }
}
