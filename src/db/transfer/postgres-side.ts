/**
 * The PostgreSQL end of a transfer, on one connection of a catalog pool (values read as the SQLite path reads
 * them, `postgres/connection.ts`). As a source: one REPEATABLE READ, READ ONLY transaction — a consistent snapshot
 * while servers keep writing. As a target: the whole copy is one transaction, with the catalog's tables locked
 * against other writers and checked empty inside it; it commits only after every table read back matches. A
 * killed transfer, a refused row or a failed check leaves the catalog empty, as it was: nothing to resume, run
 * it again.
 */
import type pg from 'pg';
import { AppError } from '../../errors.ts';
import type { PostgresTarget } from '../postgres/catalog.ts';
import { catalogPool, isConnectionError, unreachableError, withoutPassword } from '../postgres/connection.ts';
import { foreignDatabaseError, PRISMA_HISTORY_TABLE } from '../postgres/migrations.ts';
import { type ColumnKind, NOT_CATALOG_TABLES, type PlannedTable } from './plan.ts';
import { batchSelect, convertRows, rowsText, type WriteSide } from './side.ts';
import { type Canonical, toPostgres } from './values.ts';

type Settings = Pick<PostgresTarget, 'url' | 'display'> & { setting?: string | undefined };

/** Each kind's PostgreSQL type: `information_schema.columns.data_type`, and the array type inserts cast to. */
const PG_TYPES: Readonly<Record<ColumnKind, { dataType: string; array: string }>> = {
  int4: { dataType: 'integer', array: 'int4[]' },
  int8: { dataType: 'bigint', array: 'int8[]' },
  float8: { dataType: 'double precision', array: 'float8[]' },
  boolean: { dataType: 'boolean', array: 'bool[]' },
  timestamp: { dataType: 'timestamp with time zone', array: 'timestamptz[]' },
  text: { dataType: 'text', array: 'text[]' },
  bytes: { dataType: 'bytea', array: 'bytea[]' },
};

/** How long the target waits for other writers to finish before taking its locks. */
const LOCK_TIMEOUT = '10s';

const quote = (name: string) => `"${name}"`;

export class PostgresSide implements WriteSide {
  readonly label: string;
  readonly #settings: Settings;
  readonly #pool: pg.Pool;
  readonly #client: pg.PoolClient;
  readonly #source: string;

  private constructor(settings: Settings, pool: pg.Pool, client: pg.PoolClient, source: string) {
    this.#settings = settings;
    this.#pool = pool;
    this.#client = client;
    this.#source = source;
    this.label = settings.display;
  }

