/**
 * Live catalog changes (`catalogChanged`, src/catalog/live-changes.ts) over SSE on real servers: one coalesced event
 * per burst of writes naming the changed models, whoever writes (a mutation, the CLI, another SQLite connection or
 * PostgreSQL client, another server on the same PostgreSQL catalog); a client coming back with its last revision
 * gets what it missed, one with a revision of another database or from before changes were recorded is told to
 * reload; subscriptions are bounded and a closed one frees its place.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../src/db/postgres/revision-listener.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { cliArgsFor, seededCatalog } from './helpers/catalog.ts';
import { cli } from './helpers/cli.ts';
import { queryPostgres, TEST_ENGINE } from './helpers/postgres.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

interface ChangeEvent {
  revision: string;
  reload: boolean;
  models: { id: string; databaseId: number; kind: 'CREATED' | 'UPDATED' | 'DELETED' }[];
}

const SUBSCRIPTION = `subscription($since: Revision) {
  catalogChanged(since: $since) { revision reload models { id databaseId kind } }
}`;

/** One SSE subscription: its events as they arrive, until `close()` (which aborts the request: the client leaves). */
class Subscriber {
  readonly events: ChangeEvent[] = [];
  readonly errors: unknown[] = [];
  readonly #abort = new AbortController();
  #waiters: (() => void)[] = [];

