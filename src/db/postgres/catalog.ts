/**
 * The open catalog on PostgreSQL: the same `CatalogDatabase` as the SQLite one, over `pg` pools. Reads (`kysely`,
 * `heavy`, `searches`) share the request pool — pg waits on the network, never on the event loop, so no worker thread
 * is needed; `probe` has its own small pool so /health never queues behind requests; `write()` runs one READ
 * COMMITTED transaction on one pooled connection.
 */
import { Kysely, sql, type Transaction } from 'kysely';
import type { CatalogDatabase, OpenCatalogOptions } from '../catalog-database.ts';
import { postgresDialect } from '../dialect.ts';
import type { Database as CatalogTables } from '../schema.ts';
import { runShapedDirectly } from '../shaped.ts';
import type { CatalogDialect } from '../sqlite/driver.ts';
import { assertReachable, catalogPool, unreachableError, isConnectionError } from './connection.ts';
import { pgReadDialect, pgWriteDialect } from './driver.ts';

/** /health's own connections: one answers, a second covers a probe started while the first is still busy. */
export const PROBE_POOL_SIZE = 2;

/** SQLSTATEs after which a whole write transaction is simply run again (nothing of it was committed). */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
/** Times a write is tried when PostgreSQL reports a serialization failure or a deadlock. */
export const WRITE_ATTEMPTS = 3;

export interface PostgresTarget {
  url: string;
  display: string;
  poolSize: number;
}

export async function openPostgresCatalog(
  target: PostgresTarget,
  options: OpenCatalogOptions = {},
): Promise<CatalogDatabase> {
  const run = { onStatement: options.onStatement };
  const pool = catalogPool({ ...target, max: target.poolSize, applicationName: 'diffusion-nexus' });
  const probePool = catalogPool({ ...target, max: PROBE_POOL_SIZE, applicationName: 'diffusion-nexus-probe' });
  try {
    await assertReachable(pool, target);
  } catch (error) {
    await Promise.all([pool.end(), probePool.end()]);
    throw error;
  }
  const over = (dialect: CatalogDialect) => runShapedDirectly(new Kysely<CatalogTables>({ dialect }), dialect.run);
  const readDialect = pgReadDialect(pool, run);
  const kysely = over(readDialect);
  const probe = over(pgReadDialect(probePool, run));
  const writer = new Kysely<CatalogTables>({ dialect: pgWriteDialect(pool, run) });
  // This process's writes run one after another, as on SQLite: a write that reads and then inserts (a creator by
  // name, a tag) must not race another write of the same process into a unique-constraint failure.
  let writes: Promise<unknown> = Promise.resolve();

  const transaction = async <T>(body: (trx: Transaction<CatalogTables>) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await writer.transaction().execute(body);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt < WRITE_ATTEMPTS && typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) continue;
        if (isConnectionError(error)) throw unreachableError(error, target);
        throw error;
      }
    }
  };
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = writes.then(work, work);
    writes = result.catch(() => undefined);
    return result;
  };

  const db: CatalogDatabase = {
    path: target.display,
    kysely,
    heavy: kysely,
    searches: kysely,
    probe,
    dialect: postgresDialect,
    write: (body) => serialized(() => transaction(body)),
    vacuum: () =>
      serialized(async () => {
        // VACUUM cannot run inside a transaction block; on the pool it runs on its own.
        await sql`VACUUM (ANALYZE)`.execute(kysely);
      }),
    forRequest(scope) {
      const check = () => scope.throwIfStopped();
      const checked = over(readDialect.checked(check));
      return {
        path: db.path,
        dialect: db.dialect,
        probe,
        kysely: checked,
        heavy: checked,
        searches: checked,
        write(body) {
          check();
          return db.write(body);
        },
        vacuum: () => db.vacuum(),
        forRequest: (other) => db.forRequest(other),
        close: () => db.close(),
      };
    },
    async close() {
      await writes;
      await Promise.all([kysely.destroy(), probe.destroy(), writer.destroy()]);
      await Promise.all([pool.end(), probePool.end()]);
    },
  };
  return db;
}