  static async #connect(settings: Settings, source: string): Promise<PostgresSide> {
    const pool = catalogPool({ ...settings, max: 1, applicationName: 'diffusion-nexus-transfer' });
    try {
      return new PostgresSide(settings, pool, await pool.connect(), source);
    } catch (error) {
      await pool.end().catch(() => {});
      throw isConnectionError(error) ? unreachableError(error, settings) : error;
    }
  }

  /** A consistent read-only snapshot of a migrated catalog, until `close()`. */
  static async openSnapshot(settings: Settings, plan: readonly PlannedTable[]): Promise<PostgresSide> {
    const side = await PostgresSide.#connect(settings, settings.display);
    try {
      await side.#query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await side.#assertColumns(plan);
      return side;
    } catch (error) {
      await side.close();
      throw error;
    }
  }

  /**
   * The migrated, empty catalog as a target: its transaction begins, takes the catalog's tables (other writers
   * finish first; readers go on) and checks again that they are empty.
   */
  static async openTarget(settings: Settings, plan: readonly PlannedTable[], source: string): Promise<PostgresSide> {
    const side = await PostgresSide.#connect(settings, source);
    try {
      await side.#query('BEGIN');
      await side.#query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      await side.#assertColumns(plan);
      await side.#query(`LOCK TABLE ${plan.map((t) => quote(t.name)).join(', ')} IN EXCLUSIVE MODE`);
      const filled = await tablesWithRows(side.#client, plan);
      if (filled.length > 0) throw notEmpty(settings, filled);
      return side;
    } catch (error) {
      await side.abort();
      throw error;
    }
  }

  async #query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#client.query<R>(text, values);
    } catch (error) {
      throw this.#coded(error);
    }
  }

  #coded(error: unknown): unknown {
    if (error instanceof AppError) return error;
    if (isConnectionError(error)) return unreachableError(error, this.#settings);
    const code = (error as { code?: unknown }).code;
    if (code === '55P03')
      return new AppError(
        'DATABASE_LOCKED',
        `Another program kept writing to ${this.label} for ${LOCK_TIMEOUT}; run the transfer when it is done.`,
      );
    return error;
  }

  /** Every planned table and column exists with the kind's type (the two schemas agree; a catalog of another version would not). */
  async #assertColumns(plan: readonly PlannedTable[]): Promise<void> {
    const { rows } = await this.#query<{ table: string; column: string; type: string }>(
      `SELECT table_name AS table, column_name AS column, data_type AS type FROM information_schema.columns
       WHERE table_schema = current_schema()`,
    );
    const types = new Map(rows.map((r) => [`${r.table}.${r.column}`, r.type]));
    const wrong = plan.flatMap((t) =>
      t.columns
        .filter((c) => types.get(`${t.name}.${c.name}`) !== PG_TYPES[c.kind].dataType)
        .map((c) => `${t.name}.${c.name} (${types.get(`${t.name}.${c.name}`) ?? 'missing'})`),
    );
    if (wrong.length > 0)
      throw new AppError(
        'DATABASE_INCOMPATIBLE',
        `${this.label} does not have the catalog's columns as this version knows them: ${wrong.slice(0, 8).join(', ')}.`,
      );
  }

  async count(table: PlannedTable): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(`SELECT count(*) AS n FROM ${quote(table.name)}`);
    return Number(rows[0]!.n);
  }

  async rowsAfter(table: PlannedTable, after: readonly unknown[] | null, limit: number): Promise<unknown[][]> {
    try {
      const { rows } = await this.#client.query<unknown[]>({
        text: batchSelect(table, after !== null, (n) => `$${n}`),
        values: [...(after ?? []), limit],
        rowMode: 'array',
      });
      return rows;
    } catch (error) {
      throw this.#coded(error);
    }
  }

  async nextId(table: PlannedTable): Promise<number | null> {
    if (table.serial === null) return null;
    const sequence = await this.#sequence(table);
    if (sequence === null) return null;
    const { rows } = await this.#query<{ last: number; called: number }>(
      `SELECT last_value AS last, is_called AS called FROM ${sequence}`,
    );
    const { last, called } = rows[0]!;
    return called ? Number(last) + 1 : Number(last);
  }

  async #sequence(table: PlannedTable): Promise<string | null> {
    const { rows } = await this.#query<{ name: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS name', [
      quote(table.name),
      table.serial,
    ]);
    return rows[0]?.name ?? null;
  }

  /** Tables and columns of the database beyond the catalog, which a transfer does not copy. */
  async leftBehind(plan: readonly PlannedTable[]): Promise<string[]> {
    const { rows } = await this.#query<{ table: string; column: string }>(
      `SELECT c.table_name AS table, c.column_name AS column FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY 1, c.ordinal_position`,
    );
    const notes: string[] = [];
    for (const table of [...new Set(rows.map((r) => r.table))]) {
      const planned = plan.find((t) => t.name === table);
      if (!planned) {
        if (!NOT_CATALOG_TABLES.includes(table))
          notes.push(`table ${table} (${rowsText(await this.count({ name: table } as PlannedTable))})`);
        continue;
      }
      for (const { column } of rows.filter(
        (r) => r.table === table && !planned.columns.some((c) => c.name === r.column),
      ))
        notes.push(`column ${table}.${column}`);
    }
    return notes;
  }

  async insert(table: PlannedTable, rows: readonly (readonly Canonical[])[]): Promise<void> {
    const values = convertRows(this.#source, table, rows, toPostgres);
    // One parameter per column, an array of the batch's values: any number of rows in one statement.
    const columns = table.columns.map((_, i) => values.map((row) => row[i]));
    try {
      await this.#client.query(
        `INSERT INTO ${quote(table.name)} (${table.columns.map((c) => quote(c.name)).join(', ')}) OVERRIDING SYSTEM VALUE ` +
          `SELECT * FROM unnest(${table.columns.map((c, i) => `$${i + 1}::${PG_TYPES[c.kind].array}`).join(', ')})`,
        columns,
      );
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Class 22 (data exception) and 23 (integrity constraint violation): the rows, not the connection.
      if (typeof code === 'string' && /^2[23]/.test(code)) {
        const { message, detail } = error as { message: string; detail?: string };
        throw new AppError(
          'INVALID_SOURCE_ROW',
          `${this.#source}: a row of ${table.name} cannot be stored in ${this.label}: ` +
            `${withoutPassword(`${message}${detail ? ` (${detail})` : ''}`, this.#settings.url)}. ` +
            'Nothing was kept; fix the row and run again.',
          { table: table.name },
        );
      }
      throw this.#coded(error);
    }
  }

  async setNextId(table: PlannedTable, next: number): Promise<void> {
    const sequence = await this.#sequence(table);
    if (sequence !== null) await this.#query(`SELECT setval($1::regclass, $2, false)`, [sequence, Math.max(1, next)]);
  }

  async commit(): Promise<void> {
    // Statistics for the planner, in the same transaction (ANALYZE counts this transaction's own rows): a database
    // filled at once has none until autovacuum comes round, and meanwhile plans per-model look-ups as scans.
    await this.#query('ANALYZE');
    await this.#query('COMMIT');
    await this.close();
  }

  /** Ends the transaction: a target's rows are gone, as if it had never begun (sequences aside: they only rise). */
  async abort(): Promise<void> {
    await this.#client.query('ROLLBACK').catch(() => {});
    await this.close();
  }

  async close(): Promise<void> {
    this.#client.release();
    await this.#pool.end().catch(() => {});
  }
}

