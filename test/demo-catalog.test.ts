/**
 * The demo catalog as a newcomer meets it: made by the CLI's `seed` command, served by a real server, and asked
 * every GraphQL example in README.md — each must answer with data, not nulls, empty lists or zero counts. The
 * catalog must also agree with itself: files named after their model and version, descriptions about the model's
 * tags, thumbnails (and BlurHash placeholders) of their image's shape and look.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { databasePathIn } from '../src/db/data-dir.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { blurHashOf } from '../src/thumbnails/maker.ts';
import { cli } from './helpers/cli.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { tempDir } from './helpers/temp.ts';

let server: TestServer;
let sql: Database.Database;

beforeAll(async () => {
  const dataDir = path.join(tempDir('dn-demo-'), 'data');
  const seeded = await cli(['seed', '--data-dir', dataDir]);
  expect(seeded.code, seeded.stderr).toBe(0);
  server = await startTestServer({ dataDir, databasePath: databasePathIn(dataDir) });
  sql = new Database(databasePathIn(dataDir), { readonly: true });
  return () => sql.close();
}, 60_000);

/** Every ```graphql block of README.md, named by the section it is in. */
function readmeExamples(): { name: string; query: string }[] {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const examples: { name: string; query: string }[] = [];
  let section = '(top)';
  for (const block of readme.split(/^```/m).entries()) {
    const [index, text] = block;
    // Outside code blocks (even pieces): follow the headings; inside (odd pieces): keep the GraphQL ones.
    if (index % 2 === 0) {
      for (const heading of text.matchAll(/^#+ (.+)$/gm)) section = heading[1]!;
    } else if (text.startsWith('graphql\n')) {
      examples.push({ name: `${section} #${examples.length + 1}`, query: text.slice('graphql\n'.length) });
    }
  }
  return examples;
}

/** Fields whose zero means "found nothing". */
const COUNTS = new Set(['totalCount', 'total', 'count']);

/**
 * Paths of an answer where nothing was found: every value there is null, an empty list or a zero count. Entries of
 * a nested list share a path (`models.nodes[].creator`: the demo catalog has models without creator on purpose,
 * so some entry answering is enough); a top-level list answers its inputs one by one (`filesByHashes[1].file`), so
 * each entry must.
 */
function emptyPaths(data: Record<string, unknown>): string[] {
  const answered = new Map<string, boolean>();
  const visit = (value: unknown, at: string, key: string, depth: number) => {
    const empty = value === null || (Array.isArray(value) && value.length === 0) || (COUNTS.has(key) && value === 0);
    answered.set(at, (answered.get(at) ?? false) || !empty);
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, `${at}[${depth === 1 ? i : ''}]`, '', depth);
    } else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) visit(v, `${at}.${k}`, k, depth + 1);
  };
  for (const [k, v] of Object.entries(data)) visit(v, k, k, 1);
  return [...answered].filter(([, any]) => !any).map(([at]) => at);
}

describe("README's GraphQL examples on the demo catalog", () => {
  const examples = readmeExamples();

  it('are found in README.md', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples)('$name answers with data', async ({ query }) => {
    const response = await server.graphql<Record<string, unknown>>(query);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
    expect(emptyPaths(response.data!)).toEqual([]);
  });

  it('counts null, empty lists and zero counts as empty (checking the check)', () => {
    expect(
      emptyPaths({
        filesByHashes: [
          { hash: 'A', file: { fileName: 'a' } },
          { hash: 'B', file: null },
        ],
        search: { totalCount: 0, edges: [] },
        models: { nodes: [{ creator: null }, { creator: { username: 'x' } }] },
      }),
    ).toEqual(['filesByHashes[1].file', 'search.totalCount', 'search.edges']);
  });
});

describe("README's persisted-query example on the demo catalog", () => {
  /** The example's document id and variables, as its curl command sends them. */
  function example(): URLSearchParams {
    const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const documentId = /--data-urlencode 'documentId=([^']+)'/.exec(readme)?.[1];
    const variables = /--data-urlencode 'variables=([^']+)'/.exec(readme)?.[1];
    expect(documentId, 'the example in README.md').toBeDefined();
    return new URLSearchParams({ documentId: documentId!, variables: variables! });
  }

  it('answers with data and an ETag, then 304 for that ETag', async () => {
    const url = `${server.url}?${example()}`;
    const headers = { 'x-graphql-yoga-csrf': '1' };
    const first = await fetch(url, { headers });
    const body = (await first.json()) as { data?: Record<string, unknown>; errors?: unknown };
    expect(first.status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(emptyPaths(body.data!)).toEqual([]);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(url, { headers: { ...headers, 'if-none-match': etag! } });
    expect(again.status).toBe(304);
  });
});

