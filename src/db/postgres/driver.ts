/**
 * Kysely's PostgreSQL dialect (compiler, adapter, introspector) over the catalog's `pg` pools, with what the SQLite
 * driver offers too: `onStatement` sees every statement, a request's stop check runs right before each of its
 * statements, and compiled statements can run directly (see `shaped.ts`). Reads take any pooled connection per
 * statement; a transaction holds one connection from BEGIN to COMMIT.
 */
import type pg from 'pg';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import type { CatalogDialect } from '../sqlite/driver.ts';
import { isAppError } from '../../errors.ts';
import { isConnectionError, isLockTimeout, lockedError, type PoolSettings, unreachableError } from './connection.ts';

export interface PgRunOptions {
  onStatement?: ((sqlText: string, parameters: readonly unknown[]) => void) | undefined;
  /** The catalog's URL: a lost connection becomes DATABASE_UNREACHABLE naming it (without its password). */
  target?: Pick<PoolSettings, 'url' | 'display'> | undefined;
  /**
   * Asks the server, over another connection, to cancel what the backend with this process id is running. Resolves
   * once the server has signalled it (a backend that has finished by then ignores the signal while it waits for
   * its next statement).
   */
  cancelBackend?: ((processId: number) => Promise<void>) | undefined;
  /** The pool's lock wait (its `lock_timeout`, see `catalogPool`): one that ran out becomes DATABASE_LOCKED. */
  lockWaitMs?: number | undefined;
}

/** SQLSTATE of a statement cancelled on request (ours, through `cancelBackend`). */
const QUERY_CANCELED = '57014';

/** A pooled pg client or the pool itself: both run `query(text, values)`. */
type Queryable = Pick<pg.Pool, 'query' | 'connect'> | Pick<pg.PoolClient, 'query'>;

const MODIFYING = /^\s*(insert|update|delete|merge)\b/i;

/**
 * Statements run as named prepared statements: PostgreSQL parses and plans a name once per connection instead of at
 * every run, which for the catalog's short indexed reads is a large part of their cost. Names are per statement text
 * (pg refuses one name for two texts), and only the first texts of the process get one: every connection keeps its
 * prepared statements until it closes, so statements built with varying text (filters, ad-hoc tools) must not pile
 * up there. The catalog's own statements are built per shape (`shaped.ts`), a few hundred at most.
 */
