/**
 * The open catalog on PostgreSQL: the same `CatalogDatabase` as the SQLite one, over `pg` pools. Reads (`kysely`,
 * `heavy`, `statements`, `searchStatements`) share the request pool — pg waits on the network, never on the event
 * loop, so no worker thread is needed; `probe` has its own small pool so /health never queues behind requests;
 * `write()` runs one READ COMMITTED transaction on one pooled connection.
 */
import { Kysely, sql, type Transaction } from 'kysely';
import { AppError } from '../../errors.ts';
import type { CatalogDatabase, OpenCatalogOptions } from '../catalog-database.ts';
import { BUSY_TIMEOUT_MS } from '../database-errors.ts';
import { postgresDialect } from '../dialect.ts';
import type { Database as CatalogTables } from '../schema.ts';
import { RequestCatalog, type RequestQueries } from '../request-catalog.ts';
import { catalogKysely } from '../shaped.ts';
import { assertReachable, catalogPool, isConnectionError, unreachableError } from './connection.ts';
import { pgReadDialect, pgWriteDialect } from './driver.ts';
import { listenForRevisions } from './revision-listener.ts';

/** /health's own connections: one answers, a second covers a probe started while the first is still busy. */
export const PROBE_POOL_SIZE = 2;

/**
 * SQLSTATEs after which a whole write transaction is simply run again (nothing of it was committed): serialization
 * failures, deadlocks, and unique violations. Writes find-or-create by unique keys (a creator by name, a tag by its
 * normalized name, a model or version by Civitai id) — read, then insert when missing. Another process can insert
 * the same key between the two; under READ COMMITTED our INSERT then waits for its transaction and fails once it has
 * committed, so running ours again reads the row it made. (The per-process queue below only orders this process.)
 */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '23505']);
/**
 * Times a write is tried. Each retry follows another writer's commit of a row we wanted; a model import can meet a
 * new creator and several new tags, each created by someone else at that very moment.
 */
export const WRITE_ATTEMPTS = 5;

/** A unique violation that outlived every attempt: a real conflict (a name already taken), not a race. */
function uniqueConflict(error: unknown): AppError {
  const constraint = (error as { constraint?: unknown }).constraint;
  return new AppError(
    'CONFLICT',
    `The write conflicts with a stored row${typeof constraint === 'string' ? ` (${constraint})` : ''}; nothing of it was written.`,
  );
}

export interface PostgresTarget {
  url: string;
  display: string;
  poolSize: number;
}

export async function openPostgresCatalog(
  target: PostgresTarget,
  options: OpenCatalogOptions = {},
): Promise<CatalogDatabase> {
  // Every statement, read or write, waits at most this long for a lock another connection holds (see catalogPool).
  const lockWaitMs = options.lockWaitMs ?? BUSY_TIMEOUT_MS;
  const pool = catalogPool({ ...target, max: target.poolSize, applicationName: 'diffusion-nexus', lockWaitMs });
  const probePool = catalogPool({
    ...target,
    max: PROBE_POOL_SIZE,
    applicationName: 'diffusion-nexus-probe',
    lockWaitMs,
  });
  // Cancels of statements whose requests stopped: a connection of their own (the request pool may be full of the
  // very statements to cancel), opened when first needed and closed when idle.
  const cancelPool = catalogPool({ ...target, max: 1, applicationName: 'diffusion-nexus-cancel', lockWaitMs });
  const cancelBackend = async (processId: number) => {
    await cancelPool.query('SELECT pg_cancel_backend($1)', [processId]);
  };
  const run = { onStatement: options.onStatement, target, lockWaitMs, cancelBackend };
  try {
    await assertReachable(pool, target);
  } catch (error) {
    await Promise.all([pool.end(), probePool.end(), cancelPool.end()]);
    throw error;
  }
  const readDialect = pgReadDialect(pool, run);
  const kysely = catalogKysely(readDialect);
  const probe = catalogKysely(pgReadDialect(probePool, run));
  const writer = new Kysely<CatalogTables>({ dialect: pgWriteDialect(pool, run) });
  // This process's writes run one after another, as on SQLite: a write that reads and then inserts (a creator by
  // name, a tag) must not race another write of the same process into a unique-constraint failure.
  let writes: Promise<unknown> = Promise.resolve();

  const transaction = async <T>(body: (trx: Transaction<CatalogTables>) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await writer.transaction().execute(body);
      } catch (error) {
        if (error instanceof AppError) throw error;
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt < WRITE_ATTEMPTS && typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) continue;
        if (isConnectionError(error)) throw unreachableError(error, target);
        if (code === '23505') throw uniqueConflict(error);
        throw error;
      }
    }
  };
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = writes.then(work, work);
    writes = result.catch(() => undefined);
    return result;
  };

  const requestQueries: RequestQueries = {
    reads: (scope) =>
      catalogKysely(
        readDialect.checked(() => scope.throwIfStopped(), scope.signal),
        kysely,
      ),
    runRead: (scope, compiled) => readDialect.runChecked(compiled, () => scope.throwIfStopped(), scope.signal),
    write: (_scope, body) => db.write(body),
  };
  const db: CatalogDatabase = {
    path: target.display,
    kysely,
    heavy: kysely,
    statements: kysely,
    searchStatements: kysely,
    probe,
    dialect: postgresDialect,
    write: (body) => serialized(() => transaction(body)),
    watchRevision: (onChange) => listenForRevisions(target, onChange),
    vacuum: () =>
      serialized(async () => {
        // VACUUM cannot run inside a transaction block; on the pool it runs on its own.
        await sql`VACUUM (ANALYZE)`.execute(kysely);
      }),
    forRequest: (scope) => new RequestCatalog(db, requestQueries, scope),
    async close() {
      await writes;
      await Promise.all([kysely.destroy(), probe.destroy(), writer.destroy()]);
      await Promise.all([pool.end(), probePool.end(), cancelPool.end()]);
    },
  };
  return db;
}
