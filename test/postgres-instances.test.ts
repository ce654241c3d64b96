/**
 * Several API instances on one PostgreSQL catalog: real server processes (different ports) and real CLI runs over
 * the same fresh database. The same Civitai payloads imported through both at once make each model once; a write
 * through one is read by the next request to the other; the CLI writes beside them; a connection killed under a
 * request is a coded error, and the next request gets a new connection.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { importPayload } from '../src/civitai/batch-import.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { databasePathIn } from '../src/db/data-dir.ts';
import { migrateDatabase } from '../src/db/migrations.ts';
import { migrateCatalog, openCatalog } from '../src/db/open-catalog.ts';
import { WRITE_ATTEMPTS } from '../src/db/postgres/catalog.ts';
import { insertRow } from '../src/db/row-writer.ts';
import { AppError } from '../src/errors.ts';
import { civitaiModelItem, civitaiModelsPage } from '../src/seed/civitai-payloads.ts';
import { cli } from './helpers/cli.ts';
import { type ChildServer, startChildServer } from './helpers/hostile.ts';
import { freshPostgresDatabase, type PostgresTarget, queryPostgres, withTableLocked } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

const IMPORT = `mutation Import($payload: JSON!) {
  importCivitaiPayload(payload: $payload) { created updated unchanged failed failures { civitaiId message } }
}`;

interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function post(server: ChildServer, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, 'status'>) };
}

/** Imports `payload` through `server`; the request must succeed with no model failing. */
async function importThrough(server: ChildServer, payload: unknown): Promise<void> {
  const answer = await post(server, IMPORT, { payload });
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  const result = (answer.data as { importCivitaiPayload: { failed: number; failures: unknown[] } })
    .importCivitaiPayload;
  expect(result.failures, JSON.stringify(result.failures)).toEqual([]);
  expect(answer.status).toBe(200);
}

let target: PostgresTarget;
let serverA: ChildServer;
let serverB: ChildServer;

const query = <R = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  queryPostgres<R>(target.url, text, values);

async function count(table: string): Promise<number> {
  const [row] = await query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${table}"`);
  return Number(row!.n);
}

/** Row counts of every table an import writes. */
async function importedCounts(): Promise<Record<string, number>> {
  const tables = [
    'Models',
    'ModelVersions',
    'ModelFiles',
    'ModelImages',
    'TriggerWords',
    'Creators',
    'Tags',
    'ModelTags',
    'ModelPayloads',
    'MetadataChangeSets',
  ];
  return Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(t)] as const)));
}

/** What importing models `indexes` of the seed payloads stores, once each (see src/seed/civitai-payloads.ts). */
function expectedCounts(indexes: number[]): Record<string, number> {
  const items = indexes.map((i) => civitaiModelItem(i)) as {
    creator: { username: string };
    tags: string[];
    modelVersions: { trainedWords?: string[]; files: unknown[]; images: unknown[] }[];
  }[];
  const versions = items.flatMap((item) => item.modelVersions);
  return {
    Models: items.length,
    ModelVersions: versions.length,
    ModelFiles: versions.reduce((n, v) => n + v.files.length, 0),
    ModelImages: versions.reduce((n, v) => n + v.images.length, 0),
    TriggerWords: versions.reduce((n, v) => n + (v.trainedWords?.length ?? 0), 0),
    Creators: new Set(items.map((item) => item.creator.username)).size,
    Tags: new Set(items.flatMap((item) => item.tags.map((tag) => tag.toLowerCase()))).size,
    ModelTags: items.reduce((n, item) => n + new Set(item.tags.map((tag) => tag.toLowerCase())).size, 0),
    // One payload and one "created" change set per model, however often it was imported.
    ModelPayloads: items.length,
    MetadataChangeSets: items.length,
  };
}

