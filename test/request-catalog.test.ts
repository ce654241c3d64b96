/**
 * A request's view of the catalog (`forRequest`, `request-catalog.ts`), on the suite's engine: it reads and writes the
 * catalog itself, each of its query instances is made once, and once its request has stopped it runs nothing —
 * neither through instances (or statement targets) made before the stop nor through ones made after it. That the instances are made on first
 * use is a matter of speed, measured by `npm run bench`, not asserted here.
 */
import { describe, expect, it } from 'vitest';
import { RequestScope } from '../src/db/request-scope.ts';
import { runCompiled, runShaped } from '../src/db/shaped.ts';
import { emptyCatalog } from './helpers/catalog.ts';

describe("a request's view of the catalog", () => {
  it('reads and writes the catalog, each of its query instances made once, searches where the request says', async () => {
    const statements: string[] = [];
    const { db } = await emptyCatalog({ open: { onStatement: (text) => statements.push(text) } });
    const scope = new RequestScope(null);
    const view = db.forRequest(scope);
    expect(view.scope).toBe(scope);
    expect([view.path, view.dialect, view.probe]).toEqual([db.path, db.dialect, db.probe]);
    // Made, and nothing read yet.
    expect(statements).toEqual([]);

    await view.write((trx) =>
      trx.insertInto('Tags').values({ Name: 'view-tag', NormalizedName: 'view-tag' }).execute(),
    );
    const read = await view.kysely.selectFrom('Tags').select('Name').where('Name', '=', 'view-tag').execute();
    expect(read).toEqual([{ Name: 'view-tag' }]);
    expect(view.kysely).toBe(view.kysely);
    expect(view.heavy).toBe(view.heavy);
    // Compiled statements run without an instance of the request's own, on the connection its instances use.
    const compiled = db.kysely.selectFrom('Tags').select('Name').where('Name', '=', 'view-tag').compile();
    expect(view.statements).toBe(view.statements);
    expect((await runCompiled(view.statements, compiled)).rows).toEqual(read);
    expect(view.searchStatements).toBe(view.statements);
    scope.searchesAreHeavy = true;
    // SQLite's long reads go to its read worker; PostgreSQL's are the reads themselves.
    if (db.dialect.name === 'postgres') {
      expect(view.heavy).toBe(view.kysely);
      expect(view.searchStatements).toBe(view.statements);
    } else {
      expect(view.heavy).not.toBe(view.kysely);
      expect(view.searchStatements).not.toBe(view.statements);
      expect(view.searchStatements).toBe(view.searchStatements);
    }
    expect(await view.heavy.selectFrom('Tags').select('Name').where('Name', '=', 'view-tag').execute()).toEqual(read);
    expect((await runCompiled(view.searchStatements, compiled)).rows).toEqual(read);
  });

  it('runs nothing once its request has stopped: no statement, no write, the stop as the error', async () => {
    const statements: string[] = [];
    const { db } = await emptyCatalog({ open: { onStatement: (text) => statements.push(text) } });
    const scope = new RequestScope(null);
    const view = db.forRequest(scope);
    const reads = view.kysely; // made before the stop
    const compiled = db.kysely.selectFrom('Tags').selectAll().compile();
    const target = view.statements;
    scope.stop('TIMEOUT');
    const before = statements.length;
    const stopped = expect.objectContaining({ code: 'TIMEOUT' });
    await expect(reads.selectFrom('Tags').selectAll().execute()).rejects.toEqual(stopped);
    // Made after it.
    await expect(view.heavy.selectFrom('Tags').selectAll().execute()).rejects.toEqual(stopped);
    await expect(db.forRequest(scope).kysely.selectFrom('Tags').selectAll().execute()).rejects.toEqual(stopped);
    // Compiled statements, through a target made before the stop and ones made after it (the long reads' too).
    await expect(runCompiled(target, compiled)).rejects.toEqual(stopped);
    scope.searchesAreHeavy = true;
    await expect(runCompiled(db.forRequest(scope).searchStatements, compiled)).rejects.toEqual(stopped);
    await expect(
      runShaped(view.searchStatements, 'stoppedTags', () => db.kysely.selectFrom('Tags').selectAll(), {}),
    ).rejects.toEqual(stopped);
    expect(() =>
      view.write((trx) => trx.insertInto('Tags').values({ Name: 'late', NormalizedName: 'late' }).execute()),
    ).toThrow(stopped);
    expect(statements.slice(before)).toEqual([]);
    expect(await db.kysely.selectFrom('Tags').select('Name').execute()).toEqual([]);
  });
});
