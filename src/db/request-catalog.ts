/**
 * A catalog as one request sees it (`CatalogDatabase.forRequest`), the same on both engines: every statement and write
 * first checks that the request is still wanted. Made for every request, so it is a class (its accessors live on the
 * prototype, not in closures made per request) and its Kysely instances are made on first use: a request that reads
 * nothing (`{ __typename }`, an answer from the response cache) makes none, and one that reads through one instance
 * makes only that one. Made eagerly, the view and its instance were ~4 % of a search's time in the server (CPU profile
 * of `npm run bench`'s name search). Its compiled and shaped statements — all a search, a list page or a loader batch
 * runs — need no instance at all: they go through its statement targets (`statements`, `searchStatements`).
 */
import type { CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { CatalogDatabase, CatalogTransaction } from './catalog-database.ts';
import type { RequestScope } from './request-scope.ts';
import type { Database as CatalogTables } from './schema.ts';
import type { ShapedQueries, StatementTarget } from './shaped.ts';

/** How an engine makes a request's pieces. */
export interface RequestQueries {
  /** The request's reads, each statement checking `scope` right before it runs. */
  reads(scope: RequestScope): Kysely<CatalogTables>;
  /** Its long reads (SQLite: on the read worker); absent where they are the reads themselves. */
  heavy?(scope: RequestScope): Kysely<CatalogTables>;
  /** One compiled statement of `reads(scope)`, run as that instance would run it (without making it). */
  runRead<R>(scope: RequestScope, compiled: CompiledQuery): Promise<QueryResult<R>>;
  /** The same for `heavy(scope)`. */
  runHeavy?<R>(scope: RequestScope, compiled: CompiledQuery): Promise<QueryResult<R>>;
  /** Runs the request's write (its scope was checked just before). */
  write<T>(scope: RequestScope, body: (trx: CatalogTransaction) => Promise<T>): Promise<T>;
}

export class RequestCatalog implements CatalogDatabase {
  readonly scope: RequestScope;
  readonly #catalog: CatalogDatabase;
  readonly #queries: RequestQueries;
  #reads: Kysely<CatalogTables> | undefined;
  #heavy: Kysely<CatalogTables> | undefined;
  #statements: StatementTarget | undefined;
  #heavyStatements: StatementTarget | undefined;

  constructor(catalog: CatalogDatabase, queries: RequestQueries, scope: RequestScope) {
    this.#catalog = catalog;
    this.#queries = queries;
    this.scope = scope;
  }

  get path(): string {
    return this.#catalog.path;
  }

  get dialect(): CatalogDatabase['dialect'] {
    return this.#catalog.dialect;
  }

  get probe(): Kysely<CatalogTables> {
    return this.#catalog.probe;
  }

  get kysely(): Kysely<CatalogTables> {
    this.#reads ??= this.#queries.reads(this.scope);
    return this.#reads;
  }

  get heavy(): Kysely<CatalogTables> {
    if (!this.#queries.heavy) return this.kysely;
    this.#heavy ??= this.#queries.heavy(this.scope);
    return this.#heavy;
  }

  get statements(): ShapedQueries {
    this.#statements ??= {
      builder: this.#catalog.kysely,
      run: (compiled) => this.#queries.runRead(this.scope, compiled),
    };
    return this.#statements;
  }

  get searchStatements(): ShapedQueries {
    const { runHeavy } = this.#queries;
    if (!this.scope.searchesAreHeavy || !runHeavy) return this.statements;
    this.#heavyStatements ??= {
      builder: this.#catalog.kysely,
      run: (compiled) => runHeavy(this.scope, compiled),
    };
    return this.#heavyStatements;
  }

  write<T>(body: (trx: CatalogTransaction) => Promise<T>): Promise<T> {
    this.scope.throwIfStopped();
    return this.#queries.write(this.scope, body);
  }

  watchRevision(onChange: () => void): () => void {
    return this.#catalog.watchRevision(onChange);
  }

  vacuum(): Promise<void> {
    return this.#catalog.vacuum();
  }

  forRequest(other: RequestScope): CatalogDatabase {
    return this.#catalog.forRequest(other);
  }

  close(): Promise<void> {
    return this.#catalog.close();
  }
}