/** Words of a name in any script, as a file name keeps them. */
const words = (text: string) => text.match(/[\p{L}\p{N}]+/gu) ?? [];

describe('the demo catalog agrees with itself', () => {
  it("names every file after its model and version ('Café Outfit 13' v4 → Café_Outfit_13_v4…)", () => {
    const files = sql
      .prepare(
        `SELECT m.Name AS model, v.Name AS version, f.FileName AS file FROM ModelFiles f
         JOIN ModelVersions v ON v.Id = f.ModelVersionId JOIN Models m ON m.Id = v.ModelId`,
      )
      .all() as { model: string; version: string; file: string }[];
    expect(files.length).toBeGreaterThan(0);
    for (const { model, version, file } of files) {
      const expected = [...words(model), words(version)[0]];
      expect(words(file).slice(0, expected.length), `${model} ${version}: ${file}`).toEqual(expected);
    }
  });

  it('describes every model by one of its own tags', () => {
    const models = sql
      .prepare(
        `SELECT m.Id, m.Description, group_concat(t.NormalizedName, '|') AS tags FROM Models m
         JOIN ModelTags mt ON mt.ModelId = m.Id JOIN Tags t ON t.Id = mt.TagId
         WHERE m.Description IS NOT NULL GROUP BY m.Id`,
      )
      .all() as { Id: number; Description: string; tags: string }[];
    expect(models.length).toBeGreaterThan(0);
    for (const model of models) {
      const about = model.Description.replace(/<[^>]*>/g, '').toLowerCase();
      expect(
        model.tags.split('|').some((tag) => about.includes(tag)),
        `${model.Id}: ${model.Description} / ${model.tags}`,
      ).toBe(true);
    }
  });

  it("gives every thumbnail its image's aspect ratio, its stored size, and the image a BlurHash of it", async () => {
    const images = sql
      .prepare(
        `SELECT Id, Width, Height, ThumbnailWidth, ThumbnailHeight, ThumbnailData, BlurHash FROM ModelImages
         WHERE ThumbnailData IS NOT NULL`,
      )
      .all() as {
      Id: number;
      Width: number;
      Height: number;
      ThumbnailWidth: number;
      ThumbnailHeight: number;
      ThumbnailData: Buffer;
      BlurHash: string | null;
    }[];
    expect(images.length).toBeGreaterThan(0);
    const facts = new Map<string, Promise<{ width?: number; height?: number; blurHash: string }>>();
    for (const image of images) {
      const label = `image ${image.Id}: ${image.Width}×${image.Height}, thumbnail ${image.ThumbnailWidth}×${image.ThumbnailHeight}`;
      // Scaled to fit: the long sides correspond, and the short side is the image's, scaled and rounded.
      const portrait = image.Height > image.Width;
      const [long, short] = portrait ? [image.Height, image.Width] : [image.Width, image.Height];
      const [thumbLong, thumbShort] = portrait
        ? [image.ThumbnailHeight, image.ThumbnailWidth]
        : [image.ThumbnailWidth, image.ThumbnailHeight];
      expect(thumbLong, label).toBeGreaterThanOrEqual(thumbShort);
      expect(Math.abs(thumbShort - (thumbLong * short) / long), label).toBeLessThanOrEqual(0.5);

      const key = image.ThumbnailData.toString('base64');
      if (!facts.has(key))
        facts.set(
          key,
          Promise.all([sharp(image.ThumbnailData).metadata(), blurHashOf(image.ThumbnailData)]).then(
            ([meta, blurHash]) => ({ width: meta.width, height: meta.height, blurHash }),
          ),
        );
      const actual = await facts.get(key)!;
      expect([actual.width, actual.height], label).toEqual([image.ThumbnailWidth, image.ThumbnailHeight]);
      expect(image.BlurHash, label).toBe(actual.blurHash);
    }
  });
});