/** Models `indexes`, changed: a new description, and each version one more file and one more image. */
function updatedPage(indexes: number[]): { items: Record<string, unknown>[] } {
  const items = indexes.map((index) => {
    const item = civitaiModelItem(index) as {
      description: string;
      modelVersions: { id: number; files: Record<string, unknown>[]; images: Record<string, unknown>[] }[];
    };
    item.description = `${item.description}<p>Updated.</p>`;
    for (const version of item.modelVersions) {
      version.files.push({ ...version.files[1], id: 90_000_000 + version.id, name: `extra_${version.id}.zip` });
      version.images.push({
        ...version.images[0],
        id: 130_000_000 + version.id,
        url: `https://image.example.invalid/${version.id}/extra.jpeg`,
      });
    }
    return item as unknown as Record<string, unknown>;
  });
  return { items };
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

beforeAll(async () => {
  target = await freshPostgresDatabase();
  await migrateCatalog(target);
  const env = { DIFFUSION_NEXUS_DATABASE_URL: target.url };
  [serverA, serverB] = await Promise.all([
    startChildServer(path.join(tempDir('dn-inst-a-'), 'data'), env),
    startChildServer(path.join(tempDir('dn-inst-b-'), 'data'), env),
  ]);
});

describe('two servers on one PostgreSQL catalog', () => {
  it('imports the same payloads through both at once as one model each, with no failed request', async () => {
    const imported: number[] = [];
    for (let round = 0; round < 3; round++) {
      // Each round's models are new, their creators (index % 97) the same every round, some tags new; every model has
      // "style". Each page goes to both servers twice, once in reverse order, so the
      // same model and the same new creator and tag are written by both processes at the same moment.
      const indexes = range(round * 97, 12);
      const page = civitaiModelsPage(round * 97, 12);
      const reversed = { ...page, items: [...(page.items as unknown[])].reverse() };
      await Promise.all([
        importThrough(serverA, page),
        importThrough(serverB, page),
        importThrough(serverA, reversed),
        importThrough(serverB, reversed),
      ]);
      imported.push(...indexes);
      expect(await importedCounts()).toEqual(expectedCounts(imported));
    }
  });

  it('creates a creator and tags that two servers need for different models at the same moment once', async () => {
    const before = await importedCounts();
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      // Two new models (nothing of them stored yet), through different servers, naming one new creator and two new
      // tags: both importers look them up, find nothing, and insert.
      const [first, second] = [5000 + 2 * round, 5001 + 2 * round].map((index) => ({
        ...civitaiModelItem(index),
        creator: { username: `racer_${round}`, image: null },
        tags: [`race ${round}`, `Race Too ${round}`],
      }));
      await Promise.all([importThrough(serverA, first), importThrough(serverB, second)]);
    }
    const after = await importedCounts();
    expect(after.Models).toBe(before.Models! + 2 * rounds);
    expect(after.Creators).toBe(before.Creators! + rounds);
    expect(after.Tags).toBe(before.Tags! + 2 * rounds);
    expect(after.ModelTags).toBe(before.ModelTags! + 4 * rounds);
  });

  it('applies and records the same update through both at once once (one change set, no row added twice)', async () => {
    // Models 0..11 again, each version with one more file and one more image (keys that have no unique index, so
    // only the import lock keeps two importers from both adding them), and a new description.
    const page = updatedPage(range(0, 12));
    const reversed = { ...page, items: [...page.items].reverse() };
    const before = await importedCounts();
    await Promise.all([
      importThrough(serverA, page),
      importThrough(serverB, page),
      importThrough(serverA, reversed),
      importThrough(serverB, reversed),
    ]);
    // What the update adds when the same payloads are imported once each, one after another, into SQLite.
    const reference = databasePathIn(tempDir('dn-inst-ref-'));
    await migrateDatabase(reference);
    const db = await openCatalogDatabase(reference);
    const sqlite = new Database(reference, { readonly: true });
    const referenceCounts = () =>
      Object.fromEntries(
        Object.keys(before).map((t) => [t, Number(sqlite.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get())]),
      );
    try {
      for (let round = 0; round < 3; round++) await importPayload(db, civitaiModelsPage(round * 97, 12), 'serial');
      const referenceBefore = referenceCounts();
      await importPayload(db, page, 'serial');
      const referenceAfter = referenceCounts();
      expect(referenceAfter.ModelImages).toBe(referenceBefore.ModelImages! + 12 * 5);
      const after = await importedCounts();
      const added = (counts: Record<string, number>, from: Record<string, number>) =>
        Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, n - from[t]!]));
      expect(added(after, before)).toEqual(added(referenceAfter, referenceBefore));
    } finally {
      sqlite.close();
      await db.close();
    }
  });

  it('adds the same images page, imported through both servers at once, to its version once', async () => {
    const IMAGES = `mutation Images($payload: JSON!, $version: Int!) {
      importCivitaiPayload(payload: $payload, imagesVersionCivitaiId: $version) { failed failures { message } }
    }`;
    const versionCivitaiId = 40_000_000 + 3 * 10; // model 3's first version, imported above
    const imagesOfVersion = async () =>
      Number(
        (
          await query<{ n: string }>(
            `SELECT COUNT(*) AS n FROM "ModelImages" i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId"
             WHERE v."CivitaiId" = $1`,
            [versionCivitaiId],
          )
        )[0]!.n,
      );
    const before = await imagesOfVersion();
    for (let round = 0; round < 4; round++) {
      const payload = {
        items: Array.from({ length: 3 }, (_, i) => ({
          id: 150_000_000 + round * 10 + i,
          url: `https://image.example.invalid/gallery/${round}/${i}.jpeg`,
          width: 768,
          height: 1152,
          nsfwLevel: 'None',
          createdAt: '2025-02-02T02:02:02.000Z',
          username: 'gallery',
          meta: { prompt: `gallery ${round} ${i}` },
        })),
        metadata: {},
      };
      const answers = await Promise.all(
        [serverA, serverB].map((server) => post(server, IMAGES, { payload, version: versionCivitaiId })),
      );
      for (const answer of answers) {
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toMatchObject({ importCivitaiPayload: { failed: 0 } });
      }
    }
    expect(await imagesOfVersion()).toBe(before + 4 * 3);
  });

  it('answers the next request to one server with what a write through the other changed', async () => {
    const [row] = await query<{ Id: number }>('SELECT "Id" FROM "Models" ORDER BY "Id" LIMIT 1');
    const { data } = await post(serverA, `{ model(databaseId: ${row!.Id}) { id name } }`);
    const id = (data as { model: { id: string } }).model.id;
    for (const name of ['Renamed through A', 'Renamed again through A']) {
      const update = await post(
        serverA,
        'mutation($id: ID!, $name: String!) { updateModel(id: $id, input: { name: $name }) { name } }',
        { id, name },
      );
      expect(update.errors).toBeUndefined();
      const read = await post(serverB, `{ model(id: "${id}") { name } models(first: 100) { totalCount } }`);
      expect((read.data as { model: { name: string } }).model.name).toBe(name);
    }
    const before = (
      (await post(serverB, '{ models(first: 1) { totalCount } }')).data as { models: { totalCount: number } }
    ).models.totalCount;
    const deleted = await post(serverB, 'mutation($id: ID!) { deleteModel(id: $id) { id } }', { id });
    expect(deleted.errors).toBeUndefined();
    const read = await post(serverA, `{ model(id: "${id}") { name } models(first: 1) { totalCount } }`);
    expect(read.data).toEqual({ model: null, models: { totalCount: before - 1 } });
  });

  it('lets the CLI import a file while a server imports models sharing its creators and tags', async () => {
    // 30 new creators and tags, used by the CLI's models in one order and by the server's in the other: wherever the
    // two imports meet, both are about to create the same creator and tag.
    const sharing = (from: number, shared: (i: number) => number) => ({
      items: range(0, 30).map((i) => ({
        ...civitaiModelItem(from + i),
        creator: { username: `shared_${shared(i)}`, image: null },
        tags: [`shared ${shared(i)}`, 'style', `Shared Too ${shared(i)}`],
      })),
    });
    const file = path.join(tempDir('dn-inst-cli-'), 'page.json');
    writeFileSync(file, JSON.stringify(sharing(1000, (i) => i)));
    const before = await importedCounts();
    let cliDone = false;
    const cliRun = cli(['import', file, '--database-url', target.url]).then((run) => {
      cliDone = true;
      return run;
    });
    // The server starts once the CLI is writing.
    while (!cliDone && (await count('Models')) === before.Models) await new Promise((r) => setTimeout(r, 10));
    await importThrough(
      serverA,
      sharing(1030, (i) => 29 - i),
    );
    const run = await cliRun;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/imported 30, updated 0, unchanged 0, failed 0/);
    const added = expectedCounts(range(1000, 60));
    const after = await importedCounts();
    for (const table of ['Models', 'ModelVersions', 'ModelFiles', 'ModelImages', 'ModelPayloads'])
      expect(after[table], table).toBe(before[table]! + added[table]!);
    expect(after.Creators).toBe(before.Creators! + 30);
    expect(after.Tags).toBe(before.Tags! + 60);
    const models = await query<{ CivitaiId: number; Username: string; tags: string }>(
      `SELECT m."CivitaiId", c."Username", string_agg(t."Name", ',' ORDER BY t."Name") AS tags
       FROM "Models" m JOIN "Creators" c ON c."Id" = m."CreatorId"
       JOIN "ModelTags" mt ON mt."ModelId" = m."Id" JOIN "Tags" t ON t."Id" = mt."TagId"
       WHERE m."CivitaiId" BETWEEN 3001000 AND 3001059 GROUP BY m."CivitaiId", c."Username" ORDER BY 1`,
    );
    expect(models).toEqual(
      range(0, 60).map((i) => {
        const k = i < 30 ? i : 59 - i;
        return { CivitaiId: 3_001_000 + i, Username: `shared_${k}`, tags: `Shared Too ${k},shared ${k},style` };
      }),
    );
  });

  it('loses nothing when a server is killed in the middle of an import: whole models or none, completed by a re-import', async () => {
    const victim = await startChildServer(path.join(tempDir('dn-inst-c-'), 'data'), {
      DIFFUSION_NEXUS_DATABASE_URL: target.url,
    });
    const FROM = 20_000;
    const MODELS = 150;
    const page = civitaiModelsPage(FROM, MODELS);
    const inRange = `"CivitaiId" BETWEEN ${3_000_000 + FROM} AND ${3_000_000 + FROM + MODELS - 1}`;
    const stored = async () =>
      Number((await query<{ n: string }>(`SELECT COUNT(*) AS n FROM "Models" WHERE ${inRange}`))[0]!.n);
    const request = post(victim, IMPORT, { payload: page }).catch(() => null);
    for (let tries = 0; (await stored()) < 10; tries++) {
      expect(tries, 'the import did not start').toBeLessThan(600);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    process.kill(victim.pid, 'SIGKILL');
    await request;
    await victim.stop();
    const partial = await stored();
    expect(partial).toBeLessThan(MODELS);
    // Every model there is whole, with its one change set and its payload.
    const broken = await query(
      `SELECT m."CivitaiId" FROM "Models" m WHERE m.${inRange} AND (
         (SELECT COUNT(*) FROM "ModelVersions" v WHERE v."ModelId" = m."Id") <> 5
         OR (SELECT COUNT(*) FROM "ModelFiles" f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId" WHERE v."ModelId" = m."Id") <> 10
         OR (SELECT COUNT(*) FROM "ModelImages" i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId" WHERE v."ModelId" = m."Id") <> 25
         OR (SELECT COUNT(*) FROM "MetadataChangeSets" s WHERE s."ModelId" = m."Id") <> 1
         OR (SELECT COUNT(*) FROM "ModelPayloads" p WHERE p."ModelId" = m."Id") <> 1)`,
    );
    expect(broken).toEqual([]);
    // The other server sees exactly that, and its import of the same page completes it (the killed server's
    // transaction and its import lock ended with its connection).
    const before = await importedCounts();
    const seen = await post(serverB, '{ models(first: 1) { totalCount } }');
    expect(seen.data).toEqual({ models: { totalCount: before.Models } });
    const answer = await post(serverB, IMPORT, { payload: page });
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toMatchObject({
      importCivitaiPayload: { created: MODELS - partial, unchanged: partial, failed: 0 },
    });
    const after = await importedCounts();
    const full = expectedCounts(range(FROM, MODELS));
    for (const table of ['Models', 'ModelVersions', 'ModelFiles', 'ModelImages', 'ModelPayloads', 'MetadataChangeSets'])
      expect(after[table]! - before[table]!, table).toBe((full[table]! * (MODELS - partial)) / MODELS);
  });

  it('reports a unique violation that is no race (the name is simply taken) as CONFLICT after its retries', async () => {
    const db = await openCatalog(target);
    try {
      const [taken] = await query<{ Username: string }>('SELECT "Username" FROM "Creators" LIMIT 1');
      let attempts = 0;
      const error = await db
        .write(async (trx) => {
          attempts++;
          await insertRow(trx, 'Creators', { Username: taken!.Username, CreatedAt: new Date() });
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('CONFLICT');
      expect((error as AppError).message).toContain('IX_Creators_Username');
      expect(attempts).toBe(WRITE_ATTEMPTS);
    } finally {
      await db.close();
    }
  });

  /**
   * Sends `request` while our own transaction holds Models locked, so the server's statement waits on its
   * connection; then terminates that connection, as a database restart or a network failure would.
   */
  async function killedUnder(request: () => Promise<Answer>): Promise<Answer> {
    return withTableLocked(target.url, 'Models', async () => {
      const pending = request();
      let waiting: { pid: number }[] = [];
      for (let tries = 0; waiting.length === 0 && tries < 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        waiting = await query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND application_name = 'diffusion-nexus'`,
        );
      }
      expect(waiting).toHaveLength(1);
      await query('SELECT pg_terminate_backend($1)', [waiting[0]!.pid]);
      return await pending;
    });
  }

  it('answers a read whose connection is killed with DATABASE_UNREACHABLE, and the next one normally', async () => {
    const read = '{ models(first: 3) { nodes { name } } }';
    const answer = await killedUnder(() => post(serverA, read));
    expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['DATABASE_UNREACHABLE']);
    expect(JSON.stringify(answer)).not.toMatch(/\bat .*\.ts:\d+/);
    const next = await post(serverA, read);
    expect(next.errors).toBeUndefined();
    expect((next.data as { models: { nodes: unknown[] } }).models.nodes).toHaveLength(3);
  });

  it('answers a write whose connection is killed with DATABASE_UNREACHABLE, writes nothing, and the next one normally', async () => {
    const [row] = await query<{ Id: number; Name: string }>('SELECT "Id", "Name" FROM "Models" ORDER BY "Id" LIMIT 1');
    const { data } = await post(serverB, `{ model(databaseId: ${row!.Id}) { id } }`);
    const id = (data as { model: { id: string } }).model.id;
    const rename = (name: string) =>
      post(serverB, 'mutation($id: ID!, $name: String!) { updateModel(id: $id, input: { name: $name }) { name } }', {
        id,
        name,
      });
    const answer = await killedUnder(() => rename('Lost with its connection'));
    expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['DATABASE_UNREACHABLE']);
    expect(JSON.stringify(answer)).not.toMatch(/\bat .*\.ts:\d+/);
    expect((await query('SELECT "Name" FROM "Models" WHERE "Id" = $1', [row!.Id]))[0]).toEqual({ Name: row!.Name });
    for (let i = 0; i < 3; i++) {
      const next = await rename(`Renamed after the loss ${i}`);
      expect(next.errors).toBeUndefined();
      expect(next.data).toEqual({ updateModel: { name: `Renamed after the loss ${i}` } });
    }
  });
});
