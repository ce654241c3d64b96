/**
 * Statements built once per shape. A batch of a loader, a nested page or a list page differs from the previous one of
 * its kind only in parameter values (the keys, the cursor, the limit), so its query is built and compiled once —
 * with named slots where those values go — and later runs only put their values in. Building and compiling a
 * Kysely query each time cost a tenth of a nested page's time, mostly in garbage (measured with `npm run bench`).
 */
import {
  type Compilable,
  type CompiledQuery,
  DefaultConnectionProvider,
  Kysely,
  PostgresAdapter,
  type QueryResult,
} from 'kysely';
import type { CatalogQueries } from './catalog-database.ts';
import type { Database as CatalogTables } from './schema.ts';
import type { CatalogDialect } from './sqlite/driver.ts';

const SLOT = '\u0000slot:';

/** A parameter whose value each run supplies (`values[name]`); typed as the value it stands for. */
export function slot<T = string>(name: string): T {
  return `${SLOT}${name}` as T;
}

/** A compiled shape and, per parameter, the slot whose value goes there (null: a constant of the shape). */
interface CompiledShape {
  compiled: CompiledQuery;
  slots: (string | null)[];
}

const compiledByShape = new Map<string, CompiledShape>();

function compileShape(build: () => Compilable<unknown>): CompiledShape {
  const compiled = build().compile();
  const slots = compiled.parameters.map((parameter) =>
    typeof parameter === 'string' && parameter.startsWith(SLOT) ? parameter.slice(SLOT.length) : null,
  );
  return { compiled, slots };
}

type DirectRun = <R>(compiled: CompiledQuery) => Promise<QueryResult<R>>;

/**
 * Where a request's compiled statements run without a Kysely instance of its own (`CatalogDatabase.statements`):
 * making one per request — its dialect, driver, executor and frozen props, all to carry the request's stop check —
 * was ~9 µs of every request that reads (CPU profile of the benchmark's name search), more than its revision read.
 * `run` goes to the connection with that check; `builder` (any instance of the engine) builds a shape the first time.
 */
export interface StatementTarget {
  readonly builder: CatalogQueries;
  run<R>(compiled: CompiledQuery): Promise<QueryResult<R>>;
}

/** What shaped and compiled statements run on: a Kysely instance (a catalog's, a transaction) or a request's target. */
export type ShapedQueries = CatalogQueries | StatementTarget;

const isTarget = (queries: ShapedQueries): queries is StatementTarget => 'builder' in queries;

/** An instance to build queries with (never to run them on: see `runCompiled`). */
export function shapeBuilder(queries: ShapedQueries): CatalogQueries {
  return isTarget(queries) ? queries.builder : queries;
}

const directRuns = new WeakMap<CatalogQueries, DirectRun>();

/**
 * Lets shaped statements on `queries` (one of the catalog's own Kysely instances) go straight to its connection's
 * runner — the same statement, the same stop check — instead of through Kysely's executor, whose connection
 * acquire/release and result transformation cost about as much per statement as a small indexed read itself
 * (measured: ~17 µs a shaped statement through Kysely). SQLite's write transactions are registered by `write()` (their
 * connection runs nothing else); PostgreSQL's transactions and unregistered instances take Kysely's path.
 */
export function runShapedDirectly<Q extends CatalogQueries>(queries: Q, run: DirectRun): Q {
  directRuns.set(queries, run);
  return queries;
}

/**
 * A Kysely instance over one of the catalog's dialects, its shaped statements run directly (`runShapedDirectly`).
 * With `sharing`, it reuses that instance's query compiler and adapter and only takes the dialect's driver: every
 * request gets queries of its own (they carry its stop check), and `new Kysely({ dialect })` builds a compiler (a
 * visitor binding some hundred methods) and a runtime driver each time — 45 µs of a request (CPU profile).
 */
export function catalogKysely(dialect: CatalogDialect, sharing?: Kysely<CatalogTables>): Kysely<CatalogTables> {
  let queries: Kysely<CatalogTables>;
  if (sharing) {
    const driver = dialect.createDriver();
    // How Kysely itself gives a transaction its connection: the same executor over another connection provider.
    const executor = sharing.getExecutor().withConnectionProvider(new DefaultConnectionProvider(driver));
    queries = new Kysely<CatalogTables>({ config: { dialect }, dialect, driver, executor });
  } else queries = new Kysely<CatalogTables>({ dialect });
  return runShapedDirectly(queries, dialect.run);
}

/**
 * Runs the query of `shape` (built by `build` the first time) with `values` in its slots. `shape` must name
 * everything that changes the statement's text: the query, its row-field plan, its ordering, which slots it has.
 */
export async function runShaped<R>(
  queries: ShapedQueries,
  shape: string,
  build: () => Compilable<unknown>,
  values: Readonly<Record<string, unknown>>,
): Promise<R[]> {
  return (await executeShaped<R>(queries, shape, build, values)).rows;
}

/** `runShaped` for writes: the whole result (affected rows, inserted id). */
export function executeShaped<R>(
  queries: ShapedQueries,
  shape: string,
  build: () => Compilable<unknown>,
  values: Readonly<Record<string, unknown>>,
): Promise<QueryResult<R>> {
  // The compiled text depends on the engine too (`?` or `$1`, quoting): a process may hold both (tests, seeding).
  const key = shapeBuilder(queries).getExecutor().adapter instanceof PostgresAdapter ? `postgres|${shape}` : shape;
  let shaped = compiledByShape.get(key);
  if (!shaped) {
    shaped = compileShape(build);
    compiledByShape.set(key, shaped);
  }
  const { compiled, slots } = shaped;
  const parameters = new Array<unknown>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const name = slots[i] as string | null;
    if (name === null) parameters[i] = compiled.parameters[i];
    else if (name in values) parameters[i] = values[name];
    else throw new Error(`No value for the slot "${name}" of ${shape}.`);
  }
  return runCompiled<R>(queries, { ...compiled, parameters } as CompiledQuery<R>);
}

/** Runs one compiled statement: on a request's target, directly on a registered instance, else through Kysely. */
export function runCompiled<R>(queries: ShapedQueries, compiled: CompiledQuery): Promise<QueryResult<R>> {
  if (isTarget(queries)) return queries.run<R>(compiled);
  const direct = directRuns.get(queries);
  return direct ? direct<R>(compiled) : queries.executeQuery<R>(compiled);
}
