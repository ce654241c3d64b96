/**
 * Row-field plans: loaders read only the columns the selected fields use, every field of a planned type is
 * accounted for, and answers stay exact whatever the selection's shape (fragments, aliases, the same row under two
 * selections in one request, Relay `node`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { getNamedType, graphql, isObjectType, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { QUERY_LIMITS } from '../src/catalog/query-limits.ts';
import { openCatalogDatabase } from '../src/db/catalog-database.ts';
import { RequestScope } from '../src/db/request-scope.ts';
import { createLoaders } from '../src/loaders/index.ts';
import { columnsOf } from '../src/db/row-mapping.ts';
import { DERIVED_FIELD_READS, rowFieldsFor, type PlannedModelName } from '../src/loaders/row-fields.ts';
import { planning } from '../src/resolvers/selection.ts';
import { schema } from '../src/schema/index.ts';
import { dataOf, type SeededCatalog } from './helpers/catalog.ts';
import { startSeededServer, type TestServer } from './helpers/server.ts';

let catalog: SeededCatalog;
let server: TestServer;
const statements: string[] = [];

beforeAll(async () => {
  ({ catalog, server } = await startSeededServer(statements));
});

async function run<T>(query: string, variables?: Record<string, unknown>): Promise<{ data: T; sql: string[] }> {
  statements.length = 0;
  const data = dataOf(await server.graphql<T>(query, variables));
  return { data, sql: [...statements] };
}

const PLANNED: PlannedModelName[] = ['Model', 'ModelVersion', 'ModelFile', 'ModelImage'];

describe('declarations', () => {
  it('accounts for every GraphQL field of each planned type (a row field or a declared read)', () => {
    for (const model of PLANNED) {
      const type = schema.getType(model);
      expect(isObjectType(type)).toBe(true);
      const rowFields = new Set(columnsOf(model).map((c) => c.field));
      const unaccounted = Object.keys((type as import('graphql').GraphQLObjectType).getFields()).filter(
        (name) => !rowFields.has(name) && !Object.hasOwn(DERIVED_FIELD_READS[model], name),
      );
      expect(unaccounted, `${model} fields without a row-field declaration`).toEqual([]);
      expect(
        rowFieldsFor(model, Object.keys((type as import('graphql').GraphQLObjectType).getFields())),
      ).not.toBeNull();
    }
  });

  it('declares only real row fields, and the hashes object field by its inner fields', () => {
    for (const model of PLANNED) {
      const rowFields = new Set(columnsOf(model).map((c) => c.field));
      for (const reads of Object.values(DERIVED_FIELD_READS[model]))
        for (const field of reads) expect(rowFields.has(field), `${model}.${field}`).toBe(true);
    }
    const hashes = getNamedType(
      (schema.getType('ModelFile') as import('graphql').GraphQLObjectType).getFields().hashes!.type,
    );
    for (const inner of Object.keys((hashes as import('graphql').GraphQLObjectType).getFields())) {
      expect(Object.hasOwn(DERIVED_FIELD_READS.ModelFile, `hashes.${inner}`), `hashes.${inner}`).toBe(true);
    }
  });

  it('falls back to every column for a field it does not know', () => {
    expect(rowFieldsFor('Model', ['name', 'somethingNew'])).toBeNull();
    expect(rowFieldsFor('Model', ['name', '__typename'])).toEqual(['id', 'name']);
    expect(rowFieldsFor('ModelFile', ['hashes', 'hashes.sha256', 'version.name'])).toEqual(['hashSHA256', 'id']);
  });
});

describe('narrow reads', () => {
  it('reads only the selected columns at every level of a nested page', async () => {
    const { sql } = await run(`{ models(first: 5) { nodes { name versions(first: 2) { nodes { name
      files { fileName hashes { sha256 } } images(first: 1) { nodes { url } } } } } } }`);
    const modelPage = sql.find((s) => s.includes('from "Models" as "m"') && s.includes('limit'))!;
    expect(modelPage).toContain('"m"."Name"');
    expect(modelPage).not.toContain('"m"."Description"');
    const versionPage = sql.find((s) => s.includes('"ModelVersions" as "v"') && s.includes('ROW_NUMBER'))!;
    expect(versionPage).not.toContain('"v"."Description"');
    const files = sql.find((s) => s.includes('from "ModelFiles" as "f"'))!;
    expect(files).toContain('"f"."HashSHA256"');
    expect(files).not.toMatch(/HashBLAKE3|LocalPath|PickleScanMessage/);
    const imageRows = sql.find((s) => s.includes('from "ModelImages" as "i"') && s.includes('"i"."Url"'))!;
    expect(imageRows).not.toMatch(/"Prompt"|"ThumbnailData"[^)]/);
  });

  it('plans once per position in the query, however many rows the page holds; a compiled operation once for all', async () => {
    const query = `query($n: Int!) { models(first: $n) { nodes { versions(first: 3) { nodes { files { fileName } images(first: 2) { nodes { url } } } } } } }`;
    const db = await openCatalogDatabase(catalog.databasePath);
    const compiled = compileQuery(schema, parse(query));
    if (!isCompiledQuery(compiled)) throw new Error(JSON.stringify(compiled.errors));
    const plansFor = async (n: number, how: 'standard' | 'compiled') => {
      const contextValue = {
        db,
        loaders: createLoaders(db, { maxBase64Bytes: 1024 }),
        scope: new RequestScope(),
        settings: { libraryRoots: [], maxThumbnailUploadBytes: 1024, thumbnailSide: 320, queryLimits: QUERY_LIMITS },
      };
      const before = planning.made;
      const result =
        how === 'standard'
          ? await graphql({ schema, source: query, variableValues: { n }, contextValue })
          : await compiled.query(undefined, contextValue, { n });
      expect(result.errors).toBeUndefined();
      const models = (result.data as { models: { nodes: unknown[] } }).models.nodes.length;
      return { models, plans: planning.made - before };
    };
    try {
      // The standard executor hands each request field nodes of its own: each plans again, as often at any size.
      const small = await plansFor(3, 'standard');
      const large = await plansFor(30, 'standard');
      expect([small.models, large.models]).toEqual([3, 30]);
      // Positions: models, versions, files, images (their page and their rows).
      expect(large.plans).toBe(small.plans);
      expect(small.plans).toBeGreaterThanOrEqual(4);
      expect(large.plans).toBeLessThanOrEqual(5);
      // A compiled operation's runs share its field nodes: its first request plans, the next ones read the plans.
      const first = await plansFor(3, 'compiled');
      const next = await plansFor(30, 'compiled');
      expect([first.models, next.models]).toEqual([3, 30]);
      expect(first.plans).toBe(small.plans);
      expect(next.plans).toBe(0);
    } finally {
      await db.close();
    }
  });
});

describe('exact answers', () => {
  it('answers a row selected twice with different fields in one request from the right plan', async () => {
    const id = Number(
      catalog.sql.prepare(`SELECT Id FROM Models WHERE Description IS NOT NULL ORDER BY Id LIMIT 1`).pluck().get(),
    );
    const row = catalog.sql.prepare(`SELECT Name, Description, Type FROM Models WHERE Id = ?`).get(id) as {
      Name: string;
      Description: string;
      Type: string;
    };
    const { data } = await run<{
      a: { name: string };
      b: { description: string; type: string };
      c: { nodes: { databaseId: number; description: string | null }[] };
    }>(
      `query($id: Int!) { a: model(databaseId: $id) { name } b: model(databaseId: $id) { description type }
        c: models(first: 100) { nodes { databaseId description } } }`,
      { id },
    );
    expect(data.a).toEqual({ name: row.Name });
    expect(data.b).toEqual({ description: row.Description, type: row.Type });
    expect(data.c.nodes.find((n) => n.databaseId === id)?.description).toBe(row.Description);
  });

  it('reads the columns fragments and inline fragments select', async () => {
    const version = catalog.sql
      .prepare(
        `SELECT v.Id, v.Name, v.BaseModelRaw, v.ModelId FROM ModelVersions v WHERE v.BaseModelRaw IS NOT NULL ORDER BY v.Id LIMIT 1`,
      )
      .get() as { Id: number; Name: string; BaseModelRaw: string; ModelId: number };
    const file = catalog.sql
      .prepare(
        `SELECT upper(HashBLAKE3) AS blake3, PickleScanResult, VirusScanResult FROM ModelFiles WHERE ModelVersionId = ? ORDER BY IsPrimary DESC, Id LIMIT 1`,
      )
      .get(version.Id) as { blake3: string; PickleScanResult: string; VirusScanResult: string };
    const { data } = await run<{
      modelVersion: { name: string; baseModelRaw: string; files: { hashes: { blake3: string }; isSecure: boolean }[] };
    }>(
      `fragment FileBits on ModelFile { hashes { ...on FileHashes { blake3 } } isSecure }
       query($id: Int!) { modelVersion(databaseId: $id) { ... on ModelVersion { name } ...VersionBits } }
       fragment VersionBits on ModelVersion { baseModelRaw files { ...FileBits } }`,
      { id: version.Id },
    );
    expect(data.modelVersion.name).toBe(version.Name);
    expect(data.modelVersion.baseModelRaw).toBe(version.BaseModelRaw);
    expect(data.modelVersion.files[0]).toEqual({
      hashes: { blake3: file.blake3 },
      isSecure: file.PickleScanResult === 'Success' && file.VirusScanResult === 'Success',
    });
  });

  it('serves images as Relay nodes and by Civitai id (the oldest row), with every column', async () => {
    const image = catalog.sql
      .prepare(`SELECT Id, CivitaiId, Url, Prompt, CAST(Seed AS TEXT) AS Seed, Width, Height FROM ModelImages
      WHERE CivitaiId IS NOT NULL AND Prompt IS NOT NULL ORDER BY Id LIMIT 1`)
      .get() as {
      Id: number;
      CivitaiId: number;
      Url: string;
      Prompt: string;
      Seed: string;
      Width: number;
      Height: number;
    };
    const { data: byCivitai } = await run<{ modelImage: { id: string; databaseId: number } }>(
      `query($c: Int!) { modelImage(civitaiId: $c) { id databaseId } }`,
      { c: image.CivitaiId },
    );
    expect(byCivitai.modelImage.databaseId).toBe(image.Id);
    const { data } = await run<{
      node: { url: string; prompt: string; seed: string; aspectRatio: number; version: { databaseId: number } };
    }>(
      `query($id: ID!) { node(id: $id) { ... on ModelImage { url prompt seed aspectRatio version { databaseId } } } }`,
      { id: byCivitai.modelImage.id },
    );
    expect(data.node).toMatchObject({
      url: image.Url,
      prompt: image.Prompt,
      seed: image.Seed,
      aspectRatio: image.Width / image.Height,
    });
  });
});
