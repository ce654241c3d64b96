/**
 * The download queue: jobs are rows of `Downloads`, so they outlive the process; this class runs them, at most
 * `concurrency` at a time. A running job is leased by this process (renewed every second with its progress); a
 * job whose lease lapsed, or whose process on this machine is gone (killed, crashed), is taken over by the next
 * queue that looks — the server at start and whenever a job is added, resumed or retried — and continues from its
 * `.part` file. The server's queue runs any job; a CLI run's queue runs only the jobs it added (`scope: 'own'`).
 *
 * Control goes through the row: cancel, pause, resume and retry change its state (one conditional update), and the
 * process running the job notices at its next lease renewal — at once when that is this process.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CivitaiClient } from '../civitai/client.ts';
import type { CivitaiSettings } from '../config.ts';
import type { CatalogDatabase, CatalogTransaction } from '../db/catalog-database.ts';
import type { Row, RowValues } from '../db/row-writer.ts';
import {
  activeDownloadOfFile,
  type CatalogFileForDownload,
  countDownloads,
  type DownloadRow,
  type DownloadState,
  downloadById,
  downloadsPage,
  FINAL_STATES,
  insertDownload,
  modelFileRow,
  presentCopies,
  RUNNABLE_STATES,
  runnableDownloads,
  updateDownload,
} from '../db/tables/downloads.ts';
import { archivePayload } from '../db/tables/metadata-history.ts';
import { versionById } from '../db/tables/model-versions.ts';
import { parseStoredTimestamp } from '../db/timestamps.ts';
import { AppError, isAppError } from '../errors.ts';
import { type ArchivedPayload, preparePayload } from '../history/payload-archive.ts';
import { FileHasher } from '../library/hashing/file-hasher.ts';
import { StreamHasher, type StreamHashes } from '../library/hashing/stream-hasher.ts';
import { chooseFileName, sanitizeFileName } from './names.ts';
import {
  hashDisagreement,
  linkDownloaded,
  makeFolderInside,
  placeFile,
  removePartFile,
  thumbnailFromFirstImage,
  writeSidecars,
} from './placement.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, transferFile } from './transfer.ts';

/** What GraphQL and the CLI see of a job: its row, with the live speed and ETA where this process runs it. */
export interface DownloadJob {
  id: number;
  state: DownloadState;
  versionCivitaiId: number;
  fileCivitaiId: number | null;
  modelFileId: number | null;
  targetDirectory: string;
  fileName: string | null;
  localPath: string | null;
  alreadyPresent: boolean;
  sidecars: boolean;
  expectedSha256: string | null;
  actualSha256: string | null;
  totalBytes: number | null;
  receivedBytes: number;
  /** Bytes per second over the last few seconds (null when not transferring here). */
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  attempts: number;
  errorCode: string | null;
  message: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface DownloadQueueOptions {
  db: CatalogDatabase;
  civitai: CivitaiClient;
  civitaiSettings: CivitaiSettings;
  libraryRoots: readonly string[];
  thumbnailSide: number;
  concurrency: number;
  /** `all`: run any job (the server); `own`: only jobs this queue added (a CLI run). */
  scope: 'all' | 'own';
  retry?: RetryPolicy;
  /** How long a lease lasts without renewal (default 30 s); renewed every `heartbeatMs` (default 1 s). */
  leaseMs?: number;
  heartbeatMs?: number;
  /** Lines of a job's log (retries, restarts, what was skipped). */
  log?: (jobId: number, message: string) => void;
}

export interface NewDownload {
  catalog: CatalogFileForDownload;
  fileCivitaiId: number | null;
  /** Absolute folder inside the library roots (created when the job starts). */
  targetDir: string;
  sidecars: boolean;
}

interface Live {
  controller: AbortController;
  row: DownloadRow;
  received: number;
  total: number | null;
  samples: { at: number; bytes: number }[];
  /** `pause`: this job was paused (its row says so); `pause-all`: the whole queue pauses (stopAll('pause')). */
  stopReason: 'pause' | 'pause-all' | 'cancel' | 'shutdown' | 'lease-lost' | null;
  lastEmit: number;
}

const PAST_TENSE = { cancel: 'cancelled', pause: 'paused', resume: 'resumed', retry: 'retried' } as const;

const SPEED_WINDOW_MS = 3000;
const EMIT_INTERVAL_MS = 100;
/** Followers of a job run elsewhere (another process) see its row re-read this often. */
const FOLLOW_POLL_MS = 1000;
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 1000;

function num(value: number | bigint | null): number | null {
  return value === null ? null : Number(value);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DownloadQueue {
  readonly owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #options: DownloadQueueOptions;
  readonly #db: CatalogDatabase;
  readonly #running = new Map<number, Live>();
  readonly #settled = new Set<Promise<void>>();
  readonly #own = new Set<number>();
  readonly #listeners = new Map<number, Set<() => void>>();
  #timer: NodeJS.Timeout | null = null;
  #pumping: Promise<void> | null = null;
  #pumpAgain = false;
  #stopping = false;

  constructor(options: DownloadQueueOptions) {
    this.#options = options;
    this.#db = options.db;
  }

  get #leaseMs(): number {
    return this.#options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Picks up jobs that are waiting or were interrupted (settles once the first ones are claimed). */
  start(): Promise<void> {
    return this.#pump();
  }

  /**
   * Stops every running job between chunks and waits for them. `resume-later` (the server) leaves them to be taken
   * up again by the next start; `pause` (an interrupted CLI run) marks them and this queue's waiting jobs PAUSED.
   */
  async stopAll(mode: 'resume-later' | 'pause' = 'resume-later'): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#pumping;
    for (const live of this.#running.values()) {
      live.stopReason = mode === 'pause' ? 'pause-all' : 'shutdown';
      live.controller.abort(new AppError('CLIENT_GONE', 'The download was stopped.'));
    }
    await Promise.all(this.#settled);
    const now = new Date();
    await this.#db.write(async (trx) => {
      const mine = await runnableDownloads(trx, null);
      for (const row of mine) {
        // A stopped job has let its lease go already (#settleFailure): it is still this queue's to pause. A job
        // another process holds (one this run joined) is left alone.
        const held = row.LeaseOwner === this.owner;
        if (!held && !(mode === 'pause' && row.LeaseOwner === null && this.#own.has(row.Id))) continue;
        await updateDownload(
          trx,
          row.Id,
          mode === 'pause'
            ? { State: 'PAUSED', LeaseOwner: null, LeaseUntil: null, UpdatedAt: now }
            : { LeaseOwner: null, LeaseUntil: null, UpdatedAt: now },
          held ? { leaseOwner: this.owner } : { states: RUNNABLE_STATES },
        );
      }
    });
    for (const id of this.#own) this.#emit(id);
  }

  // ---------------------------------------------------------------- reading

  /** The job as stored (the state others may have changed), with this process's live progress when it runs it. */
  async get(id: number): Promise<DownloadJob | null> {
    const row = await downloadById(this.#db.kysely, id);
    return row ? this.#view(row, this.#running.get(id)) : null;
  }

  async page(state: DownloadState | null, beforeId: number | null, limit: number) {
    const rows = await downloadsPage(this.#db.kysely, state, beforeId, limit);
    return {
      jobs: rows.slice(0, limit).map((row) => this.#view(row, this.#running.get(row.Id))),
      hasMore: rows.length > limit,
      count: () => countDownloads(this.#db.kysely, state),
    };
  }

  /** The job now and as it changes (at most ten times a second), ending after it reaches DONE, FAILED or CANCELLED. */
  async *follow(id: number, signal?: AbortSignal): AsyncGenerator<DownloadJob> {
    let job = await this.get(id);
    if (!job) throw new AppError('NOT_FOUND', `No download ${id}.`);
    yield job;
    let wake: (() => void) | null = null;
    const listener = () => wake?.();
    let listeners = this.#listeners.get(id);
    if (!listeners) this.#listeners.set(id, (listeners = new Set()));
    listeners.add(listener);
    signal?.addEventListener('abort', listener);
    try {
      let last = JSON.stringify(job);
      while (!signal?.aborted && !FINAL_STATES.includes(job.state)) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, FOLLOW_POLL_MS).unref();
        });
        wake = null;
        if (signal?.aborted) return;
        job = (await this.get(id)) ?? job;
        const text = JSON.stringify(job);
        if (text !== last) {
          last = text;
          yield job;
        }
      }
    } finally {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(id);
      signal?.removeEventListener('abort', listener);
    }
  }

  // ---------------------------------------------------------------- adding and control

  /**
   * Adds a download of `request.catalog.file`, unless a job for that file is already waiting or running (that job
   * is returned: one transfer) or a verified copy is already in the library (a job done at once says where).
   */
  async enqueue(request: NewDownload): Promise<DownloadJob> {
    if (this.#stopping) throw new AppError('CONFLICT', 'Downloads are stopping (the server is shutting down).');
    const file = request.catalog.file;
    const present = await this.#presentCopy(file);
    // Sidecars asked for beside a file that is already there are written beside it (those missing).
    const sidecars =
      present && request.sidecars
        ? await this.#writeSidecarsBeside(present.path, file, request.catalog.versionCivitaiId, null)
        : null;
    const sidecarNote = sidecars?.note ?? null;
    const now = new Date();
    const id = await this.#db.write(async (trx) => {
      await archiveRead(trx, file, sidecars?.payload ?? null, now);
      const active = await activeDownloadOfFile(trx, file.Id as number);
      if (active) {
        if (active.State === 'PAUSED')
          await updateDownload(trx, active.Id, { State: 'QUEUED', ...this.#lease(now), UpdatedAt: now });
        return active.Id;
      }
      const base: RowValues = {
        VersionCivitaiId: request.catalog.versionCivitaiId,
        FileCivitaiId: request.fileCivitaiId ?? (file.CivitaiId as number | null),
        ModelFileId: file.Id as number,
        TargetDir: request.targetDir,
        Sidecars: request.sidecars,
        ExpectedSHA256: (file.HashSHA256 as string | null)?.toUpperCase() ?? null,
        ReceivedBytes: 0n,
        Attempts: 0,
        CreatedAt: now,
        UpdatedAt: now,
      };
      if (present)
        return insertDownload(trx, {
          ...base,
          State: 'DONE',
          AlreadyPresent: true,
          LocalPath: present.path,
          FileName: path.basename(present.path),
          ActualSHA256: base.ExpectedSHA256 ?? null,
          TotalBytes: BigInt(present.size),
          ReceivedBytes: 0n,
          ErrorMessage: `Already in the library at ${present.path}: nothing was downloaded${sidecarNote ? `; ${sidecarNote}` : ''}.`,
          FinishedAt: now,
        });
      return insertDownload(trx, { ...base, State: 'QUEUED', AlreadyPresent: false, ...this.#lease(now) });
    });
    this.#own.add(id);
    void this.#pump();
    return (await this.get(id))!;
  }

  cancel(id: number): Promise<DownloadJob> {
    return this.#control(id, 'cancel');
  }

  pause(id: number): Promise<DownloadJob> {
    return this.#control(id, 'pause');
  }

  resume(id: number): Promise<DownloadJob> {
    return this.#control(id, 'resume');
  }

  retry(id: number): Promise<DownloadJob> {
    return this.#control(id, 'retry');
  }

  async #control(id: number, action: 'cancel' | 'pause' | 'resume' | 'retry'): Promise<DownloadJob> {
    const now = new Date();
    const outcome = await this.#db.write(async (trx) => {
      const row = await downloadById(trx, id);
      if (!row) throw new AppError('NOT_FOUND', `No download ${id}.`);
      const refuse = (allowed: string) =>
        new AppError(
          'CONFLICT',
          `Download ${id} is ${row.State}: it can be ${PAST_TENSE[action]} only when ${allowed}.`,
          {
            state: row.State,
          },
        );
      const leaseHeldElsewhere = row.LeaseOwner !== null && row.LeaseOwner !== this.owner && !this.#mayTake(row, now);
      switch (action) {
        case 'cancel':
          if (row.State === 'CANCELLED') return { row, changed: false, removePart: false };
          if (row.State === 'DONE' || row.State === 'FAILED') throw refuse('waiting, running or paused');
          await updateDownload(trx, id, { State: 'CANCELLED', FinishedAt: now, UpdatedAt: now });
          // The process running it removes its .part file when it notices; nobody runs it: removed here.
          return { row, changed: true, removePart: !this.#running.has(id) && !leaseHeldElsewhere };
        case 'pause':
          if (row.State === 'PAUSED') return { row, changed: false, removePart: false };
          if (row.State !== 'QUEUED' && row.State !== 'DOWNLOADING') throw refuse('waiting or downloading');
          await updateDownload(trx, id, { State: 'PAUSED', UpdatedAt: now });
          return { row, changed: true, removePart: false };
        case 'resume':
          if (row.State === 'QUEUED' || row.State === 'DOWNLOADING' || row.State === 'VERIFYING')
            return { row, changed: false, removePart: false };
          if (row.State !== 'PAUSED') throw refuse('paused (use retryDownload for a failed or cancelled one)');
          await updateDownload(trx, id, { State: 'QUEUED', ...this.#lease(now), UpdatedAt: now });
          return { row, changed: true, removePart: false };
        case 'retry':
          if (row.State !== 'FAILED' && row.State !== 'CANCELLED') throw refuse('failed or cancelled');
          await updateDownload(trx, id, {
            State: 'QUEUED',
            ErrorCode: null,
            ErrorMessage: null,
            FinishedAt: null,
            ...this.#lease(now),
            UpdatedAt: now,
          });
          return { row, changed: true, removePart: false };
      }
    });
    const live = this.#running.get(id);
    if (outcome.changed && live && (action === 'cancel' || action === 'pause')) {
      live.stopReason = action;
      live.controller.abort(
        new AppError('CLIENT_GONE', `The download was ${action === 'cancel' ? 'cancelled' : 'paused'}.`),
      );
    }
    if (outcome.removePart) await removePartFile(outcome.row.PartPath);
    if (action === 'resume' || action === 'retry') {
      this.#own.add(id);
      void this.#pump();
    }
    this.#emit(id);
    return (await this.get(id))!;
  }

  /** The jobs `ids` as stored now (those that exist). */
  async jobs(ids: readonly number[]): Promise<DownloadJob[]> {
    return (await Promise.all(ids.map((id) => this.get(id)))).filter((j): j is DownloadJob => j !== null);
  }

  /**
   * Whether job `id` is being run by another process (whose lease is live): a request that joined it waits for that
   * process, and takes the job over if that process goes away.
   */
  async runElsewhere(id: number): Promise<boolean> {
    const row = await downloadById(this.#db.kysely, id);
    return (
      row !== undefined &&
      row !== null &&
      RUNNABLE_STATES.includes(row.State) &&
      row.LeaseOwner !== null &&
      row.LeaseOwner !== this.owner &&
      !this.#mayTake(row, new Date())
    );
  }

  /**
   * Waits until every one of `ids` is DONE, FAILED or CANCELLED (PAUSED counts as settled for a CLI run), or until
   * `signal` aborts (the jobs as they are then). The wait keeps the process alive: a job run by another process
   * (which this queue takes over should that process go away) holds no handle of this one.
   */
  async settled(
    ids: readonly number[],
    onChange: (jobs: DownloadJob[]) => void,
    signal?: AbortSignal,
  ): Promise<DownloadJob[]> {
    for (;;) {
      const jobs = await this.jobs(ids);
      onChange(jobs);
      if (signal?.aborted || jobs.every((job) => FINAL_STATES.includes(job.state) || job.state === 'PAUSED'))
        return jobs;
      // Jobs held by a process that is gone (or whose lease lapsed) are taken over.
      if (!this.#stopping && jobs.some((job) => RUNNABLE_STATES.includes(job.state) && !this.#running.has(job.id)))
        void this.#pump();
      let wake: () => void = () => undefined;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        for (const id of ids) {
          let listeners = this.#listeners.get(id);
          if (!listeners) this.#listeners.set(id, (listeners = new Set()));
          listeners.add(wake);
        }
        signal?.addEventListener('abort', wake, { once: true });
        timer = setTimeout(resolve, FOLLOW_POLL_MS);
      });
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      for (const id of ids) this.#listeners.get(id)?.delete(wake);
    }
  }

  // ---------------------------------------------------------------- running

  #lease(now: Date): RowValues {
    return { LeaseOwner: this.owner, LeaseUntil: new Date(now.getTime() + this.#leaseMs) };
  }

  /** Whether this process may take the job: its own, unleased, lease lapsed, or its owner on this machine is gone. */
  #mayTake(row: DownloadRow, now: Date): boolean {
    if (row.LeaseOwner === null || row.LeaseOwner === this.owner) return true;
    const until = parseStoredTimestamp(row.LeaseUntil);
    if (!until || until.getTime() < now.getTime()) return true;
    const [host, pid] = row.LeaseOwner.split(':');
    // Another queue of this same process (tests run several) is alive by definition: only its lease can lapse.
    return host === os.hostname() && Number(pid) !== process.pid && Number(pid) > 0 && !processAlive(Number(pid));
  }

  #pump(): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return this.#pumping;
    }
    this.#pumping = (async () => {
      try {
        do {
          this.#pumpAgain = false;
          while (!this.#stopping && this.#running.size < this.#options.concurrency) {
            const row = await this.#claim();
            if (!row) break;
            this.#launch(row);
          }
        } while (this.#pumpAgain && !this.#stopping);
      } finally {
        this.#pumping = null;
      }
    })();
    return this.#pumping;
  }

  async #claim(): Promise<DownloadRow | null> {
    const now = new Date();
    const ids = this.#options.scope === 'own' ? [...this.#own] : null;
    const candidates = (await runnableDownloads(this.#db.kysely, ids)).filter(
      (row) => !this.#running.has(row.Id) && this.#mayTake(row, now),
    );
    if (candidates.length === 0) return null;
    return this.#db.write(async (trx) => {
      for (const candidate of candidates) {
        const row = await downloadById(trx, candidate.Id);
        if (!row || !RUNNABLE_STATES.includes(row.State) || !this.#mayTake(row, now)) continue;
        const values: RowValues = {
          State: row.State === 'VERIFYING' ? 'VERIFYING' : 'DOWNLOADING',
          ...this.#lease(now),
          StartedAt: parseStoredTimestamp(row.StartedAt) ?? now,
          Attempts: row.Attempts + 1,
          UpdatedAt: now,
        };
        // Only as read: on PostgreSQL (READ COMMITTED) another server can claim the job between our read and this
        // update, which then waits for its commit; unconditioned, it would take the job over a second time.
        if (!(await updateDownload(trx, row.Id, values, { states: [row.State], leaseOwner: row.LeaseOwner }))) continue;
        return (await downloadById(trx, row.Id))!;
      }
      return null;
    });
  }

  #launch(row: DownloadRow): void {
    const live: Live = {
      controller: new AbortController(),
      row,
      received: Number(row.ReceivedBytes),
      total: num(row.TotalBytes),
      samples: [],
      stopReason: null,
      lastEmit: 0,
    };
    this.#running.set(row.Id, live);
    this.#timer ??= setInterval(() => void this.#heartbeat(), this.#options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.#emit(row.Id);
    const settled = this.#execute(live)
      .catch((error: unknown) => this.#settleFailure(live, error))
      .catch((error: unknown) => this.#log(row.Id, `could not record the outcome: ${(error as Error).message}`))
      .finally(() => {
        this.#running.delete(row.Id);
        this.#settled.delete(settled);
        if (this.#running.size === 0 && this.#timer) {
          clearInterval(this.#timer);
          this.#timer = null;
        }
        this.#emit(row.Id);
        if (!this.#stopping) void this.#pump();
      });
    this.#settled.add(settled);
  }

  /** Renews this process's leases with the progress so far; a job whose row changed under it is stopped. */
  async #heartbeat(): Promise<void> {
    if (this.#running.size === 0 || this.#stopping) return;
    const now = new Date();
    const lost: Live[] = [];
    await this.#db
      .write(async (trx) => {
        for (const live of this.#running.values()) {
          const values: RowValues = {
            ...this.#lease(now),
            ReceivedBytes: BigInt(live.received),
            ...(live.total !== null ? { TotalBytes: BigInt(live.total) } : {}),
            UpdatedAt: now,
          };
          const kept = await updateDownload(trx, live.row.Id, values, {
            states: ['DOWNLOADING', 'VERIFYING'],
            leaseOwner: this.owner,
          });
          if (!kept) lost.push(live);
        }
        // Jobs this queue added that wait for a free slot keep their lease too.
        for (const row of await runnableDownloads(trx, [...this.#own]))
          if (row.State === 'QUEUED' && row.LeaseOwner === this.owner && !this.#running.has(row.Id))
            await updateDownload(trx, row.Id, this.#lease(now), { leaseOwner: this.owner });
      })
      .catch((error: unknown) => {
        for (const live of this.#running.values())
          this.#log(live.row.Id, `lease renewal failed: ${(error as Error).message}`);
      });
    for (const live of lost) {
      if (live.stopReason) continue;
      live.stopReason = 'lease-lost';
      live.controller.abort(new AppError('CONFLICT', 'The download was changed by another process.'));
    }
  }

  /** Updates the job's row, and writes `also` in the same transaction. */
  async #setRow(live: Live, values: RowValues, also?: (trx: CatalogTransaction) => Promise<void>): Promise<void> {
    const kept = await this.#db.write(async (trx) => {
      await also?.(trx);
      return updateDownload(trx, live.row.Id, { ...values, UpdatedAt: new Date() }, { leaseOwner: this.owner });
    });
    if (!kept) {
      live.stopReason ??= 'lease-lost';
      throw new AppError('CONFLICT', 'The download was changed by another process.');
    }
    live.row = (await downloadById(this.#db.kysely, live.row.Id)) ?? live.row;
    this.#emit(live.row.Id);
  }

  async #execute(live: Live): Promise<void> {
    const row = live.row;
    const file = row.ModelFileId === null ? undefined : await modelFileRow(this.#db.kysely, row.ModelFileId);
    if (!file)
      throw new AppError('NOT_FOUND', 'The catalog file this download was for is gone (was its model deleted?).');
    // The folder is made only now (a refused request creates nothing), one level at a time, each checked against
    // the roots with symlinks resolved: nothing is created outside them.
    const dir = await makeFolderInside(row.TargetDir, this.#options.libraryRoots);
    if (row.State === 'VERIFYING' && row.LocalPath && !(await exists(row.PartPath))) {
      // Stopped after the verified file was moved into place, before it was linked: link what is there.
      await this.#complete(live, file, row.LocalPath, await hashPlacedFile(row.LocalPath));
      return;
    }
    const partPath = row.PartPath ?? (await this.#choosePartPath(live, dir, file));
    const hasher = new StreamHasher();
    let result: Awaited<ReturnType<typeof transferFile>>;
    try {
      result = await transferFile({
        url: downloadUrl(this.#options.civitaiSettings.baseUrl, row.VersionCivitaiId, file),
        apiKey: this.#options.civitaiSettings.apiKey,
        partPath,
        etag: row.ETag,
        expectedBytes: catalogBytes(file),
        signal: live.controller.signal,
        hasher,
        idleTimeoutMs: this.#options.civitaiSettings.timeoutMs,
        retry: this.#options.retry ?? DEFAULT_RETRY_POLICY,
        onResponse: async ({ etag, totalBytes, resumedFrom }) => {
          live.total = totalBytes;
          live.received = resumedFrom;
          live.samples = [];
          await this.#setRow(live, {
            ETag: etag,
            TotalBytes: totalBytes === null ? null : BigInt(totalBytes),
            ReceivedBytes: BigInt(resumedFrom),
          });
          if (resumedFrom > 0) this.#log(row.Id, `resuming at byte ${resumedFrom}`);
        },
        onProgress: (received, total) => this.#progress(live, received, total),
        log: (message) => this.#log(row.Id, message),
      });
    } finally {
      await hasher.close();
    }
    await this.#setRow(live, {
      State: 'VERIFYING',
      ActualSHA256: result.hashes.sha256,
      ReceivedBytes: BigInt(result.hashes.size),
      TotalBytes: BigInt(result.hashes.size),
    });
    const { mismatch } = hashDisagreement(file, result.hashes);
    if (mismatch) {
      await removePartFile(partPath);
      throw new AppError(
        'HASH_MISMATCH',
        `The downloaded bytes are not the catalog's file: ${mismatch.kind} ${mismatch.actual}, expected ${mismatch.expected}` +
          `${mismatch.kind === 'sha256' ? '' : ` (SHA-256 ${result.hashes.sha256})`}. Nothing was kept.`,
        { expected: mismatch.expected, actual: mismatch.actual, hash: mismatch.kind },
      );
    }
    // The server's name only when it keeps the catalog file's extension (no `.exe`, no `.bashrc`, no bare name).
    const name = chooseFileName(
      result.suggestedName,
      file.FileName === null || file.FileName === undefined ? null : String(file.FileName),
      `civitai-${row.VersionCivitaiId}.bin`,
    );
    const placed = await placeFile(partPath, dir, name, (candidate) =>
      this.#setRow(live, { LocalPath: candidate, FileName: path.basename(candidate) }),
    );
    await this.#setRow(live, { PartPath: null, LocalPath: placed, FileName: path.basename(placed) });
    await this.#complete(live, file, placed, result.hashes);
  }

  /** `<name>.part` beside the target; `<name>.<job>.part` when that is taken (another job, another program). */
  async #choosePartPath(live: Live, dir: string, file: Row): Promise<string> {
    const name = sanitizeFileName(String(file.FileName ?? '')) ?? `civitai-${live.row.VersionCivitaiId}.bin`;
    let partPath = path.join(dir, `${name}.part`);
    if (await exists(partPath)) partPath = path.join(dir, `${name}.${live.row.Id}.part`);
    await this.#setRow(live, { PartPath: partPath });
    return partPath;
  }

  async #complete(live: Live, file: Row, placed: string, hashes: StreamHashes): Promise<void> {
    const id = live.row.Id;
    const now = new Date();
    const fresh = (await modelFileRow(this.#db.kysely, file.Id as number)) ?? file;
    const modelFileId = await linkDownloaded(this.#db, placed, hashes, fresh, now, id);
    let read: ArchivedPayload | null = null;
    if (Number(live.row.Sidecars) === 1)
      read = (await this.#writeSidecarsBeside(placed, fresh, live.row.VersionCivitaiId, id)).payload;
    else
      await thumbnailFromFirstImage(this.#db, file.ModelVersionId as number, this.#options.thumbnailSide, false).catch(
        (error: unknown) => this.#log(id, `no thumbnail from the first image: ${(error as Error).message}`),
      );
    const { checked } = hashDisagreement(fresh, hashes);
    await this.#setRow(
      live,
      {
        State: 'DONE',
        ModelFileId: modelFileId,
        ReceivedBytes: BigInt(hashes.size),
        ErrorMessage: checked ? null : 'The catalog has no hash for this file: it was saved without verification.',
        FinishedAt: now,
        LeaseOwner: null,
        LeaseUntil: null,
      },
      (trx) => archiveRead(trx, fresh, read, now),
    );
    this.#log(id, `done: ${placed}`);
  }

  /**
   * Makes the version's first image its thumbnail and writes the sidecars missing beside `modelPath`; returns what
   * was done, for the job's message, and the version payload read from Civitai, prepared for the archive (the
   * caller keeps it in the transaction that records the job). Failures are reported, never thrown: the model file
   * itself is fine.
   */
  async #writeSidecarsBeside(
    modelPath: string,
    file: Row,
    versionCivitaiId: number,
    jobId: number | null,
  ): Promise<{ note: string; payload: ArchivedPayload | null }> {
    const log = (message: string) => {
      if (jobId !== null) this.#log(jobId, message);
    };
    let imageBytes: Buffer | null = null;
    try {
      imageBytes = await thumbnailFromFirstImage(
        this.#db,
        file.ModelVersionId as number,
        this.#options.thumbnailSide,
        true,
      );
    } catch (error) {
      log(`no thumbnail from the first image: ${(error as Error).message}`);
    }
    let note: string;
    let payload: ArchivedPayload | null = null;
    try {
      const answer = await this.#options.civitai.getModelVersion(versionCivitaiId);
      // Kept like every payload an import or sync reads, whether or not a sidecar is written from it.
      if (answer.found)
        payload = await preparePayload(answer.json, 'version', 'civitai', `Civitai model version ${versionCivitaiId}`);
      const written = await writeSidecars(modelPath, answer.found ? answer.json : null, imageBytes);
      note = `sidecars written: ${written.map((f) => path.basename(f)).join(', ') || 'none (already there)'}`;
    } catch (error) {
      note = `sidecars not written: ${(error as Error).message}`;
    }
    log(note);
    return { note, payload };
  }

  async #settleFailure(live: Live, error: unknown): Promise<void> {
    const id = live.row.Id;
    const now = new Date();
    if (live.stopReason) {
      const row = await downloadById(this.#db.kysely, id);
      if (row?.State === 'CANCELLED') await removePartFile(row.PartPath);
      // Paused, cancelled or shut down: the row already says so (a pause of the whole queue says so here, in the
      // same transaction, so no other process takes the job meanwhile); the lease goes so the job can move again.
      await this.#db.write(async (trx) => {
        // Only a job still DOWNLOADING here: one resumed meanwhile (QUEUED again) stays resumed.
        if (live.stopReason === 'pause-all')
          await updateDownload(trx, id, { State: 'PAUSED' }, { states: ['DOWNLOADING'], leaseOwner: this.owner });
        await updateDownload(
          trx,
          id,
          { LeaseOwner: null, LeaseUntil: null, ReceivedBytes: BigInt(live.received), UpdatedAt: now },
          { leaseOwner: this.owner },
        );
      });
      this.#log(id, `stopped (${live.stopReason})`);
      return;
    }
    const code = isAppError(error) ? error.code : 'DOWNLOAD_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'DISK_FULL' || code === 'HASH_MISMATCH') await removePartFile(live.row.PartPath);
    await this.#db.write((trx) =>
      updateDownload(
        trx,
        id,
        {
          State: 'FAILED',
          ErrorCode: code,
          ErrorMessage: message,
          FinishedAt: now,
          LeaseOwner: null,
          LeaseUntil: null,
          ReceivedBytes: BigInt(live.received),
          UpdatedAt: now,
        },
        { leaseOwner: this.owner },
      ),
    );
    live.row = (await downloadById(this.#db.kysely, id)) ?? live.row;
    this.#log(id, `failed [${code}]: ${message}`);
  }

  #progress(live: Live, received: number, total: number | null): void {
    live.received = received;
    live.total = total;
    const now = Date.now();
    live.samples.push({ at: now, bytes: received });
    while (live.samples.length > 2 && now - live.samples[0]!.at > SPEED_WINDOW_MS) live.samples.shift();
    if (now - live.lastEmit >= EMIT_INTERVAL_MS) {
      live.lastEmit = now;
      this.#emit(live.row.Id);
    }
  }

  #emit(id: number): void {
    for (const listener of this.#listeners.get(id) ?? []) listener();
  }

  #log(id: number, message: string): void {
    this.#options.log?.(id, message);
  }

  async #presentCopy(file: Row): Promise<{ path: string; size: number } | null> {
    const candidates: string[] = [];
    if (file.LocalPath && Number(file.IsLocalFileValid) === 1) candidates.push(file.LocalPath as string);
    const sha256 = file.HashSHA256 as string | null;
    if (sha256) for (const copy of await presentCopies(this.#db.kysely, sha256)) candidates.push(copy.LocalPath);
    for (const candidate of candidates) {
      const info = await stat(candidate).catch(() => null);
      if (info?.isFile()) return { path: candidate, size: info.size };
    }
    return null;
  }

  #view(row: DownloadRow, running: Live | undefined): DownloadJob {
    let live = running;
    // Live figures only while the job transfers here: a stopped job shows what its row says.
    if (live && row.State !== 'DOWNLOADING') live = undefined;
    const received = live ? live.received : Number(row.ReceivedBytes);
    const total = live?.total ?? num(row.TotalBytes);
    let speed: number | null = null;
    if (live && live.samples.length >= 2) {
      const first = live.samples[0]!;
      const last = live.samples.at(-1)!;
      speed = last.at > first.at ? ((last.bytes - first.bytes) * 1000) / (last.at - first.at) : null;
    }
    const eta = speed && speed > 0 && total !== null ? Math.max(0, (total - received) / speed) : null;
    return {
      id: row.Id,
      state: row.State,
      versionCivitaiId: row.VersionCivitaiId,
      fileCivitaiId: row.FileCivitaiId,
      modelFileId: row.ModelFileId,
      targetDirectory: row.TargetDir,
      fileName: row.FileName,
      localPath: row.LocalPath,
      alreadyPresent: Number(row.AlreadyPresent) === 1,
      sidecars: Number(row.Sidecars) === 1,
      expectedSha256: row.ExpectedSHA256,
      actualSha256: row.ActualSHA256,
      totalBytes: total,
      receivedBytes: received,
      bytesPerSecond: row.State === 'DOWNLOADING' ? speed : null,
      etaSeconds: row.State === 'DOWNLOADING' ? eta : null,
      attempts: row.Attempts,
      errorCode: row.ErrorCode,
      message: row.ErrorMessage,
      createdAt: parseStoredTimestamp(row.CreatedAt)!,
      updatedAt: parseStoredTimestamp(row.UpdatedAt)!,
      startedAt: parseStoredTimestamp(row.StartedAt),
      finishedAt: parseStoredTimestamp(row.FinishedAt),
    };
  }
}

async function exists(file: string | null): Promise<boolean> {
  if (!file) return false;
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** A placed file's hashes, read again (a run stopped between placing and linking it). */
async function hashPlacedFile(file: string): Promise<StreamHashes> {
  const hasher = new FileHasher();
  try {
    const { mtimeMs: _mtime, safetensorsMetadata: _metadata, ...hashes } = await hasher.hash(file);
    return hashes;
  } finally {
    await hasher.close();
  }
}

/** Keeps `payload` (read for the version of `file`) with the version's model, as an import keeps what it reads. */
async function archiveRead(
  trx: CatalogTransaction,
  file: Row,
  payload: ArchivedPayload | null,
  now: Date,
): Promise<void> {
  if (!payload) return;
  const version = await versionById(trx, file.ModelVersionId as number);
  if (version) await archivePayload(trx, version.ModelId as number, payload, now);
}

/** The catalog's size of a file in bytes (Civitai gives KB with fractions), for the free-space check. */
function catalogBytes(file: Row): number | null {
  const kb = Number(file.SizeKB);
  return Number.isFinite(kb) && kb > 0 ? Math.ceil(kb * 1024) : null;
}

/**
 * `{base}/api/download/models/{versionId}`, with `type`/`format`/`size`/`fp` naming a file other than the primary
 * (how Civitai's own links tell a version's files apart).
 */
export function downloadUrl(baseUrl: string, versionCivitaiId: number, file: Row): string {
  const url = new URL(`${baseUrl}/api/download/models/${versionCivitaiId}`);
  if (Number(file.IsPrimary) !== 1) {
    const fileType = String(file.FileType ?? '');
    if (fileType) url.searchParams.set('type', fileType);
    const format = String(file.Format ?? '');
    if (format && format !== 'Unknown' && format !== 'Other') url.searchParams.set('format', format);
    const size = String(file.SizeType ?? '').toLowerCase();
    if (size === 'full' || size === 'pruned') url.searchParams.set('size', size);
    const precision = String(file.Precision ?? '').toLowerCase();
    if (precision && precision !== 'unknown') url.searchParams.set('fp', precision);
  }
  return url.href;
}