const MAX_NAMED_STATEMENTS = 2000;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `dn_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return name;
}

/** The statement as pg runs it: named when it has parameters (statements such as BEGIN or VACUUM keep the simple protocol). */
function queryConfig(compiled: CompiledQuery): pg.QueryConfig {
  const values = compiled.parameters as unknown[];
  const name = values.length > 0 ? statementName(compiled.sql) : undefined;
  return name === undefined ? { text: compiled.sql, values } : { name, text: compiled.sql, values };
}

/** Runs one compiled statement on `target` and returns it as Kysely's result. */
export async function runOn<R>(
  target: Queryable,
  compiled: CompiledQuery,
  options: PgRunOptions,
  beforeStatement?: () => void,
  signal?: AbortSignal,
): Promise<QueryResult<R>> {
  beforeStatement?.();
  let result: pg.QueryResult;
  try {
    if (beforeStatement && 'connect' in target)
      result = await queryWhenConnected(target, compiled, options, beforeStatement, signal);
    else {
      options.onStatement?.(compiled.sql, compiled.parameters);
      result = await target.query(queryConfig(compiled));
    }
  } catch (error) {
    // The server went away or ended this connection (a restart, pg_terminate_backend, the network): the request
    // gets a coded error, and the pool drops the broken connection (pg-pool never hands out one that failed so),
    // so the next statement connects anew.
    if (options.target && isConnectionError(error)) throw unreachableError(error, options.target);
    if (options.target && options.lockWaitMs !== undefined && isLockTimeout(error))
      throw lockedError(options.target, options.lockWaitMs);
    throw error;
  }
  const rows = (result.rows ?? []) as R[];
  if (MODIFYING.test(compiled.sql) && result.rowCount !== null)
    return { rows, numAffectedRows: BigInt(result.rowCount) };
  return { rows };
}

/**
 * A request's statement on the pool, checked again once a connection is its own. When every connection is busy,
 * statements wait in the pool's queue — one request's aliases issue dozens at once — and a check made only before
 * that wait would let every one of them run after their client left or their time limit passed. As `pool.query`
 * does, the client is released with the error of a failed statement (the pool then drops it), and its 'error'
 * event (the connection died while held) fails the statement instead of the process. A statement under way when
 * its request stops (the client left, the time limit passed) is cancelled on the server, so nothing runs on for
 * nobody there either; its connection goes back to the pool only once the cancel has been delivered, so the signal
 * can never reach another request's statement.
 */
async function queryWhenConnected(
  pool: Pick<pg.Pool, 'connect'>,
  compiled: CompiledQuery,
  options: PgRunOptions,
  check: () => void,
  signal: AbortSignal | undefined,
): Promise<pg.QueryResult> {
  const client = await pool.connect();
  let died: Error | undefined;
  const onError = (error: Error) => {
    died = error;
  };
  client.on('error', onError);
  let failure: Error | undefined;
  try {
    check();
    options.onStatement?.(compiled.sql, compiled.parameters);
    const running = client.query(queryConfig(compiled));
    const { cancelBackend } = options;
    if (!signal || !cancelBackend) return await running;
    let cancelled: Promise<void> | undefined;
    const cancel = () => {
      // A failed cancel leaves the statement to finish on its own, as before: the request has stopped either way.
      // (`processID`: the backend's, sent by the server at connect; @types/pg does not declare it.)
      const { processID } = client as pg.PoolClient & { processID: number };
      cancelled = cancelBackend(processID).catch(() => undefined);
    };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return await running;
    } catch (error) {
      if (cancelled && (error as { code?: unknown }).code === QUERY_CANCELED) throw signal.reason;
      throw error;
    } finally {
      signal.removeEventListener('abort', cancel);
      await cancelled;
    }
  } catch (error) {
    // A stopped request sent nothing on the connection, or had its statement cancelled: either way the connection
    // is ready for the next statement and goes back to the pool as it is.
    if (!isAppError(error)) failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(died ?? failure);
  }
}

class RunnerConnection implements DatabaseConnection {
  readonly #target: Queryable;
  readonly #options: PgRunOptions;
  readonly #check: (() => void) | undefined;
  readonly #signal: AbortSignal | undefined;

  constructor(target: Queryable, options: PgRunOptions, check?: () => void, signal?: AbortSignal) {
    this.#target = target;
    this.#options = options;
    this.#check = check;
    this.#signal = signal;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return runOn<R>(this.#target, compiled, this.#options, this.#check, this.#signal);
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered (the catalog reads bounded pages)
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('The catalog does not stream query results.');
  }
}

function dialectWith(driver: Driver): Dialect {
  return {
    createDriver: () => driver,
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createAdapter: () => new PostgresAdapter(),
    createIntrospector: (db: Kysely<unknown>) => new PostgresIntrospector(db),
  };
}

/** Reads on the pool: each statement takes any idle connection. Transactions run through `write()`. */
export function pgReadDialect(
  pool: pg.Pool,
  options: PgRunOptions,
  check?: () => void,
  signal?: AbortSignal,
): CatalogDialect {
  const connection = new RunnerConnection(pool, options, check, signal);
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: () => {
      throw new Error('Transactions run through write().');
    },
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: async () => {},
  };
  return {
    ...dialectWith(driver),
    checked: (next, nextSignal) => pgReadDialect(pool, options, next, nextSignal),
    run: (compiled) => runOn(pool, compiled, options, check, signal),
    runChecked: (compiled, next, nextSignal) => runOn(pool, compiled, options, next, nextSignal),
  };
}

/**
 * A checked-out client emits 'error' when its connection dies (the server ended it, the network broke); an
 * EventEmitter 'error' nobody listens to ends the process. The pool listens only while a client is idle, so a
 * transaction's client is given a listener of its own while held: the failure itself reaches the statement that
 * runs (or next runs) on it.
 */
const ignoreConnectionError = () => {};

class ClientConnection extends RunnerConnection {
  readonly client: pg.PoolClient;

  constructor(client: pg.PoolClient, options: PgRunOptions) {
    super(client, options);
    this.client = client;
    client.on('error', ignoreConnectionError);
  }

  release(): void {
    this.client.off('error', ignoreConnectionError);
    this.client.release();
  }
}

/**
 * Write transactions: each holds one pooled connection. READ COMMITTED (PostgreSQL's default) like SQLite's
 * IMMEDIATE transactions gives each statement the latest committed rows; the catalog serializes this process's
 * writes itself (see `postgres/catalog.ts`).
 */
export function pgWriteDialect(pool: pg.Pool, options: PgRunOptions): Dialect {
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => new ClientConnection(await pool.connect(), options),
    beginTransaction: async (connection) => {
      await (connection as ClientConnection).client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    },
    commitTransaction: async (connection) => {
      await (connection as ClientConnection).client.query('COMMIT');
    },
    rollbackTransaction: async (connection) => {
      await (connection as ClientConnection).client.query('ROLLBACK');
    },
    releaseConnection: async (connection) => {
      (connection as ClientConnection).release();
    },
    destroy: async () => {},
  };
  return dialectWith(driver);
}
