/**
 * Prisma's own schema engine, compiled to WebAssembly, driving SQLite through the better-sqlite3 driver adapter.
 * This is what `prisma migrate` runs natively; using the WASM build keeps migrations working offline, where the
 * CLI cannot download its native engine. The package's ESM entry imports a `.wasm` file (which Node 20 cannot do
 * without a flag), so the module is instantiated here by hand with the package's own JS glue.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine, MigrationList, SchemaFilter, SchemasContainer } from '@prisma/schema-engine-wasm';
import { AppError } from '../errors.ts';
import { EXTERNAL_TABLES } from './external-tables.ts';

export type { SchemaEngine, MigrationList, SchemaFilter };

export interface WasmGlue {
  __wbg_set_wasm(exports: WebAssembly.Exports): void;
  SchemaEngine: {
    new: (
      options: { datamodels: [string, string][] },
      log: (message: string) => void,
      adapter: object,
    ) => Promise<SchemaEngine>;
  };
}

let gluePromise: Promise<WasmGlue> | undefined;

/**
 * The glue's imports with the engine's timers unreferenced. On PostgreSQL the engine starts a 10 s timer while it
 * migrates (a lock time-out) and never clears it (the glue imports no clearTimeout), so every command that applied a
 * migration sat 10 s after its work before exiting. While the engine works, its pending promise and open connections
 * keep the process alive; the timer alone must not.
 */
function withUnrefTimers(glue: WebAssembly.ModuleImports): WebAssembly.ModuleImports {
  const imports: WebAssembly.ModuleImports = { ...glue };
  for (const name of Object.keys(glue)) {
    if (!name.startsWith('__wbg_setTimeout_')) continue;
    const original = glue[name] as (callback: () => void, ms: number) => ReturnType<typeof setTimeout>;
    imports[name] = (callback: () => void, ms: number) => {
      const timer = original(callback, ms);
      timer.unref?.();
      return timer;
    };
  }
  return imports;
}

async function loadGlue(): Promise<WasmGlue> {
  // The package exports only its JS entry points; the .wasm sits beside the glue module.
  const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as unknown as WasmGlue;
  const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, {
    './schema_engine_bg.js': withUnrefTimers(glue as unknown as WebAssembly.ModuleImports),
  });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

/** The engine's module, instantiated once per process. */
export async function schemaEngineGlue(): Promise<WasmGlue> {
  gluePromise ??= loadGlue();
  return gluePromise;
}

/** Tables Prisma must leave alone (see external-tables.ts). */
export const SCHEMA_FILTERS: SchemaFilter = { externalTables: [...EXTERNAL_TABLES], externalEnums: [] };

export interface SchemaFiles {
  schemaPath: string;
  schemaText: string;
}

export function schemasContainer({ schemaPath, schemaText }: SchemaFiles): SchemasContainer {
  return { files: [{ path: schemaPath, content: schemaText }] };
}

/**
 * Hands the engine its connections and remembers them: `SchemaEngine.free()` does not close them, and the engine
 * takes `locking_mode=EXCLUSIVE`, so they must be disposed explicitly before anyone else can use the file.
 */
class DisposableAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'sqlite' as const;
  readonly adapterName: string;
  readonly #inner: PrismaBetterSqlite3;
  readonly #opened: SqlDriverAdapter[] = [];

  constructor(databasePath: string) {
    this.#inner = new PrismaBetterSqlite3({ url: `file:${databasePath}` });
    this.adapterName = this.#inner.adapterName;
  }

  async connect(): Promise<SqlDriverAdapter> {
    return this.#track(await this.#inner.connect());
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.#track(await this.#inner.connectToShadowDb());
  }

  #track(adapter: SqlDriverAdapter): SqlDriverAdapter {
    this.#opened.push(adapter);
    return adapter;
  }

  async disposeAll(): Promise<void> {
    await Promise.all(this.#opened.splice(0).map((adapter) => adapter.dispose()));
  }
}

export interface OpenedSchemaEngine {
  engine: SchemaEngine;
  /** Frees the engine and closes every connection it opened. */
  close(): Promise<void>;
}

/** Opens the engine on one SQLite file; always `close()` the result. */
export async function openSchemaEngine(
  databasePath: string,
  files: SchemaFiles,
  log?: (line: string) => void,
): Promise<OpenedSchemaEngine> {
  const glue = await schemaEngineGlue();
  const factory = new DisposableAdapterFactory(databasePath);
  let engine: SchemaEngine;
  try {
    engine = await glue.SchemaEngine.new(
      { datamodels: [[files.schemaPath, files.schemaText]] },
      (message) => log?.(message),
      bindMigrationAwareSqlAdapterFactory(factory),
    );
  } catch (error) {
    await factory.disposeAll();
    throw new AppError(
      'MIGRATION_FAILED',
      `Prisma's schema engine could not open ${databasePath}: ${engineMessage(error)}`,
    );
  }
  return {
    engine,
    async close() {
      engine.free();
      await factory.disposeAll();
    },
  };
}

/** The engine rejects with a JSON-ish payload or a plain Error; reduce it to the human-readable part. */
export function engineMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error)
    return String((error as { message: unknown }).message);
  return String(error);
}
