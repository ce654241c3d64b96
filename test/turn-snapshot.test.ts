/**
 * The SQLite read connection's turn snapshot (`TurnSnapshot` in `src/db/sqlite/driver.ts`): the reads of one turn of
 * the event loop share one read transaction, what this process writes is read back at once, another program's
 * writes are seen from the next turn on, and the catalog revision is read once a turn.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { readCatalogRevision } from '../src/db/revision.ts';
import { emptyCatalog } from './helpers/catalog.ts';
import { nextTurn } from './helpers/catalog-handle.ts';

const AT = '2026-01-02T03:04:05.000Z';
type Catalog = Awaited<ReturnType<typeof emptyCatalog>>['db'];

// Through the probe, which reads on the read connection without taking turns (`yieldIfBusy` could end a turn
// between two reads and make "the same turn" a matter of timing).
const creatorCount = async (db: Catalog) =>
  Number(
    (
      await db.probe
        .selectFrom('Creators')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
// On the connection that never waits for a turn: the reads of one call stay in one turn.
const revisionOf = (db: Catalog) => readCatalogRevision({ ...db, statements: db.probe });

describe('the read connection’s turn snapshot', () => {
  it('reads back what this process wrote at once, in the same turn', async () => {
    const { db } = await emptyCatalog({ engine: 'sqlite' });
    expect(await creatorCount(db)).toBe(0); // opens the turn's snapshot
    await db.write((trx) => trx.insertInto('Creators').values({ Username: 'same-turn', CreatedAt: AT }).execute());
    expect(await creatorCount(db)).toBe(1);
  });

  it('sees another program’s write from the next turn on, and one snapshot within a turn', async () => {
    const { db, databasePath } = await emptyCatalog({ engine: 'sqlite' });
    const other = new Database(databasePath);
    try {
      const before = (await revisionOf(db))!;
      expect(await creatorCount(db)).toBe(0);
      other.prepare(`INSERT INTO "Creators" ("Username", "CreatedAt") VALUES ('elsewhere', '${AT}')`).run();
      // Still the turn whose reads began before the write: its statements agree with each other.
      expect(await creatorCount(db)).toBe(0);
      expect(await revisionOf(db)).toEqual(before);
      await nextTurn();
      expect(await creatorCount(db)).toBe(1);
      expect((await revisionOf(db))!.revision).toBeGreaterThan(before.revision);
    } finally {
      other.close();
    }
  });

  it('reads the catalog revision once a turn, however often it is asked', async () => {
    const statements: string[] = [];
    const { db } = await emptyCatalog({ engine: 'sqlite', open: { onStatement: (text) => statements.push(text) } });
    await nextTurn();
    statements.length = 0;
    const reads = await Promise.all([revisionOf(db), revisionOf(db), revisionOf(db)]);
    expect(new Set(reads.map((read) => JSON.stringify(read))).size).toBe(1);
    expect(statements.filter((text) => text.includes('"CatalogRevision"'))).toHaveLength(1);
    await nextTurn();
    await revisionOf(db);
    expect(statements.filter((text) => text.includes('"CatalogRevision"'))).toHaveLength(2);
    // A write of this process ends the snapshot: the next read is a read of the new revision.
    await db.write((trx) => trx.insertInto('Creators').values({ Username: 'raises', CreatedAt: AT }).execute());
    expect((await revisionOf(db))!.revision).toBeGreaterThan(reads[0]!.revision);
    expect(statements.filter((text) => text.includes('"CatalogRevision"'))).toHaveLength(3);
  });

  it('lets another program checkpoint the log between turns while reads go on', async () => {
    const { db, databasePath } = await emptyCatalog({ engine: 'sqlite' });
    const other = new Database(databasePath);
    try {
      for (let i = 0; i < 20; i++) {
        other.prepare(`INSERT INTO "Creators" ("Username", "CreatedAt") VALUES (?, ?)`).run(`writer-${i}`, AT);
        expect(await creatorCount(db)).toBeGreaterThanOrEqual(0);
        await nextTurn();
      }
      // No read transaction outlives its turn: a full checkpoint by another connection completes.
      const [result] = other.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      expect(result!.busy).toBe(0);
      expect(await creatorCount(db)).toBe(20);
    } finally {
      other.close();
    }
  });
});