  static async open(server: TestServer, since?: string): Promise<Subscriber> {
    const subscriber = new Subscriber();
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIPTION, variables: { since } }),
      signal: subscriber.#abort.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    void subscriber.#read(response.body as ReadableStream<Uint8Array>);
    return subscriber;
  }

  async #read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          for (const line of buffer.slice(0, end).split('\n')) {
            if (!line.startsWith('data: ') || line.length <= 6) continue;
            const message = JSON.parse(line.slice(6));
            if (message.errors) this.errors.push(...message.errors);
            if (message.data) this.events.push(message.data.catalogChanged);
          }
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    } catch {
      // Closed by close().
    }
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until `done` holds for the events so far (or errors), at most 10 s. */
  async until(done: (events: ChangeEvent[]) => boolean): Promise<ChangeEvent[]> {
    const deadline = Date.now() + 10_000;
    while (!done(this.events) && this.errors.length === 0) {
      if (Date.now() > deadline) throw new Error(`no such events: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.events;
  }

  close() {
    this.#abort.abort();
  }
}

const open: Subscriber[] = [];
afterEach(() => {
  for (const subscriber of open.splice(0)) subscriber.close();
});
async function subscribe(server: TestServer, since?: string): Promise<Subscriber> {
  const subscriber = await Subscriber.open(server, since);
  open.push(subscriber);
  return subscriber;
}

const numberOf = (revision: string) => Number(revision.split(':')[0]);
const changed = (events: ChangeEvent[]) => new Map(events.flatMap((e) => e.models.map((m) => [m.databaseId, m.kind])));

let server: TestServer;
let modelIds: { id: string; databaseId: number }[];

async function rename(target: TestServer, id: string, name: string) {
  const result = await target.graphql(
    `mutation($id: ID!, $name: String!) { updateModel(id: $id, input: { name: $name }) { name } }`,
    {
      id,
      name,
    },
  );
  expect(result.errors).toBeUndefined();
}

beforeAll(async () => {
  const catalog = await seededCatalog();
  server = await startTestServer({ dataDir: catalog.dataDir, databasePath: catalog.databasePath });
  const page = await server.graphql<{ models: { nodes: { id: string; databaseId: number }[] } }>(
    '{ models(first: 10, orderBy: [{ field: NAME }]) { nodes { id databaseId } } }',
  );
  modelIds = page.data?.models.nodes ?? [];
  expect(modelIds).toHaveLength(10);
});

describe('catalogChanged', () => {
  it('starts with the current revision, then two subscribers see a burst of 50 mutations as a few events', async () => {
    const [a, b] = await Promise.all([subscribe(server), subscribe(server)]);
    const [first] = await a.until((events) => events.length >= 1);
    await b.until((events) => events.length >= 1);
    expect(first).toMatchObject({ reload: false, models: [] });
    expect(b.events[0]?.revision).toBe(first?.revision);

    for (let i = 0; i < 50; i++) {
      const model = modelIds[i % modelIds.length] as { id: string };
      await rename(server, model.id, `Burst ${i}`);
    }
    const expected = new Map(modelIds.map((m) => [m.databaseId, 'UPDATED']));
    for (const subscriber of [a, b]) {
      const events = await subscriber.until((all) => changed(all.slice(1)).size >= expected.size);
      const burst = events.slice(1);
      expect(changed(burst)).toEqual(expected);
      expect(burst.every((e) => !e.reload)).toBe(true);
      // Coalesced: a few events a second, never one per mutation.
      expect(burst.length).toBeLessThan(20);
      for (const [i, event] of burst.entries())
        expect(numberOf(event.revision)).toBeGreaterThan(numberOf((events[i] as ChangeEvent).revision));
    }
  });

  it('names a model a CLI import created', async () => {
    const subscriber = await subscribe(server);
    await subscriber.until((events) => events.length >= 1);
    const fixture = path.join(PROJECT_ROOT, 'test', 'fixtures', 'civitai', 'model-drift.json');
    const imported = await cli(['import', fixture, ...cliArgsFor(server.config.dataDir, server.config.database)]);
    expect(imported.code, imported.stderr).toBe(0);
    const events = await subscriber.until((all) => [...changed(all).values()].includes('CREATED'));
    const created = [...changed(events)].filter(([, kind]) => kind === 'CREATED');
    expect(created).toHaveLength(1);
  });

  it('names a model another program renamed (the desktop app on SQLite, any SQL client on PostgreSQL)', async () => {
    const subscriber = await subscribe(server);
    await subscriber.until((events) => events.length >= 1);
    const target = modelIds[3] as { databaseId: number };
    const database = server.config.database;
    if (TEST_ENGINE === 'postgres') {
      if (database?.engine !== 'postgres') throw new Error('expected a PostgreSQL catalog');
      await queryPostgres(database.url, `UPDATE "Models" SET "Name" = 'Renamed over SQL' WHERE "Id" = $1`, [
        target.databaseId,
      ]);
    } else {
      const desktop = new Database(server.config.databasePath);
      try {
        desktop.prepare(`UPDATE Models SET Name = 'Renamed on the desktop' WHERE Id = ?`).run(target.databaseId);
      } finally {
        desktop.close();
      }
    }
    const events = await subscriber.until((all) => changed(all).has(target.databaseId));
    expect(changed(events).get(target.databaseId)).toBe('UPDATED');
  });

  it('gives a client that comes back with its last revision what it missed', async () => {
    const first = await subscribe(server);
    const start = (await first.until((events) => events.length >= 1))[0] as ChangeEvent;
    first.close();
    const missed = modelIds[5] as { id: string; databaseId: number };
    await rename(server, missed.id, 'Renamed while away');
    const again = await subscribe(server, start.revision);
    const catchUp = (await again.until((events) => events.length >= 1))[0] as ChangeEvent;
    expect(catchUp.reload).toBe(false);
    expect(catchUp.models).toEqual([{ id: missed.id, databaseId: missed.databaseId, kind: 'UPDATED' }]);
    expect(numberOf(catchUp.revision)).toBeGreaterThan(numberOf(start.revision));
  });

  it('tells a client with a revision of another database, or from before changes were recorded, to reload', async () => {
    const probe = await subscribe(server);
    const now = (await probe.until((events) => events.length >= 1))[0] as ChangeEvent;
    const epoch = now.revision.split(':')[1];
    for (const since of [`${numberOf(now.revision)}:0123456789abcdef`, `0:${epoch}`]) {
      const subscriber = await subscribe(server, since);
      const [first] = await subscriber.until((events) => events.length >= 1);
      expect(first).toMatchObject({ reload: true, models: [], revision: now.revision });
    }
  });

  it('refuses a revision that is not one', async () => {
    const subscriber = await subscribe(server, 'yesterday');
    await subscriber.until(() => false).catch(() => undefined);
    expect(subscriber.errors).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT' } }]);
  });
});

describe('catalogChanged bounds', () => {
  it('refuses subscribers past the limit, and a closed one frees its place', async () => {
    const small = await startTestServer({
      dataDir: path.join(tempDir('dn-changes-'), 'data'),
      maxCatalogSubscribers: 2,
    });
    const a = await subscribe(small);
    const b = await subscribe(small);
    await Promise.all([a.until((e) => e.length >= 1), b.until((e) => e.length >= 1)]);
    const refused = await subscribe(small);
    await refused.until(() => false).catch(() => undefined);
    expect(refused.errors).toMatchObject([{ extensions: { code: 'LIMIT_EXCEEDED', limit: 2 } }]);
    a.close();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const next = await subscribe(small);
      await next.until((e) => e.length >= 1).catch(() => undefined);
      if (next.events.length === 1) break;
      if (Date.now() > deadline) throw new Error('the closed subscription kept its place');
      next.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});

describe.runIf(TEST_ENGINE === 'postgres')('catalogChanged across servers on one PostgreSQL catalog', () => {
  it('tells a subscriber on server B of a mutation through server A', async () => {
    const serverB = await startTestServer({
      dataDir: path.join(tempDir('dn-changes-b-'), 'data'),
      database: server.config.database,
    });
    const subscriber = await subscribe(serverB);
    await subscriber.until((events) => events.length >= 1);
    const target = modelIds[7] as { id: string; databaseId: number };
    await rename(server, target.id, 'Renamed through server A');
    const events = await subscriber.until((all) => changed(all).has(target.databaseId));
    expect(changed(events).get(target.databaseId)).toBe('UPDATED');
  });

  it('listens again after its LISTEN connection is lost, and reports what was written meanwhile', async () => {
    const database = server.config.database;
    if (database?.engine !== 'postgres') throw new Error('expected a PostgreSQL catalog');
    const subscriber = await subscribe(server);
    await subscriber.until((events) => events.length >= 1);
    const name = new URL(database.url).pathname.slice(1);
    // The listener connects in the background (what is written meanwhile is read once it has).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const listening = await queryPostgres(
        database.url,
        'SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
        [name, LISTENER_APPLICATION_NAME],
      );
      if (listening.length > 0) break;
      if (Date.now() > deadline) throw new Error('no LISTEN connection');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await queryPostgres(
      database.url,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
      [name, LISTENER_APPLICATION_NAME],
    );
    const target = modelIds[8] as { databaseId: number };
    await queryPostgres(database.url, `UPDATE "Models" SET "Name" = 'Renamed while nobody listened' WHERE "Id" = $1`, [
      target.databaseId,
    ]);
    const events = await subscriber.until((all) => changed(all).has(target.databaseId));
    expect(changed(events).get(target.databaseId)).toBe('UPDATED');
  });
});