function notEmpty(settings: Settings, filled: readonly string[]): AppError {
  return new AppError(
    'TARGET_NOT_EMPTY',
    `${settings.display} already holds a catalog: ${filled.join(', ')}. A transfer writes only into an empty ` +
      'catalog; create a new database (createdb) or choose another.',
  );
}

/** Catalog tables holding rows, with their counts (`Models (60 rows)`). */
async function tablesWithRows(client: pg.ClientBase, plan: readonly PlannedTable[]): Promise<string[]> {
  const { rows: present } = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`,
  );
  const names = new Set(present.map((r) => r.name));
  const filled: string[] = [];
  for (const table of plan.filter((t) => names.has(t.name))) {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*) AS n FROM ${quote(table.name)}`);
    if (Number(rows[0]!.n) > 0) filled.push(`${table.name} (${rowsText(rows[0]!.n)})`);
  }
  return filled;
}

/**
 * Refuses a target database that holds catalog rows (TARGET_NOT_EMPTY, naming them) or other tables
 * (DATABASE_INCOMPATIBLE), before anything is changed anywhere; DATABASE_UNREACHABLE names the setting.
 */
export async function assertPostgresTargetFree(settings: Settings, plan: readonly PlannedTable[]): Promise<void> {
  const pool = catalogPool({ ...settings, max: 1, applicationName: 'diffusion-nexus-transfer' });
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw isConnectionError(error) ? unreachableError(error, settings) : error;
    }
    try {
      const { rows } = await client.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
      );
      const names = rows.map((r) => r.name);
      if (names.length > 0 && !names.includes(PRISMA_HISTORY_TABLE))
        throw foreignDatabaseError(settings.display, names);
      const filled = await tablesWithRows(client, plan);
      if (filled.length > 0) throw notEmpty(settings, filled);
    } finally {
      client.release();
    }
  } finally {
    await pool.end().catch(() => {});
  }
}
